// The pay page's HTML: mobile-first, Chinese with English beneath, no scripts beyond a small status
// poll. Every value put into the page is escaped.
import QRCode from 'qrcode';
import type { Channel } from '../../protocol/ids.ts';
import { formatFen } from '../../protocol/money.ts';
import { shanghaiDateTime } from '../../protocol/time.ts';
import type { Failure } from '../../protocol/result.ts';
import type { PaidWith, PayBill, PayFine } from './service.ts';

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const CHANNEL_NAME: Record<Channel, { zh: string; en: string }> = {
  alipay: { zh: '支付宝', en: 'Alipay' },
  wechat: { zh: '微信支付', en: 'WeChat Pay' },
};

const STYLE = `*{box-sizing:border-box}body{font-family:system-ui,-apple-system,"PingFang SC","Noto Sans SC",sans-serif;margin:0;padding:1rem;max-width:30rem;margin-inline:auto;color:#1a1a1a;line-height:1.5}
h1{font-size:1.4rem;margin:.5rem 0}.en{color:#555;font-size:.9rem;display:block}.amount{font-size:2.2rem;font-weight:700;margin:.5rem 0}
.card{border:1px solid #ddd;border-radius:.75rem;padding:1rem;margin:1rem 0}.btn{display:block;text-align:center;padding:1rem;border-radius:.6rem;margin:.75rem 0;font-size:1.1rem;text-decoration:none;color:#fff}
.alipay{background:#0958d9}.wechat{background:#067a3a}.warn{border-color:#d4380d;background:#fff2e8}.ok{border-color:#389e0d;background:#f6ffed}
.qr svg{width:100%;max-width:18rem;height:auto;display:block;margin:0 auto}.token{font-family:ui-monospace,monospace;font-size:.75rem;word-break:break-all;background:#f5f5f5;padding:.5rem;border-radius:.4rem}
dl{display:grid;grid-template-columns:auto 1fr;gap:.25rem .75rem;margin:0}dt{color:#555}dd{margin:0}`;

