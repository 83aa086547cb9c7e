// WeChat Pay API v3 adapter: Native orders, query by out_trade_no, close. Requests carry the
// WECHATPAY2-SHA256-RSA2048 Authorization signed with the merchant key; answers and notifications are
// verified with the platform key over "timestamp\nnonce\nbody\n", and the notification's resource is
// decrypted with AES-256-GCM under the APIv3 key.
import { createCipheriv, createDecipheriv, randomBytes, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { txnIdSchema } from '../../protocol/ids.ts';
import { fail, ok, type Result } from '../../protocol/result.ts';
import { systemClock, unixSeconds, type Clock } from '../../protocol/time.ts';
import {
  header,
  type ChannelAdapter,
  type ChannelPayment,
  type ChannelTradeStatus,
  type CreateOrderInput,
  type CreatedOrder,
  type NotificationAck,
  type RawNotification,
} from './types.ts';
import {
  parseRfc3339,
  privateKey,
  publicKey,
  randomToken,
  rfc3339Shanghai,
  rsaSign,
  rsaVerify,
} from './util.ts';

export const wechatConfigSchema = z.object({
  /** https://api.mch.weixin.qq.com in production. */
  baseUrl: z.url(),
  mchid: z.string().regex(/^[0-9]{1,32}$/),
  appid: z.string().regex(/^[0-9A-Za-z_]{1,32}$/),
  /** Serial number of the merchant API certificate the requests are signed with. */
  merchantSerial: z.string().regex(/^[0-9A-Za-z_]{1,64}$/),
  merchantPrivateKeyPem: z.string().includes('PRIVATE KEY'),
  /** Serial (or public key id) of the platform key that signs answers and notifications. */
  platformSerial: z.string().regex(/^[0-9A-Za-z_]{1,64}$/),
  platformPublicKeyPem: z.string().includes('PUBLIC KEY'),
  /** The 32-character APIv3 key, used as the AES-256 key. */
  apiV3Key: z.string().length(32),
  timeoutMs: z.number().int().positive().default(10_000),
});
export type WechatConfig = z.input<typeof wechatConfigSchema>;

/** Seconds a notification's timestamp may differ from our clock. */
export const WECHAT_SKEW_S = 300;

export function wechatMessage(parts: string[]): string {
  return parts.map((p) => `${p}\n`).join('');
}

export function wechatAuthorization(a: {
  method: string;
  url: string;
  body: string;
  mchid: string;
  serial: string;
  key: KeyObject;
  timestamp: number;
  nonce?: string;
}): string {
  const nonce = a.nonce ?? randomToken(32);
  const signature = rsaSign(a.key, wechatMessage([a.method, a.url, String(a.timestamp), nonce, a.body]));
  return (
    `WECHATPAY2-SHA256-RSA2048 mchid="${a.mchid}",nonce_str="${nonce}",` +
    `signature="${signature}",timestamp="${a.timestamp}",serial_no="${a.serial}"`
  );
}

/** Headers of a platform-signed answer or notification. */
export function wechatSignedHeaders(
  body: string,
  key: KeyObject,
  serial: string,
  timestamp: number,
  nonce = randomToken(32),
): Record<string, string> {
  return {
    'Wechatpay-Timestamp': String(timestamp),
    'Wechatpay-Nonce': nonce,
    'Wechatpay-Signature': rsaSign(key, wechatMessage([String(timestamp), nonce, body])),
    'Wechatpay-Serial': serial,
    'Wechatpay-Signature-Type': 'WECHATPAY2-SHA256-RSA2048',
  };
}

export interface GcmResource {
  algorithm: 'AEAD_AES_256_GCM';
  ciphertext: string;
  associated_data: string;
  nonce: string;
  original_type: string;
}

/** AES-256-GCM as WeChat uses it: 12-character nonce, tag appended to the ciphertext, base64. */
export function encryptResource(
  apiV3Key: string,
  plaintext: string,
  associatedData = 'transaction',
): GcmResource {
  const nonce = randomBytes(9).toString('base64url').slice(0, 12);
  const c = createCipheriv('aes-256-gcm', Buffer.from(apiV3Key, 'utf8'), Buffer.from(nonce, 'utf8'));
  c.setAAD(Buffer.from(associatedData, 'utf8'));
  const ct = Buffer.concat([c.update(plaintext, 'utf8'), c.final(), c.getAuthTag()]);
  return {
    algorithm: 'AEAD_AES_256_GCM',
    ciphertext: ct.toString('base64'),
    associated_data: associatedData,
    nonce,
    original_type: 'transaction',
  };
}

export function decryptResource(
  apiV3Key: string,
  r: { ciphertext: string; associated_data?: string; nonce: string },
): string | undefined {
  const buf = Buffer.from(r.ciphertext, 'base64');
  if (buf.length < 17) return undefined;
  try {
    const d = createDecipheriv('aes-256-gcm', Buffer.from(apiV3Key, 'utf8'), Buffer.from(r.nonce, 'utf8'));
    d.setAuthTag(buf.subarray(buf.length - 16));
    d.setAAD(Buffer.from(r.associated_data ?? '', 'utf8'));
    return Buffer.concat([d.update(buf.subarray(0, buf.length - 16)), d.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}

const transactionSchema = z.object({
  appid: z.string(),
  mchid: z.string(),
  out_trade_no: z.string().min(1).max(64),
  transaction_id: z.string().optional(),
  trade_state: z.string(),
  success_time: z.string().optional(),
  amount: z.object({ total: z.number().int().nonnegative(), currency: z.string().optional() }).optional(),
});

const notificationSchema = z.object({
  id: z.string(),
  event_type: z.string(),
  resource_type: z.string(),
  resource: z.object({
    algorithm: z.literal('AEAD_AES_256_GCM'),
    ciphertext: z.string().max(8192),
    associated_data: z.string().optional(),
    nonce: z.string().max(64),
    original_type: z.string().optional(),
  }),
});

function tradeState(s: string): ChannelTradeStatus {
  if (s === 'SUCCESS') return 'paid';
  if (s === 'NOTPAY' || s === 'USERPAYING') return 'open';
  if (s === 'CLOSED' || s === 'REVOKED') return 'closed';
  // REFUND counts as paid-then-refunded, not a payment to settle; PAYERROR is a failed attempt.
  return 'failed';
}

export class WechatAdapter implements ChannelAdapter {
  readonly channel = 'wechat' as const;
  private readonly cfg: z.output<typeof wechatConfigSchema>;
  private readonly merchantKey: KeyObject;
  private readonly platformKey: KeyObject;

  constructor(
    config: WechatConfig,
    private readonly notifyUrl: string,
    private readonly clock: Clock = systemClock,
  ) {
    this.cfg = wechatConfigSchema.parse(config);
    this.merchantKey = privateKey(this.cfg.merchantPrivateKeyPem);
    this.platformKey = publicKey(this.cfg.platformPublicKeyPem);
  }

  /** Verifies timestamp window, serial and signature of platform-signed bytes. */
  private verifySigned(headers: RawNotification['headers'], body: string, what: string): Result<void> {
    const raw = { headers, body };
    const ts = header(raw, 'Wechatpay-Timestamp');
    const nonce = header(raw, 'Wechatpay-Nonce');
    const sig = header(raw, 'Wechatpay-Signature');
    const serial = header(raw, 'Wechatpay-Serial');
    if (!ts || !nonce || !sig || !serial || !/^\d{1,12}$/.test(ts)) {
      return fail('MALFORMED', `${what}: Wechatpay-* headers missing`);
    }
    if (serial !== this.cfg.platformSerial)
      return fail('UNKNOWN_KEY', `${what}: serial ${serial.slice(0, 64)}`);
    if (Math.abs(unixSeconds(this.clock) - Number(ts)) > WECHAT_SKEW_S) {
      return fail('STALE_NOTIFICATION', `${what}: timestamp ${ts}`);
    }
    if (!rsaVerify(this.platformKey, wechatMessage([ts, nonce, body]), sig))
      return fail('BAD_SIGNATURE', what);
    return ok(undefined);
  }

  private async request(
    method: 'GET' | 'POST',
    path: string,
    payload?: unknown,
  ): Promise<Result<{ status: number; json: Record<string, unknown> | undefined }>> {
    const body = payload === undefined ? '' : JSON.stringify(payload);
    const auth = wechatAuthorization({
      method,
      url: path,
      body,
      mchid: this.cfg.mchid,
      serial: this.cfg.merchantSerial,
      key: this.merchantKey,
      timestamp: unixSeconds(this.clock),
    });
    let res: Response;
    let text: string;
    try {
      res = await fetch(new URL(path, this.cfg.baseUrl), {
        method,
        headers: {
          authorization: auth,
          accept: 'application/json',
          ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: payload === undefined ? undefined : body,
        signal: AbortSignal.timeout(this.cfg.timeoutMs),
      });
      text = await res.text();
    } catch (e) {
      return fail('HUB_UNREACHABLE', `wechat pay: ${(e as Error).message}`);
    }
    // Every answer, errors included, is signed by the platform; believe none that is not.
    const headers = Object.fromEntries(res.headers.entries());
    const v = this.verifySigned(headers, text, 'wechat pay answer');
    if (!v.ok) return v;
    let json: Record<string, unknown> | undefined;
    if (text) {
      try {
        json = JSON.parse(text) as Record<string, unknown>;
      } catch {
        return fail('CHANNEL_ERROR', 'wechat pay answered something that is not JSON');
      }
    }
    return ok({ status: res.status, json });
  }

  private static error(
    what: string,
    json: Record<string, unknown> | undefined,
    status: number,
  ): Result<never> {
    const code = typeof json?.code === 'string' ? json.code : `HTTP ${status}`;
    return fail('CHANNEL_ERROR', `wechat ${what}: ${code}`, { code });
  }

  async createOrder(input: CreateOrderInput): Promise<Result<CreatedOrder>> {
    const r = await this.request('POST', '/v3/pay/transactions/native', {
      appid: this.cfg.appid,
      mchid: this.cfg.mchid,
      description: input.subject.slice(0, 40),
      out_trade_no: input.outTradeNo,
      time_expire: rfc3339Shanghai(input.expiresAt),
      notify_url: input.notifyUrl ?? this.notifyUrl,
      amount: { total: input.amountFen, currency: 'CNY' },
    });
    if (!r.ok) return r;
    const codeUrl = r.value.json?.code_url;
    if (r.value.status !== 200 || typeof codeUrl !== 'string')
      return WechatAdapter.error('order', r.value.json, r.value.status);
    return ok({ payUrl: codeUrl });
  }

  async query(outTradeNo: string): Promise<Result<ChannelPayment>> {
    const r = await this.request(
      'GET',
      `/v3/pay/transactions/out-trade-no/${encodeURIComponent(outTradeNo)}?mchid=${this.cfg.mchid}`,
    );
    if (!r.ok) return r;
    if (r.value.status === 404 && r.value.json?.code === 'ORDER_NOT_EXIST') {
      return ok({ outTradeNo, txnId: '', amountFen: 0, paidAt: 0, status: 'notfound' });
    }
    if (r.value.status !== 200) return WechatAdapter.error('query', r.value.json, r.value.status);
    return this.fromTransaction(r.value.json, 'query');
  }

  private fromTransaction(json: unknown, what: string): Result<ChannelPayment> {
    const t = transactionSchema.safeParse(json);
    if (!t.success) return fail('MALFORMED', `wechat ${what}: unexpected transaction`);
    if (t.data.mchid !== this.cfg.mchid || t.data.appid !== this.cfg.appid) {
      return fail('WRONG_MERCHANT', `mchid ${t.data.mchid}`);
    }
    const status = tradeState(t.data.trade_state);
    if (status !== 'paid') {
      return ok({
        outTradeNo: t.data.out_trade_no,
        txnId: '',
        amountFen: t.data.amount?.total ?? 0,
        paidAt: 0,
        status,
      });
    }
    const txn = txnIdSchema.safeParse(t.data.transaction_id);
    const paidAt = parseRfc3339(t.data.success_time ?? '');
    if (!txn.success || paidAt === undefined || !t.data.amount) {
      return fail('MALFORMED', `wechat ${what}: paid transaction lacks id, time or amount`);
    }
    return ok({
      outTradeNo: t.data.out_trade_no,
      txnId: txn.data,
      amountFen: t.data.amount.total,
      paidAt,
      status,
    });
  }

  async close(outTradeNo: string): Promise<Result<void>> {
    const r = await this.request(
      'POST',
      `/v3/pay/transactions/out-trade-no/${encodeURIComponent(outTradeNo)}/close`,
      {
        mchid: this.cfg.mchid,
      },
    );
    if (!r.ok) return r;
    if (r.value.status === 204 || r.value.status === 200) return ok(undefined);
    return WechatAdapter.error('close', r.value.json, r.value.status);
  }

  verifyNotification(raw: RawNotification): Result<ChannelPayment> {
    if (raw.body.length > 16_384) return fail('TOO_LARGE');
    const v = this.verifySigned(raw.headers, raw.body, 'wechat notification');
    if (!v.ok) return v;
    let doc: unknown;
    try {
      doc = JSON.parse(raw.body);
    } catch {
      return fail('MALFORMED', 'wechat notification: not JSON');
    }
    const n = notificationSchema.safeParse(doc);
    if (!n.success) return fail('MALFORMED', 'wechat notification: missing or bad fields');
    const plain = decryptResource(this.cfg.apiV3Key, n.data.resource);
    if (plain === undefined) return fail('BAD_SIGNATURE', 'wechat notification: resource does not decrypt');
    let txn: unknown;
    try {
      txn = JSON.parse(plain);
    } catch {
      return fail('MALFORMED', 'wechat notification: resource is not JSON');
    }
    return this.fromTransaction(txn, 'notification');
  }

  ack(accepted: boolean, reason?: string): NotificationAck {
    // 2xx with no body stops the retries; anything else asks WeChat to send again.
    if (accepted) return { status: 204, contentType: 'application/json', body: '' };
    return {
      status: 400,
      contentType: 'application/json',
      body: JSON.stringify({ code: 'FAIL', message: reason ?? 'refused' }),
    };
  }
}
