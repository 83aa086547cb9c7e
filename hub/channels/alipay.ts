// Alipay open platform adapter on the official Node SDK (`alipay-sdk`): alipay.trade.precreate / query /
// close / refund / fastpay.refund.query and the statement download URL. The SDK puts the common
// parameters (app_id, method, format, charset, sign_type, sign, timestamp, version, notify_url) in the
// gateway URL's query and only biz_content in the body, signs RSA2 and verifies the signed answer node.
// Notifications are decoded in the charset they declare (GBK when absent) and verified over the bytes of
// that charset, as Alipay signs them (开放平台 异步通知验签, AlipaySignature.rsaCheckV1 with charset).
import { createVerify, sign as nodeSign, type KeyObject } from 'node:crypto';
import { AlipaySdk } from 'alipay-sdk';
import iconv from 'iconv-lite';
import { z } from 'zod';
import { txnIdSchema } from '../../protocol/ids.ts';
import { fail, ok, type Result } from '../../protocol/result.ts';
import { systemClock, unixSeconds, type Clock } from '../../protocol/time.ts';
import { channelFailure } from './errors.ts';
import { parseAlipayStatement } from './statements.ts';
import type {
  ChannelAdapter,
  ChannelPayment,
  ChannelRefund,
  ChannelTradeStatus,
  CreateOrderInput,
  CreatedOrder,
  NotificationAck,
  RawNotification,
  RefundInput,
  StatementRow,
} from './types.ts';
import {
  fenToYuan,
  parseShanghaiTimestamp,
  privateKey,
  publicKey,
  rsaSign,
  shanghaiTimestamp,
  yuanToFen,
} from './util.ts';

export const alipayConfigSchema = z.object({
  /** https://openapi.alipay.com/gateway.do in production. */
  gateway: z.url(),
  appId: z.string().regex(/^[0-9A-Za-z]{1,32}$/),
  appPrivateKeyPem: z.string().includes('PRIVATE KEY'),
  alipayPublicKeyPem: z.string().includes('PUBLIC KEY'),
  timeoutMs: z.number().int().positive().default(10_000),
});
export type AlipayConfig = z.input<typeof alipayConfigSchema>;

/** out_trade_no and out_request_no: letters, digits and underscore, at most 64 (alipay.trade.precreate). */
export const ALIPAY_OUT_NO_RE = /^[A-Za-z0-9_]{1,64}$/;

/** Sorted `k=v&k=v` over non-empty values, leaving out the keys given (the sign rule for both directions). */
export function alipaySignContent(params: Record<string, string>, omit: string[]): string {
  return Object.keys(params)
    .filter((k) => !omit.includes(k) && params[k] !== undefined && params[k] !== '')
    .sort()
    .map((k) => `${k}=${params[k]}`)
    .join('&');
}

/** Notifications are signed over everything but `sign` and `sign_type`, in the notification's charset. */
export function signAlipayNotification(
  params: Record<string, string>,
  key: KeyObject,
  charset = 'utf-8',
): string {
  const content = alipaySignContent(params, ['sign', 'sign_type']);
  if (isUtf8(charset)) return rsaSign(key, content);
  return rsaSignBytes(key, iconv.encode(content, charset));
}

function rsaSignBytes(key: KeyObject, bytes: Buffer): string {
  return nodeSign('sha256', bytes, key).toString('base64');
}

function isUtf8(charset: string): boolean {
  return /^utf-?8$/i.test(charset);
}

export function alipayResponseNode(method: string): string {
  return `${method.replace(/\./g, '_')}_response`;
}

/**
 * A form body (`a=b&c=d`, `+` for space) decoded in the given charset. URLSearchParams would decode
 * percent-escapes as UTF-8 and garble a GBK notification.
 */
export function decodeForm(body: string, charset: string): Result<Record<string, string>> {
  if (!iconv.encodingExists(charset)) return fail('MALFORMED', 'unknown charset');
  const out: Record<string, string> = {};
  for (const pair of body.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const k = decodeComponent(eq < 0 ? pair : pair.slice(0, eq), charset);
    const v = decodeComponent(eq < 0 ? '' : pair.slice(eq + 1), charset);
    if (k === undefined || v === undefined) return fail('MALFORMED', 'bad percent-encoding');
    if (k in out) return fail('MALFORMED', `${k} given twice`);
    out[k] = v;
  }
  return ok(out);
}

function decodeComponent(s: string, charset: string): string | undefined {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2b) bytes.push(0x20);
    else if (c === 0x25) {
      const h = s.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(h)) return undefined;
      bytes.push(parseInt(h, 16));
      i += 2;
    } else if (c < 0x80) bytes.push(c);
    else return undefined; // a form body is ASCII on the wire
  }
  return iconv.decode(Buffer.from(bytes), charset);
}

