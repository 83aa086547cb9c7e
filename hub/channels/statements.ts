// The channels' daily statements, read into one row shape for reconciliation (对账).
// Alipay: alipay.data.dataservice.bill.downloadurl.query gives a zip whose 业务明细 CSV is GBK, with
// '#' comment lines around a header row (支付宝交易号, 商户订单号, 业务类型 交易/退款, 订单金额（元）,
// 商家实收（元）, 退款批次号/请求号, 完成时间 ...). WeChat Pay: /v3/bill/tradebill gives a (gzip) CSV in
// UTF-8 whose every field starts with a backtick, then a 总交易单数 summary (商户平台 交易账单 说明).
import iconv from 'iconv-lite';
import { unzipSync } from 'fflate';
import { fail, ok, type Result } from '../../protocol/result.ts';
import type { StatementRow } from './types.ts';
import { parseShanghaiTimestamp, yuanToFen } from './util.ts';

/** Alipay's 业务明细 columns this reader needs. */
export const ALIPAY_COLUMNS = {
  txnId: '支付宝交易号',
  outTradeNo: '商户订单号',
  kind: '业务类型',
  finishedAt: '完成时间',
  orderAmount: '订单金额（元）',
  received: '商家实收（元）',
  refundNo: '退款批次号/请求号',
} as const;

/** WeChat tradebill columns this reader needs. */
export const WECHAT_COLUMNS = {
  time: '交易时间',
  txnId: '微信订单号',
  outTradeNo: '商户订单号',
  state: '交易状态',
  settled: '应结订单金额',
  outRefundNo: '商户退款单号',
  refundAmount: '退款金额',
} as const;

/** A signed yuan amount ("-200.00", "200.00") as positive fen. */
function absFen(text: string): number | undefined {
  return yuanToFen(text.trim().replace(/^-/, ''));
}

/** Reads the zip Alipay serves: the entry whose header row names 支付宝交易号 and 商户订单号. */
export function parseAlipayStatement(zip: Uint8Array): Result<StatementRow[]> {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(zip);
  } catch {
    return fail('MALFORMED', 'alipay statement is not a zip');
  }
  for (const bytes of Object.values(files)) {
    const text = iconv.decode(Buffer.from(bytes), 'GBK');
    const r = parseAlipayCsv(text);
    if (r) return r;
  }
  return fail('MALFORMED', 'alipay statement has no 业务明细 table');
}

/** The 业务明细 CSV text (already decoded); undefined when it is not that table (e.g. the 汇总 file). */
export function parseAlipayCsv(text: string): Result<StatementRow[]> | undefined {
  const lines = text.split(/\r?\n/);
  let header: string[] | undefined;
  const out: StatementRow[] = [];
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!;
    if (!line.trim() || line.startsWith('#')) continue;
    const cells = line.split(',').map((c) => c.trim());
    if (!header) {
      if (!cells.includes(ALIPAY_COLUMNS.txnId) || !cells.includes(ALIPAY_COLUMNS.outTradeNo)) return undefined;
      header = cells;
      continue;
    }
    const get = (name: string): string => cells[header!.indexOf(name)] ?? '';
    const kind = get(ALIPAY_COLUMNS.kind);
    const at = parseShanghaiTimestamp(get(ALIPAY_COLUMNS.finishedAt));
    if (kind === '交易') {
      const amountFen = absFen(get(ALIPAY_COLUMNS.orderAmount));
      if (amountFen === undefined || at === undefined) return fail('MALFORMED', `alipay statement line ${n + 1}`);
      out.push({ kind: 'payment', outTradeNo: get(ALIPAY_COLUMNS.outTradeNo), txnId: get(ALIPAY_COLUMNS.txnId), amountFen, at });
    } else if (kind === '退款') {
      const amountFen = absFen(get(ALIPAY_COLUMNS.received));
      if (amountFen === undefined || at === undefined) return fail('MALFORMED', `alipay statement line ${n + 1}`);
      out.push({
        kind: 'refund',
        outTradeNo: get(ALIPAY_COLUMNS.outTradeNo),
        txnId: get(ALIPAY_COLUMNS.txnId),
        amountFen,
        outRefundNo: get(ALIPAY_COLUMNS.refundNo),
        at,
      });
    }
  }
  return header ? ok(out) : undefined;
}

/** The tradebill CSV (bill_type ALL) as text: rows until the 总交易单数 summary. */
export function parseWechatStatement(text: string): Result<StatementRow[]> {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const header = (lines[0] ?? '').split(',').map((c) => c.trim());
  if (!header.includes(WECHAT_COLUMNS.txnId) || !header.includes(WECHAT_COLUMNS.outTradeNo))
    return fail('MALFORMED', 'wechat statement has no header');
  const idx = (name: string): number => header.indexOf(name);
  const out: StatementRow[] = [];
  for (let n = 1; n < lines.length; n++) {
    const line = lines[n]!;
    if (!line.trim()) continue;
    if (!line.startsWith('`')) break; // the 总交易单数 summary follows the rows
    // Fields are ",`"-separated and each starts with a backtick (values may contain commas).
    const cells = line.slice(1).split(',`');
    const get = (name: string): string => (cells[idx(name)] ?? '').trim();
    const at = parseShanghaiTimestamp(get(WECHAT_COLUMNS.time));
    const state = get(WECHAT_COLUMNS.state);
    if (at === undefined) return fail('MALFORMED', `wechat statement line ${n + 1}`);
    if (state === 'SUCCESS') {
      const amountFen = absFen(get(WECHAT_COLUMNS.settled));
      if (amountFen === undefined) return fail('MALFORMED', `wechat statement line ${n + 1}`);
      out.push({ kind: 'payment', outTradeNo: get(WECHAT_COLUMNS.outTradeNo), txnId: get(WECHAT_COLUMNS.txnId), amountFen, at });
    } else if (state === 'REFUND') {
      const amountFen = absFen(get(WECHAT_COLUMNS.refundAmount));
      if (amountFen === undefined) return fail('MALFORMED', `wechat statement line ${n + 1}`);
      out.push({
        kind: 'refund',
        outTradeNo: get(WECHAT_COLUMNS.outTradeNo),
        txnId: get(WECHAT_COLUMNS.txnId),
        amountFen,
        outRefundNo: get(WECHAT_COLUMNS.outRefundNo),
        at,
      });
    }
  }
  return ok(out);
}