function layout(title: string, body: string, extraHead = ''): string {
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${esc(title)}</title><style>${STYLE}</style>${extraHead}</head><body>${body}</body></html>`;
}

/**
 * What the payer pays for, itemised as 交管12123 shows it: the violation, points, the fine, the
 * 加处罚款 (late fee: the bill's amount above the fine, fixed at issue) and the total.
 */
function billCard(bill: PayBill, fine?: PayFine): string {
  const items =
    fine && typeof fine.fineFen === 'number'
      ? `${fine.description ? `<dt>违法行为<span class="en">Violation</span></dt><dd id="violation">${esc(fine.description)}${fine.descriptionEn ? `<span class="en">${esc(fine.descriptionEn)}</span>` : ''}</dd>` : ''}
${typeof fine.points === 'number' ? `<dt>记分<span class="en">Points</span></dt><dd id="points">${fine.points}</dd>` : ''}
<dt>罚款<span class="en">Fine</span></dt><dd id="fine" data-fen="${fine.fineFen}">${esc(formatFen(fine.fineFen))}</dd>
<dt>加处罚款<span class="en">Late fee</span></dt><dd id="late-fee" data-fen="${Math.max(0, bill.amountFen - fine.fineFen)}">${esc(formatFen(Math.max(0, bill.amountFen - fine.fineFen)))}</dd>`
      : '';
  return `<div class="card"><dl>
<dt>缴款单号<span class="en">Bill</span></dt><dd>${esc(bill.billNo)}</dd>
<dt>决定书编号<span class="en">Decision</span></dt><dd>${esc(bill.decisionNo)}</dd>
${items}
<dt>有效期至<span class="en">Valid until</span></dt><dd>${esc(shanghaiDateTime(bill.expiresAt))}</dd>
</dl><p>合计<span class="en">Total</span></p><div class="amount" id="total" data-amount-fen="${bill.amountFen}">${esc(formatFen(bill.amountFen))}</div></div>`;
}

async function qrSvg(text: string): Promise<string> {
  return QRCode.toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
}

/** Polls the bill's status and reloads when it changes, so the payer lands on the result. */
function poll(token: string): string {
  return `<script>(function(){var u=${JSON.stringify(`/p/${token}/status`)};function t(){fetch(u,{cache:'no-store'}).then(function(r){return r.json()}).then(function(j){if(j.status&&j.status!=='open'){location.replace(${JSON.stringify(`/p/${token}`)})}else{setTimeout(t,2000)}}).catch(function(){setTimeout(t,4000)})}setTimeout(t,2000)})();</script>`;
}

export function choosePage(bill: PayBill, token: string, channels: Channel[], fine?: PayFine): string {
  const buttons = channels
    .map(
      (c) =>
        `<a class="btn ${c}" data-channel="${c}" href="/p/${esc(token)}?channel=${c}">${CHANNEL_NAME[c].zh}<span class="en" style="color:#fff">${CHANNEL_NAME[c].en}</span></a>`,
    )
    .join('');
  return layout(
    '缴纳交通罚款 Pay a traffic fine',
    `<h1>缴纳交通罚款<span class="en">Pay a traffic fine</span></h1>${billCard(bill, fine)}
<p>请选择支付方式。<span class="en">Choose how to pay.</span></p>${buttons}`,
  );
}

export async function orderPage(
  bill: PayBill,
  token: string,
  channel: Channel,
  payUrl: string,
  outTradeNo: string,
  fine?: PayFine,
): Promise<string> {
  const name = CHANNEL_NAME[channel];
  // Alipay's code opens as a link inside Alipay: go there once; coming back shows this page, which
  // polls until the payment lands. WeChat's code_url is only recognised as a QR code.
  const autoOpen =
    channel === 'alipay' && /^https?:/.test(payUrl)
      ? `<script>(function(){var k=${JSON.stringify(`fk-open-${outTradeNo}`)};try{if(sessionStorage.getItem(k))return;sessionStorage.setItem(k,'1')}catch(e){}location.href=${JSON.stringify(payUrl)}})();</script>`
      : '';
  const hint =
    channel === 'wechat'
      ? '<p>长按二维码识别付款，或在另一台设备上用微信扫码。<span class="en">Long-press the code to pay, or scan it with WeChat on another device.</span></p>'
      : '<p>点击下方按钮在支付宝中付款。<span class="en">Tap the button to pay in Alipay.</span></p>';
  return layout(
    `${name.zh} ${name.en}`,
    `<h1>${name.zh}<span class="en">${name.en}</span></h1>${billCard(bill, fine)}${hint}
<div class="qr" role="img" aria-label="付款二维码 Payment code">${await qrSvg(payUrl)}</div>
<a class="btn ${channel}" id="pay" data-pay-url="${esc(payUrl)}" href="${esc(payUrl)}">去付款<span class="en" style="color:#fff">Pay now</span></a>
<p>付款完成后本页会显示缴费凭证。<span class="en">When you have paid, this page shows your payment confirmation.</span></p>${poll(token)}${autoOpen}`,
  );
}

/**
 * Inside WeChat: WeixinJSBridge.invoke('getBrandWCPayRequest', {appId, timeStamp, nonceStr, package,
 * signType, paySign}) opens WeChat's own cashier (JSAPI调起支付); the page then polls for the result.
 */
export function jsapiPage(
  bill: PayBill,
  token: string,
  params: { appId: string; timeStamp: string; nonceStr: string; package: string; signType: string; paySign: string },
  outTradeNo: string,
  fine?: PayFine,
): string {
  const invoke = `<script>(function(){var p=${JSON.stringify(params).replace(/</g, '\\u003c')};function go(){WeixinJSBridge.invoke('getBrandWCPayRequest',p,function(r){var m=document.getElementById('msg');if(r&&r.err_msg==='get_brand_wcpay_request:ok'){m.textContent='正在确认付款… Confirming…'}else if(m){m.textContent='未完成付款，可再次点击付款。 Not paid; tap Pay to try again.'}})}
document.getElementById('pay').addEventListener('click',function(e){e.preventDefault();if(typeof WeixinJSBridge==='undefined'){document.addEventListener('WeixinJSBridgeReady',go,false)}else{go()}});
if(typeof WeixinJSBridge==='undefined'){document.addEventListener('WeixinJSBridgeReady',go,false)}else{go()}})();</script>`;
  return layout(
    '微信支付 WeChat Pay',
    `<h1>微信支付<span class="en">WeChat Pay</span></h1>${billCard(bill, fine)}
<a class="btn wechat" id="pay" data-jsapi="${esc(JSON.stringify(params))}" data-out-trade-no="${esc(outTradeNo)}" href="#">付款<span class="en" style="color:#fff">Pay</span></a>
<p id="msg"></p><p>付款完成后本页会显示缴费凭证。<span class="en">When you have paid, this page shows your payment confirmation.</span></p>${poll(token)}${invoke}`,
  );
}

/**
 * The electronic receipt (电子缴费凭证): the itemised bill, the channel and its transaction id, and beside
 * them the hub's signed confirmation as QR and text, which a kiosk accepts in place of its own record.
 */
export async function paidPage(
  bill: PayBill,
  confirmation: string | undefined,
  payment?: PaidWith,
  fine?: PayFine,
): Promise<string> {
  const paidWith = payment
    ? `<div class="card" id="receipt-payment"><dl>
<dt>支付方式<span class="en">Paid with</span></dt><dd id="paid-channel" data-channel="${esc(payment.channel)}">${CHANNEL_NAME[payment.channel].zh}<span class="en">${CHANNEL_NAME[payment.channel].en}</span></dd>
<dt>交易号<span class="en">Transaction</span></dt><dd id="txn-id" class="token">${esc(payment.txnId)}</dd>
</dl></div>`
    : '';
  const proof = confirmation
    ? `<p>如自助机尚未打印回执，请向其扫码口出示此二维码。<span class="en">If the kiosk has not printed your receipt, show it this code.</span></p>
<div class="qr" id="confirmation-qr" role="img" aria-label="缴费凭证二维码 Payment confirmation code">${await qrSvg(confirmation)}</div><p class="token" id="confirmation" data-token="${esc(confirmation)}">${esc(confirmation)}</p>`
    : '';
  return layout(
    '电子缴费凭证 Payment receipt',
    `<div class="card ok" id="receipt"><h1>缴款成功<span class="en">Paid</span></h1><p>该缴款单已缴纳，无需再次付款。<span class="en">This bill is paid; do not pay it again.</span></p></div>${billCard(bill, fine)}${paidWith}${proof}`,
  );
}

export function expiredPage(bill: PayBill): string {
  return layout(
    '缴款单已过期 Bill expired',
    `<div class="card warn" id="expired"><h1>缴款单已过期<span class="en">This bill has expired</span></h1>
<p>缴款单二维码有效期为4小时。请在自助机或窗口重新打印缴款单后再付款，罚款本身仍未缴纳。<span class="en">A bill's code is valid for 4 hours. Print a new bill at a kiosk or counter and pay that one; the fine is still unpaid.</span></p></div>${billCard(bill)}`,
  );
}

