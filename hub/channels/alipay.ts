// Alipay open platform adapter: alipay.trade.precreate / query / close through the gateway, requests
// signed RSA2 (SHA256withRSA) with the app's key, responses and async notifications verified with
// Alipay's public key.
import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import { txnIdSchema } from '../../protocol/ids.ts';
import { fail, ok, type Result } from '../../protocol/result.ts';
import { systemClock, unixSeconds, type Clock } from '../../protocol/time.ts';
import type {
  ChannelAdapter,
  ChannelPayment,
  ChannelTradeStatus,
  CreateOrderInput,
  CreatedOrder,
  NotificationAck,
  RawNotification,
} from './types.ts';
import {
  fenToYuan,
  parseShanghaiTimestamp,
  privateKey,
  publicKey,
  rawJsonMember,
  rsaSign,
  rsaVerify,
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

/** Sorted `k=v&k=v` over non-empty values, leaving out the keys given (the sign rule for both directions). */
export function alipaySignContent(params: Record<string, string>, omit: string[]): string {
  return Object.keys(params)
    .filter((k) => !omit.includes(k) && params[k] !== undefined && params[k] !== '')
    .sort()
    .map((k) => `${k}=${params[k]}`)
    .join('&');
}

/** Requests are signed over everything but `sign`. */
export function signAlipayRequest(params: Record<string, string>, key: KeyObject): string {
  return rsaSign(key, alipaySignContent(params, ['sign']));
}

/** Notifications are signed over everything but `sign` and `sign_type`. */
export function signAlipayNotification(params: Record<string, string>, key: KeyObject): string {
  return rsaSign(key, alipaySignContent(params, ['sign', 'sign_type']));
}

export function alipayResponseNode(method: string): string {
  return `${method.replace(/\./g, '_')}_response`;
}

const responseBase = z.object({
  code: z.string(),
  msg: z.string().optional(),
  sub_code: z.string().optional(),
  sub_msg: z.string().optional(),
});

const precreateResponse = responseBase.extend({ out_trade_no: z.string(), qr_code: z.url() });
const queryResponse = responseBase.extend({
  out_trade_no: z.string(),
  trade_no: z.string(),
  trade_status: z.string(),
  total_amount: z.string(),
  send_pay_date: z.string().optional(),
});

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
});

function tradeStatus(s: string): ChannelTradeStatus {
  // Only these two mean the money is taken (TRADE_FINISHED: paid and no longer refundable).
  if (s === 'TRADE_SUCCESS' || s === 'TRADE_FINISHED') return 'paid';
  if (s === 'WAIT_BUYER_PAY') return 'open';
  if (s === 'TRADE_CLOSED') return 'closed';
  return 'failed';
}

export class AlipayAdapter implements ChannelAdapter {
  readonly channel = 'alipay' as const;
  private readonly cfg: z.output<typeof alipayConfigSchema>;
  private readonly appKey: KeyObject;
  private readonly alipayKey: KeyObject;

  constructor(
    config: AlipayConfig,
    private readonly notifyUrl: string,
    private readonly clock: Clock = systemClock,
  ) {
    this.cfg = alipayConfigSchema.parse(config);
    this.appKey = privateKey(this.cfg.appPrivateKeyPem);
    this.alipayKey = publicKey(this.cfg.alipayPublicKeyPem);
  }