/** The charset a notification declares: its `charset` field (ASCII), else GBK, Alipay's default. */
export function notificationCharset(body: string): string {
  const m = /(?:^|&)charset=([A-Za-z0-9_-]{1,16})(?:&|$)/.exec(body);
  return m ? m[1]! : 'GBK';
}

const notificationSchema = z.object({
  app_id: z.string(),
  out_trade_no: z.string().min(1).max(64),
  trade_no: txnIdSchema,
  trade_status: z.string(),
  total_amount: z.string(),
  gmt_payment: z.string().optional(),
  notify_time: z.string(),
  sign: z.string(),
  sign_type: z.literal('RSA2'),
  // A refund of the trade (异步通知: 退款通知), to the same notify_url.
  refund_fee: z.string().optional(),
  out_biz_no: z.string().max(64).optional(),
  gmt_refund: z.string().optional(),
});

function tradeStatus(s: string): ChannelTradeStatus {
  // Only these two mean the money is taken (TRADE_FINISHED: paid and no longer refundable).
  if (s === 'TRADE_SUCCESS' || s === 'TRADE_FINISHED') return 'paid';
  if (s === 'WAIT_BUYER_PAY') return 'open';
  if (s === 'TRADE_CLOSED') return 'closed';
  return 'failed';
}

interface AlipayAnswer {
  code?: string;
  msg?: string;
  sub_code?: string;
  sub_msg?: string;
  [k: string]: unknown;
}

export class AlipayAdapter implements ChannelAdapter {
  readonly channel = 'alipay' as const;
  private readonly cfg: z.output<typeof alipayConfigSchema>;
  private readonly alipayKey: KeyObject;
  private readonly sdk: AlipaySdk;

  constructor(
    config: AlipayConfig,
    private readonly notifyUrl: string,
    private readonly clock: Clock = systemClock,
  ) {
    this.cfg = alipayConfigSchema.parse(config);
    privateKey(this.cfg.appPrivateKeyPem); // refuse a bad key at start-up, not at the first payment
    this.alipayKey = publicKey(this.cfg.alipayPublicKeyPem);
    this.sdk = new AlipaySdk({
      appId: this.cfg.appId,
      privateKey: this.cfg.appPrivateKeyPem,
      keyType: this.cfg.appPrivateKeyPem.includes('RSA PRIVATE KEY') ? 'PKCS1' : 'PKCS8',
      alipayPublicKey: this.cfg.alipayPublicKeyPem,
      gateway: this.cfg.gateway,
      timeout: this.cfg.timeoutMs,
      camelcase: false,
    });
  }

  /**
   * One gateway call through the SDK (answer verified). A business refusal (code other than 10000)
   * comes back as the answer; only transport and signature problems are failures here.
   */
  private async call(
    operation: string,
    method: string,
    biz: Record<string, unknown>,
    extra: Record<string, string> = {},
  ): Promise<Result<AlipayAnswer>> {
    try {
      const r = (await this.sdk.exec(
        method,
        // Gateway time is Beijing time; the SDK's own stamp would be the host's zone.
        { bizContent: biz, timestamp: shanghaiTimestamp(unixSeconds(this.clock)), ...extra },
        { validateSign: true },
      )) as AlipayAnswer;
      return ok(r);
    } catch (e) {
      const err = e as Error & { responseDataRaw?: string };
      if (/验签|sign/i.test(err.message) && err.responseDataRaw) return fail('BAD_SIGNATURE', `alipay ${operation}`);
      if (/HttpClient Request error/.test(err.message))
        return fail('CHANNEL_UNREACHABLE', `alipay ${operation}`);
      // An unsigned error_response or a non-200: keep what the gateway said.
      const raw = err.responseDataRaw ?? '';
      const m = /"sub_code"\s*:\s*"([^"]{1,64})"/.exec(raw) ?? /"code"\s*:\s*"([^"]{1,64})"/.exec(raw);
      return {
        ok: false,
        error: channelFailure({ channel: 'alipay', operation, code: m ? m[1]! : 'HTTP_ERROR' }),
      };
    }
  }

  private refusal(operation: string, a: AlipayAnswer): Result<never> {
    return {
      ok: false,
      error: channelFailure({
        channel: 'alipay',
        operation,
        code: a.sub_code ?? a.code ?? 'UNKNOWN',
        ...(a.sub_msg || a.msg ? { message: a.sub_msg ?? a.msg } : {}),
      }),
    };
  }