export function voidedPage(bill: PayBill): string {
  return layout(
    '缴款单已作废 Bill voided',
    `<div class="card warn" id="voided"><h1>缴款单已作废<span class="en">This bill has been voided</span></h1>
<p>该缴款单已被新的缴款单替代或被工作人员作废。请使用最新打印的缴款单，或到窗口咨询。<span class="en">It was replaced by a newer bill or voided by staff. Use the newest bill, or ask at the counter.</span></p></div>${billCard(bill)}`,
  );
}

/** What the payer can do: only a code problem sends them back to the paper. */
function errorHint(f: Failure): string {
  if (f.code === 'CHANNEL_ERROR' || f.code === 'CHANNEL_UNREACHABLE')
    return '<p id="hint">未扣款。请稍后重试，或选择另一种支付方式。<span class="en">No money was taken. Try again shortly, or choose the other way to pay.</span></p>';
  if (f.code === 'FINE_NOT_PAYABLE')
    return '<p id="hint">无需付款。如有疑问请到窗口咨询。<span class="en">Nothing to pay. Ask at the counter if in doubt.</span></p>';
  return '<p id="hint">请确认扫描的是缴款单上的二维码，或到窗口咨询。<span class="en">Check that you scanned the code on the bill, or ask at the counter.</span></p>';
}

export function errorPage(f: Failure): string {
  return layout(
    '无法付款 Cannot pay',
    `<div class="card warn" id="error" data-code="${esc(f.code)}"><h1>无法付款<span class="en">This code cannot be paid</span></h1>
<p>${esc(f.messageZh)}<span class="en">${esc(f.message)}</span></p>
${errorHint(f)}</div>`,
  );
}
