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

export interface ChannelAdapter {
  readonly channel: Channel;
  createOrder(input: CreateOrderInput): Promise<Result<CreatedOrder>>;
  query(outTradeNo: string): Promise<Result<ChannelPayment>>;
  close(outTradeNo: string): Promise<Result<void>>;
  /** Signature, merchant and freshness checks; the amount is checked against the order by the caller. */
  verifyNotification(raw: RawNotification): Result<ChannelPayment>;
  ack(accepted: boolean, reason?: string): NotificationAck;
}

export function header(raw: RawNotification, name: string): string | undefined {
  const want = name.toLowerCase();
  for (const [k, v] of Object.entries(raw.headers)) {
    if (k.toLowerCase() === want) return Array.isArray(v) ? v[0] : v;
  }
  return undefined;
}