  async createOrder(input: CreateOrderInput): Promise<Result<CreatedOrder>> {
    if (!ALIPAY_OUT_NO_RE.test(input.outTradeNo)) return fail('MALFORMED', 'out_trade_no');
    const r = await this.call(
      'precreate',
      'alipay.trade.precreate',
      {
        out_trade_no: input.outTradeNo,
        total_amount: fenToYuan(input.amountFen),
        subject: input.subject,
        // Absolute expiry, so the code cannot be paid after the bill is dead.
        time_expire: shanghaiTimestamp(input.expiresAt),
      },
      { notify_url: input.notifyUrl ?? this.notifyUrl },
    );
    if (!r.ok) return r;
    if (r.value.code !== '10000' || typeof r.value.qr_code !== 'string') return this.refusal('precreate', r.value);
    return ok({ payUrl: r.value.qr_code });
  }

  async query(outTradeNo: string): Promise<Result<ChannelPayment>> {
    const r = await this.call('query', 'alipay.trade.query', { out_trade_no: outTradeNo });
    if (!r.ok) return r;
    const a = r.value;
    // A precreated order exists at Alipay only once the payer has scanned it.
    if (a.sub_code === 'ACQ.TRADE_NOT_EXIST') {
      return ok({ outTradeNo, txnId: '', amountFen: 0, paidAt: 0, status: 'notfound' });
    }
    if (a.code !== '10000') return this.refusal('query', a);
    const amountFen = yuanToFen(String(a.total_amount ?? ''));
    if (amountFen === undefined || typeof a.trade_no !== 'string' || typeof a.trade_status !== 'string')
      return fail('MALFORMED', 'alipay query answer');
    const status = tradeStatus(a.trade_status);
    const paidAt =
      status === 'paid'
        ? (parseShanghaiTimestamp(String(a.send_pay_date ?? '')) ?? unixSeconds(this.clock))
        : 0;
    return ok({ outTradeNo, txnId: status === 'paid' ? a.trade_no : '', amountFen, paidAt, status });
  }

  async close(outTradeNo: string): Promise<Result<void>> {
    const r = await this.call('close', 'alipay.trade.close', { out_trade_no: outTradeNo });
    if (!r.ok) return r;
    if (r.value.code === '10000') return ok(undefined);
    if (r.value.sub_code !== 'ACQ.TRADE_NOT_EXIST') return this.refusal('close', r.value);
    // Never scanned: Alipay creates the trade only when the payer scans the precreate QR, so close finds
    // nothing while the QR the payer holds stays good until time_expire. alipay.trade.cancel by
    // out_trade_no is kept by Alipay for a trade it does not hold yet (its purpose: a payment request that
    // may still arrive), so a later scan of that QR is refused. action "refund" means the payer paid in
    // between and Alipay gave the money back at once: the trade is closed either way.
    const c = await this.call('close', 'alipay.trade.cancel', { out_trade_no: outTradeNo });
    if (!c.ok) return c;
    if (c.value.code === '10000') return ok(undefined);
    return this.refusal('close', c.value);
  }

  /** alipay.trade.refund: synchronous; the same out_request_no again is the same refund (idempotent). */
  async refund(input: RefundInput): Promise<Result<ChannelRefund>> {
    if (!ALIPAY_OUT_NO_RE.test(input.outRefundNo)) return fail('MALFORMED', 'out_request_no');
    const r = await this.call('refund', 'alipay.trade.refund', {
      out_trade_no: input.outTradeNo,
      refund_amount: fenToYuan(input.amountFen),
      out_request_no: input.outRefundNo,
      refund_reason: input.reason,
    });
    if (!r.ok) return r;
    if (r.value.code !== '10000') return this.refusal('refund', r.value);
    // fund_change "N" on a repeat means the earlier request already moved the money: ask to be sure.
    if (r.value.fund_change === 'Y') {
      return ok({
        outRefundNo: input.outRefundNo,
        refundId: String(r.value.trade_no ?? ''),
        amountFen: input.amountFen,
        status: 'success',
        doneAt: parseShanghaiTimestamp(String(r.value.gmt_refund_pay ?? '')) ?? unixSeconds(this.clock),
      });
    }
    return this.refundQuery(input.outTradeNo, input.outRefundNo);
  }

  /** alipay.trade.fastpay.refund.query: REFUND_SUCCESS, or no refund_status while it is not done. */
  async refundQuery(outTradeNo: string, outRefundNo: string): Promise<Result<ChannelRefund>> {
    const r = await this.call('refund query', 'alipay.trade.fastpay.refund.query', {
      out_trade_no: outTradeNo,
      out_request_no: outRefundNo,
      query_options: ['gmt_refund_pay'],
    });
    if (!r.ok) return r;
    if (r.value.code !== '10000') return this.refusal('refund query', r.value);
    const amountFen = yuanToFen(String(r.value.refund_amount ?? ''));
    if (r.value.refund_status === 'REFUND_SUCCESS' && amountFen !== undefined) {
      return ok({
        outRefundNo,
        refundId: String(r.value.trade_no ?? ''),
        amountFen,
        status: 'success',
        doneAt: parseShanghaiTimestamp(String(r.value.gmt_refund_pay ?? '')) ?? unixSeconds(this.clock),
      });
    }
    // Alipay answers 10000 without refund_status for a request it does not hold.
    return ok({ outRefundNo, amountFen: amountFen ?? 0, status: amountFen === undefined ? 'notfound' : 'processing' });
  }