  /** One gateway call; the answer's node is verified against Alipay's key before it is believed. */
  private async call(
    method: string,
    biz: Record<string, unknown>,
    extra: Record<string, string> = {},
  ): Promise<Result<Record<string, unknown>>> {
    const params: Record<string, string> = {
      app_id: this.cfg.appId,
      method,
      format: 'JSON',
      charset: 'utf-8',
      sign_type: 'RSA2',
      timestamp: shanghaiTimestamp(unixSeconds(this.clock)),
      version: '1.0',
      biz_content: JSON.stringify(biz),
      ...extra,
    };
    params.sign = signAlipayRequest(params, this.appKey);
    let text: string;
    try {
      const res = await fetch(this.cfg.gateway, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded;charset=utf-8' },
        body: new URLSearchParams(params).toString(),
        signal: AbortSignal.timeout(this.cfg.timeoutMs),
      });
      text = await res.text();
    } catch (e) {
      return fail('HUB_UNREACHABLE', `alipay gateway: ${(e as Error).message}`);
    }
    const nodeName = alipayResponseNode(method);
    const node = rawJsonMember(text, nodeName);
    let doc: { sign?: unknown; error_response?: { sub_msg?: string; msg?: string } };
    try {
      doc = JSON.parse(text) as typeof doc;
    } catch {
      return fail('CHANNEL_ERROR', 'alipay answered something that is not JSON');
    }
    if (!node) {
      const e = doc.error_response;
      return fail('CHANNEL_ERROR', `alipay: ${e?.sub_msg ?? e?.msg ?? 'no response node'}`);
    }
    if (typeof doc.sign !== 'string' || !rsaVerify(this.alipayKey, node, doc.sign)) {
      return fail('BAD_SIGNATURE', 'alipay response');
    }
    const body = JSON.parse(node) as Record<string, unknown>;
    return ok(body);
  }

  async createOrder(input: CreateOrderInput): Promise<Result<CreatedOrder>> {
    const r = await this.call(
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
    const p = precreateResponse.safeParse(r.value);
    if (!p.success) return fail('CHANNEL_ERROR', 'alipay precreate: unexpected answer');
    if (p.data.code !== '10000')
      return fail('CHANNEL_ERROR', `alipay precreate: ${p.data.sub_code ?? p.data.code}`);
    return ok({ payUrl: p.data.qr_code });
  }

  async query(outTradeNo: string): Promise<Result<ChannelPayment>> {
    const r = await this.call('alipay.trade.query', { out_trade_no: outTradeNo });
    if (!r.ok) return r;
    const base = responseBase.safeParse(r.value);
    if (!base.success) return fail('CHANNEL_ERROR', 'alipay query: unexpected answer');
    // A precreated order exists at Alipay only once the payer has scanned it.
    if (base.data.sub_code === 'ACQ.TRADE_NOT_EXIST') {
      return ok({ outTradeNo, txnId: '', amountFen: 0, paidAt: 0, status: 'notfound' });
    }
    if (base.data.code !== '10000')
      return fail('CHANNEL_ERROR', `alipay query: ${base.data.sub_code ?? base.data.code}`);
    const q = queryResponse.safeParse(r.value);
    if (!q.success) return fail('CHANNEL_ERROR', 'alipay query: unexpected answer');
    const amountFen = yuanToFen(q.data.total_amount);
    if (amountFen === undefined) return fail('CHANNEL_ERROR', 'alipay query: bad total_amount');
    const status = tradeStatus(q.data.trade_status);
    const paidAt =
      status === 'paid' ? (parseShanghaiTimestamp(q.data.send_pay_date ?? '') ?? unixSeconds(this.clock)) : 0;
    return ok({ outTradeNo: q.data.out_trade_no, txnId: q.data.trade_no, amountFen, paidAt, status });
  }

  async close(outTradeNo: string): Promise<Result<void>> {
    const r = await this.call('alipay.trade.close', { out_trade_no: outTradeNo });
    if (!r.ok) return r;
    const base = responseBase.safeParse(r.value);
    if (!base.success) return fail('CHANNEL_ERROR', 'alipay close: unexpected answer');
    // Never scanned: nothing to close at Alipay, and time_expire stops it anyway.
    if (base.data.code === '10000' || base.data.sub_code === 'ACQ.TRADE_NOT_EXIST') return ok(undefined);
    return fail('CHANNEL_ERROR', `alipay close: ${base.data.sub_code ?? base.data.code}`);
  }

  verifyNotification(raw: RawNotification): Result<ChannelPayment> {
    if (raw.body.length > 16_384) return fail('TOO_LARGE');
    const form = new URLSearchParams(raw.body);
    const params: Record<string, string> = {};
    for (const [k, v] of form) {
      if (k in params) return fail('MALFORMED', `alipay notification: ${k} given twice`);
      params[k] = v;
    }
    const n = notificationSchema.safeParse(params);
    if (!n.success) return fail('MALFORMED', 'alipay notification: missing or bad fields');
    if (!rsaVerify(this.alipayKey, alipaySignContent(params, ['sign', 'sign_type']), n.data.sign)) {
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
    return ok({ outTradeNo: n.data.out_trade_no, txnId: n.data.trade_no, amountFen, paidAt, status });
  }

  ack(accepted: boolean): NotificationAck {
    // Alipay stops retrying only on the literal text "success".
    return { status: 200, contentType: 'text/plain', body: accepted ? 'success' : 'failure' };
  }
}
