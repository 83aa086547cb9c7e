// What the pay service needs from a payment channel. Alipay and WeChat Pay v3 both fit it; the
// simulator speaks both protocols so the adapters are exercised on the wire, not mocked.
import type { Channel } from '../../protocol/ids.ts';
import type { Result } from '../../protocol/result.ts';

export interface CreateOrderInput {
  /** Unique per channel order (bill number plus a short suffix). */
  outTradeNo: string;
  amountFen: number;
  subject: string;
  /** Unix seconds; the channel order must expire no later than the bill. */
  expiresAt: number;
  /** Where the channel sends notifications, when not the adapter's configured one. */
  notifyUrl?: string;
}

export interface CreatedOrder {
  /** Where the payer goes: Alipay's qr_code, WeChat's code_url. Lives ~2 h, so never printed. */
  payUrl: string;
}

/** paid: money taken; open: waiting for the payer; closed: closed or expired; notfound: channel never saw it. */
export type ChannelTradeStatus = 'paid' | 'open' | 'closed' | 'failed' | 'notfound';

export interface ChannelPayment {
  outTradeNo: string;
  /** The channel's transaction id (Alipay trade_no, WeChat transaction_id); empty when not paid. */
  txnId: string;
  amountFen: number;
  /** Unix seconds; 0 when not paid. */
  paidAt: number;
  status: ChannelTradeStatus;
  /**
   * Set when the notification reports a refund of this payment rather than the payment (Alipay sends both
   * to the trade's notify_url: `out_biz_no` = our out_request_no, `refund_fee` = the trade's total refunded,
   * `gmt_refund`; trade_status TRADE_CLOSED once refunded in full).
   */
  refund?: ChannelRefund;
}

/** A notification exactly as it arrived: the raw body matters, signatures are over its bytes. */
export interface RawNotification {
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** What to answer the channel so it stops (or keeps) retrying. */
export interface NotificationAck {
  status: number;
  contentType: string;
  body: string;
}

export interface RefundInput {
  outTradeNo: string;
  /** The channel's transaction id of the payment refunded. */
  txnId: string;
  /** Our refund request number (Alipay out_request_no, WeChat out_refund_no): same number, same refund. */
  outRefundNo: string;
  amountFen: number;
  /** The paid total of the order (WeChat wants both). */
  totalFen: number;
  reason: string;
  notifyUrl?: string;
}

/** success: money back with the payer; processing: accepted, not yet done; closed/abnormal: failed. */
export type RefundStatus = 'processing' | 'success' | 'closed' | 'abnormal' | 'notfound';

export interface ChannelRefund {
  outRefundNo: string;
  /** The channel's refund id, when it gave one. */
  refundId?: string;
  amountFen: number;
  status: RefundStatus;
  /** Unix seconds when the refund succeeded. */
  doneAt?: number;
  /** From a notification: which payment it belongs to. */
  outTradeNo?: string;
}

/** One line of a channel's daily statement. */
export interface StatementRow {
  kind: 'payment' | 'refund';
  outTradeNo: string;
  /** The channel's transaction id of the payment (for a refund, of the payment refunded). */
  txnId: string;
  /** Positive fen; for a refund the amount returned. */
  amountFen: number;
  /** For a refund: our refund request number. */
  outRefundNo?: string;
  /** Unix seconds. */
  at: number;
}

export interface ChannelAdapter {
  readonly channel: Channel;
  createOrder(input: CreateOrderInput): Promise<Result<CreatedOrder>>;
  query(outTradeNo: string): Promise<Result<ChannelPayment>>;
  close(outTradeNo: string): Promise<Result<void>>;
  refund(input: RefundInput): Promise<Result<ChannelRefund>>;
  refundQuery(outTradeNo: string, outRefundNo: string): Promise<Result<ChannelRefund>>;
  /** The day's statement (YYYY-MM-DD, Beijing time), payments and refunds. */
  statement(date: string): Promise<Result<StatementRow[]>>;
  /** Signature, merchant and freshness checks; the amount is checked against the order by the caller. */
  verifyNotification(raw: RawNotification): Result<ChannelPayment> | Promise<Result<ChannelPayment>>;
  /**
   * Refund notifications on their own URL (WeChat REFUND.*). Alipay's come to the trade's notify_url and
   * are returned by verifyNotification with `refund` set.
   */
  verifyRefundNotification?(raw: RawNotification): Promise<Result<ChannelRefund>>;
  ack(accepted: boolean, reason?: string): NotificationAck;
}

export function header(raw: RawNotification, name: string): string | undefined {
  const want = name.toLowerCase();
  for (const [k, v] of Object.entries(raw.headers)) {
    if (k.toLowerCase() === want) return Array.isArray(v) ? v[0] : v;
  }
  return undefined;
}