  /**
   * The day's trade statement: alipay.data.dataservice.bill.downloadurl.query (bill_type "trade"),
   * then the zip at bill_download_url, whose 业务明细 CSV is GBK.
   */
  async statement(date: string): Promise<Result<StatementRow[]>> {
    const r = await this.call('statement', 'alipay.data.dataservice.bill.downloadurl.query', {
      bill_type: 'trade',
      bill_date: date,
    });
    if (!r.ok) return r;
    if (r.value.code !== '10000' || typeof r.value.bill_download_url !== 'string')
      return this.refusal('statement', r.value);
    let zip: Buffer;
    try {
      const res = await fetch(r.value.bill_download_url, { signal: AbortSignal.timeout(this.cfg.timeoutMs * 6) });
      if (!res.ok) return { ok: false, error: channelFailure({ channel: 'alipay', operation: 'statement', code: `HTTP_${res.status}`, httpStatus: res.status }) };
      zip = Buffer.from(await res.arrayBuffer());
    } catch {
      return fail('CHANNEL_UNREACHABLE', 'alipay statement download');
    }
    return parseAlipayStatement(zip);
  }

  verifyNotification(raw: RawNotification): Result<ChannelPayment> {
    if (raw.body.length > 16_384) return fail('TOO_LARGE');
    const charset = notificationCharset(raw.body);
    const d = decodeForm(raw.body, charset);
    if (!d.ok) return fail('MALFORMED', 'alipay notification');
    const params = d.value;
    const n = notificationSchema.safeParse(params);
    if (!n.success) return fail('MALFORMED', 'alipay notification: missing or bad fields');
    if (!verifyInCharset(this.alipayKey, alipaySignContent(params, ['sign', 'sign_type']), n.data.sign, charset)) {
      return fail('BAD_SIGNATURE', 'alipay notification');
    }
    if (n.data.app_id !== this.cfg.appId) return fail('WRONG_MERCHANT', `app_id ${n.data.app_id}`);
    const amountFen = yuanToFen(n.data.total_amount);
    if (amountFen === undefined) return fail('MALFORMED', 'alipay notification: bad total_amount');
    const status = tradeStatus(n.data.trade_status);
    const paidAt =
      parseShanghaiTimestamp(n.data.gmt_payment ?? '') ??
      parseShanghaiTimestamp(n.data.notify_time) ??
      unixSeconds(this.clock);
    const payment: ChannelPayment = { outTradeNo: n.data.out_trade_no, txnId: n.data.trade_no, amountFen, paidAt, status };
    if (n.data.refund_fee === undefined && n.data.out_biz_no === undefined) return ok(payment);
    // A refund notification: out_biz_no is the refund's out_request_no, refund_fee the trade's total refunded.
    const refundFen = yuanToFen(n.data.refund_fee ?? '');
    if (refundFen === undefined || refundFen <= 0 || !n.data.out_biz_no)
      return fail('MALFORMED', 'alipay refund notification: bad refund_fee or out_biz_no');
    return ok({
      ...payment,
      refund: {
        outRefundNo: n.data.out_biz_no,
        refundId: n.data.trade_no,
        amountFen: refundFen,
        status: 'success',
        doneAt:
          parseShanghaiTimestamp(n.data.gmt_refund ?? '') ??
          parseShanghaiTimestamp(n.data.notify_time) ??
          unixSeconds(this.clock),
        outTradeNo: n.data.out_trade_no,
      },
    });
  }

  ack(accepted: boolean): NotificationAck {
    // Alipay stops retrying only on the literal text "success".
    return { status: 200, contentType: 'text/plain', body: accepted ? 'success' : 'failure' };
  }
}

/** SHA256withRSA over the text's bytes in the given charset. */
export function verifyInCharset(key: KeyObject, text: string, sigB64: string, charset: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(sigB64) || sigB64.length > 1024) return false;
  try {
    const v = createVerify('sha256');
    v.update(isUtf8(charset) ? Buffer.from(text, 'utf8') : iconv.encode(text, charset));
    return v.verify(key, Buffer.from(sigB64, 'base64'));
  } catch {
    return false;
  }
}
