// WeChat Pay API v3 adapter: Native orders, query by out_trade_no, close. Requests carry the
// WECHATPAY2-SHA256-RSA2048 Authorization signed with the merchant key; answers and notifications are
// verified with the platform key over "timestamp\nnonce\nbody\n", and the notification's resource is
// decrypted with AES-256-GCM under the APIv3 key.
import { createCipheriv, createDecipheriv, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { z } from 'zod';
import { txnIdSchema } from '../../protocol/ids.ts';
import { fail, ok, type Failure, type Result } from '../../protocol/result.ts';
import { channelFailure } from './errors.ts';
import { parseWechatStatement } from './statements.ts';
import { systemClock, unixSeconds, type Clock } from '../../protocol/time.ts';
import {
  header,
  type ChannelAdapter,
  type ChannelPayment,
  type ChannelRefund,
  type ChannelTradeStatus,
  type RefundInput,
  type RefundStatus,
  type StatementRow,
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
  /**
   * Platform keys known in advance, each named by what WeChat puts in Wechatpay-Serial: the WeChat Pay
   * public key (PUB_KEY_ID_…) and/or platform certificates' serials. Several are valid at once.
   */
  platformKeys: z
    .array(
      z.object({
        serial: z.string().regex(/^[0-9A-Za-z_]{1,64}$/),
        publicKeyPem: z.string().includes('PUBLIC KEY'),
      }),
    )
    .default([]),
  /** Download platform certificates from /v3/certificates (decrypted with the APIv3 key) and refresh them. */
  downloadCertificates: z.boolean().default(true),
  /** Seconds between two certificate downloads; also refreshed when one nears expiry or a serial is new. */
  certificateRefreshSeconds: z.number().int().positive().default(12 * 3600),
  /** The 32-character APIv3 key, used as the AES-256 key. */
  apiV3Key: z.string().length(32),
  /** The official account's AppSecret, for OAuth2 snsapi_base (the payer's openid for JSAPI). */
  appSecret: z.string().min(1).max(64).optional(),
  /** https://api.weixin.qq.com in production (sns/oauth2/access_token). */
  oauthApiBase: z.url().default('https://api.weixin.qq.com'),
  /** https://open.weixin.qq.com in production (connect/oauth2/authorize). */
  oauthAuthorizeBase: z.url().default('https://open.weixin.qq.com'),
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

/** Parameters for WeixinJSBridge getBrandWCPayRequest (JSAPI调起支付). */
export interface JsapiPayParams {
  appId: string;
  timeStamp: string;
  nonceStr: string;
  package: string;
  signType: 'RSA';
  paySign: string;
}

export class WechatAdapter implements ChannelAdapter {
  readonly channel = 'wechat' as const;
  private readonly cfg: z.output<typeof wechatConfigSchema>;
  private readonly merchantKey: KeyObject;

  constructor(
    config: WechatConfig,
    private readonly notifyUrl: string,
    private readonly clock: Clock = systemClock,
  ) {
    this.cfg = wechatConfigSchema.parse(config);
    this.merchantKey = privateKey(this.cfg.merchantPrivateKeyPem);
    for (const k of this.cfg.platformKeys) {
      this.keys.set(k.serial, { key: publicKey(k.publicKeyPem), source: 'config' });
    }
    if (!this.cfg.platformKeys.length && !this.cfg.downloadCertificates)
      throw new Error('wechat: no platform key configured and certificate download is off');
  }

  /** Platform keys by serial: configured ones plus downloaded certificates still valid. */
  private readonly keys = new Map<string, { key: KeyObject; expiresAt?: number; source: 'config' | 'certificate' }>();
  private certsFetchedAt = -Infinity;
  /** The last failed certificate download, kept for the operator's health view. */
  lastRefreshError: Failure | undefined;
  private certsFetching: Promise<Result<number>> | undefined;

  /** The serials currently trusted (for operators and tests). */
  serials(): string[] {
    const now = unixSeconds(this.clock);
    return [...this.keys.entries()].filter(([, k]) => !k.expiresAt || k.expiresAt > now).map(([s]) => s).sort();
  }

  private keyFor(serial: string): KeyObject | undefined {
    const k = this.keys.get(serial);
    if (!k) return undefined;
    if (k.expiresAt !== undefined && k.expiresAt <= unixSeconds(this.clock)) return undefined;
    return k.key;
  }

  /**
   * GET /v3/certificates: each platform certificate is AES-256-GCM encrypted with the APIv3 key.
   * The answer must verify with a key we already trust or with one of the certificates it carries
   * (the first download). Source: 微信支付 APIv3 平台证书 下载 (pay.weixin.qq.com/doc/v3/merchant/4012551764).
   */
  async refreshCertificates(): Promise<Result<number>> {
    if (!this.cfg.downloadCertificates) return ok(0);
    this.certsFetching ??= this.fetchCertificates().finally(() => (this.certsFetching = undefined));
    return this.certsFetching;
  }

  private async fetchCertificates(): Promise<Result<number>> {
    const r = await this.send('GET', '/v3/certificates');
    if (!r.ok) return r;
    const { status, text, headers } = r.value;
    if (status !== 200) return WechatAdapter.error('certificates', text, status);
    const schema = z.object({
      data: z.array(
        z.object({
          serial_no: z.string().regex(/^[0-9A-Za-z_]{1,64}$/),
          effective_time: z.string(),
          expire_time: z.string(),
          encrypt_certificate: z.object({
            algorithm: z.literal('AEAD_AES_256_GCM'),
            nonce: z.string(),
            associated_data: z.string().optional(),
            ciphertext: z.string(),
          }),
        }),
      ),
    });
    let doc: z.infer<typeof schema>;
    try {
      doc = schema.parse(JSON.parse(text));
    } catch {
      return fail('MALFORMED', 'wechat certificates answer');
    }
    const found = new Map<string, { key: KeyObject; expiresAt: number }>();
    for (const c of doc.data) {
      const pem = decryptResource(this.cfg.apiV3Key, c.encrypt_certificate);
      const expiresAt = parseRfc3339(c.expire_time);
      if (!pem || expiresAt === undefined) return fail('BAD_SIGNATURE', 'wechat certificate does not decrypt');
      let cert: X509Certificate;
      try {
        cert = new X509Certificate(pem);
      } catch {
        return fail('MALFORMED', 'wechat certificate');
      }
      // The serial in the list must be the certificate's own.
      if (cert.serialNumber.toUpperCase() !== c.serial_no.toUpperCase())
        return fail('MALFORMED', 'wechat certificate serial');
      found.set(c.serial_no, { key: cert.publicKey, expiresAt });
    }
    const serial = header({ headers, body: text }, 'Wechatpay-Serial') ?? '';
    const signer = this.keyFor(serial) ?? found.get(serial)?.key;
    if (!signer) return fail('UNKNOWN_KEY', 'wechat certificates answer');
    const v = this.verifyWith(headers, text, 'wechat certificates answer', signer);
    if (!v.ok) return v;
    for (const [sn, k] of found) this.keys.set(sn, { ...k, source: 'certificate' });
    this.certsFetchedAt = unixSeconds(this.clock);
    return ok(found.size);
  }

  /** Refreshes when due: on schedule, or when a downloaded certificate expires within a day. */
  async ensureFreshCertificates(): Promise<void> {
    if (!this.cfg.downloadCertificates) return;
    const now = unixSeconds(this.clock);
    const soon = [...this.keys.values()].some(
      (k) => k.source === 'certificate' && k.expiresAt !== undefined && k.expiresAt - now < 86_400,
    );
    if (now - this.certsFetchedAt >= this.cfg.certificateRefreshSeconds || (soon && now - this.certsFetchedAt >= 600)) {
      // A failed refresh keeps the keys we hold (still valid until they expire); the next call tries again.
      const r = await this.refreshCertificates();
      if (!r.ok) this.lastRefreshError = r.error;
    }
  }

  private verifyWith(
    headers: RawNotification['headers'],
    body: string,
    what: string,
    key: KeyObject,
  ): Result<void> {
    const raw = { headers, body };
    const ts = header(raw, 'Wechatpay-Timestamp') ?? '';
    const nonce = header(raw, 'Wechatpay-Nonce') ?? '';
    const sig = header(raw, 'Wechatpay-Signature') ?? '';
    if (!/^\d{1,12}$/.test(ts)) return fail('MALFORMED', `${what}: Wechatpay-Timestamp`);
    if (Math.abs(unixSeconds(this.clock) - Number(ts)) > WECHAT_SKEW_S) {
      return fail('STALE_NOTIFICATION', `${what}: timestamp ${ts}`);
    }
    if (!rsaVerify(key, wechatMessage([ts, nonce, body]), sig)) return fail('BAD_SIGNATURE', what);
    return ok(undefined);
  }

  /** Verifies timestamp window and signature with the platform key named by Wechatpay-Serial. */
  private async verifySigned(headers: RawNotification['headers'], body: string, what: string): Promise<Result<void>> {
    const raw = { headers, body };
    const ts = header(raw, 'Wechatpay-Timestamp');
    const nonce = header(raw, 'Wechatpay-Nonce');
    const sig = header(raw, 'Wechatpay-Signature');
    const serial = header(raw, 'Wechatpay-Serial');
    if (!ts || !nonce || !sig || !serial || !/^\d{1,12}$/.test(ts)) {
      return fail('MALFORMED', `${what}: Wechatpay-* headers missing`);
    }
    await this.ensureFreshCertificates();
    let key = this.keyFor(serial);
    if (!key && this.cfg.downloadCertificates && /^[0-9A-Fa-f]{8,40}$/.test(serial)) {
      // A certificate serial we have not seen: WeChat may have issued a new one. Ask once, at most
      // every 10 minutes, so a forger cannot make us fetch on every request.
      if (unixSeconds(this.clock) - this.certsFetchedAt >= 600) {
        const r = await this.refreshCertificates();
        if (!r.ok) this.lastRefreshError = r.error;
      }
      key = this.keyFor(serial);
    }
    if (!key) return fail('UNKNOWN_KEY', `${what}: serial ${serial.slice(0, 64)}`);
    return this.verifyWith(headers, body, what, key);
  }

  /** One signed call; the answer is returned as received (text and headers), not yet verified. */
  private async send(
    method: 'GET' | 'POST',
    path: string,
    payload?: unknown,
  ): Promise<Result<{ status: number; text: string; headers: Record<string, string>; bytes?: Buffer }>> {
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
    try {
      const res = await fetch(new URL(path, this.cfg.baseUrl), {
        method,
        headers: {
          authorization: auth,
          accept: 'application/json',
          ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: payload === undefined ? undefined : body,
        signal: AbortSignal.timeout(this.cfg.timeoutMs),
      });
      const bytes = Buffer.from(await res.arrayBuffer());
      return ok({ status: res.status, text: bytes.toString('utf8'), headers: Object.fromEntries(res.headers.entries()), bytes });
    } catch {
      return fail('CHANNEL_UNREACHABLE', `wechat pay ${path.split('?')[0]!.slice(0, 80)}`);
    }
  }

  private async request(
    method: 'GET' | 'POST',
    path: string,
    operation: string,
    payload?: unknown,
  ): Promise<Result<{ status: number; json: Record<string, unknown> | undefined }>> {
    const r = await this.send(method, path, payload);
    if (!r.ok) return r;
    const { status, text, headers } = r.value;
    // An error answered before the platform signs (429 FREQUENCY_LIMITED from the gateway, 401
    // SIGN_ERROR, 5xx) can come unsigned: it is still the channel's word, kept with its code; it
    // settles nothing, so believing it costs nothing.
    if (status >= 400 && !header({ headers, body: text }, 'Wechatpay-Signature')) {
      return WechatAdapter.error(operation, text, status);
    }
    // Every other answer is verified before it is believed.
    const v = await this.verifySigned(headers, text, `wechat pay ${operation} answer`);
    if (!v.ok) return v;
    let json: Record<string, unknown> | undefined;
    if (text) {
      try {
        json = JSON.parse(text) as Record<string, unknown>;
      } catch {
        return fail('MALFORMED', `wechat pay ${operation} answer`);
      }
    }
    return ok({ status, json });
  }

  private static error(operation: string, body: string | Record<string, unknown> | undefined, status: number): Result<never> {
    let json: Record<string, unknown> | undefined;
    if (typeof body === 'string') {
      try {
        json = JSON.parse(body) as Record<string, unknown>;
      } catch {
        json = undefined;
      }
    } else json = body;
    const code = typeof json?.code === 'string' ? json.code.slice(0, 64) : `HTTP_${status}`;
    const message = typeof json?.message === 'string' ? json.message.slice(0, 200) : undefined;
    return {
      ok: false,
      error: channelFailure({ channel: 'wechat', operation, code, httpStatus: status, ...(message ? { message } : {}) }),
    };
  }

  async createOrder(input: CreateOrderInput): Promise<Result<CreatedOrder>> {
    const r = await this.request('POST', '/v3/pay/transactions/native', 'order', {
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
      'query',
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
      'close',
      {
        mchid: this.cfg.mchid,
      },
    );
    if (!r.ok) return r;
    if (r.value.status === 204 || r.value.status === 200) return ok(undefined);
    return WechatAdapter.error('close', r.value.json, r.value.status);
  }


  /** What WeixinJSBridge.invoke('getBrandWCPayRequest', …) takes. */
  jsapiPayParams(prepayId: string): JsapiPayParams {
    const timeStamp = String(unixSeconds(this.clock));
    const nonceStr = randomToken(32);
    const pkg = `prepay_id=${prepayId}`;
    // paySign: SHA256withRSA over appId\ntimeStamp\nnonceStr\npackage\n (JSAPI调起支付).
    const paySign = rsaSign(this.merchantKey, wechatMessage([this.cfg.appid, timeStamp, nonceStr, pkg]));
    return { appId: this.cfg.appid, timeStamp, nonceStr, package: pkg, signType: 'RSA', paySign };
  }

  /** The OAuth2 snsapi_base authorize URL that comes back to `redirectUri` with ?code=…&state=…. */
  oauthUrl(redirectUri: string, state: string): string {
    const u = new URL('/connect/oauth2/authorize', this.cfg.oauthAuthorizeBase);
    u.searchParams.set('appid', this.cfg.appid);
    u.searchParams.set('redirect_uri', redirectUri);
    u.searchParams.set('response_type', 'code');
    u.searchParams.set('scope', 'snsapi_base');
    u.searchParams.set('state', state);
    return `${u.toString()}#wechat_redirect`;
  }

  get jsapiEnabled(): boolean {
    return this.cfg.appSecret !== undefined;
  }

  /** sns/oauth2/access_token: the code from the redirect → the payer's openid. */
  async openidFromCode(code: string): Promise<Result<string>> {
    if (!this.cfg.appSecret) return fail('MALFORMED', 'wechat appSecret is not configured');
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(code)) return fail('MALFORMED', 'oauth code');
    const u = new URL('/sns/oauth2/access_token', this.cfg.oauthApiBase);
    u.searchParams.set('appid', this.cfg.appid);
    u.searchParams.set('secret', this.cfg.appSecret);
    u.searchParams.set('code', code);
    u.searchParams.set('grant_type', 'authorization_code');
    let json: { openid?: unknown; errcode?: unknown; errmsg?: unknown };
    try {
      const res = await fetch(u, { signal: AbortSignal.timeout(this.cfg.timeoutMs) });
      json = (await res.json()) as typeof json;
    } catch {
      return fail('CHANNEL_UNREACHABLE', 'wechat oauth');
    }
    if (typeof json.openid === 'string' && /^[A-Za-z0-9_-]{1,128}$/.test(json.openid)) return ok(json.openid);
    return {
      ok: false,
      error: channelFailure({
        channel: 'wechat',
        operation: 'oauth',
        code: String(json.errcode ?? 'NO_OPENID').slice(0, 32),
        ...(typeof json.errmsg === 'string' ? { message: json.errmsg.slice(0, 200) } : {}),
      }),
    };
  }

  /** /v3/pay/transactions/jsapi: the prepay_id for a payer known by openid. */
  async createJsapiOrder(input: CreateOrderInput & { openid: string }): Promise<Result<{ prepayId: string }>> {
    const r = await this.request('POST', '/v3/pay/transactions/jsapi', 'jsapi order', {
      appid: this.cfg.appid,
      mchid: this.cfg.mchid,
      description: input.subject.slice(0, 40),
      out_trade_no: input.outTradeNo,
      time_expire: rfc3339Shanghai(input.expiresAt),
      notify_url: input.notifyUrl ?? this.notifyUrl,
      amount: { total: input.amountFen, currency: 'CNY' },
      payer: { openid: input.openid },
    });
    if (!r.ok) return r;
    const id = r.value.json?.prepay_id;
    if (r.value.status !== 200 || typeof id !== 'string') return WechatAdapter.error('jsapi order', r.value.json, r.value.status);
    return ok({ prepayId: id });
  }

  /** /v3/refund/domestic/refunds: idempotent by out_refund_no. */
  async refund(input: RefundInput): Promise<Result<ChannelRefund>> {
    const r = await this.request('POST', '/v3/refund/domestic/refunds', 'refund', {
      out_trade_no: input.outTradeNo,
      out_refund_no: input.outRefundNo,
      reason: input.reason.slice(0, 80),
      notify_url: input.notifyUrl ?? this.refundNotifyUrl(),
      amount: { refund: input.amountFen, total: input.totalFen, currency: 'CNY' },
    });
    if (!r.ok) return r;
    if (r.value.status !== 200) return WechatAdapter.error('refund', r.value.json, r.value.status);
    return this.fromRefund(r.value.json, 'refund');
  }

  async refundQuery(_outTradeNo: string, outRefundNo: string): Promise<Result<ChannelRefund>> {
    const r = await this.request('GET', `/v3/refund/domestic/refunds/${encodeURIComponent(outRefundNo)}`, 'refund query');
    if (!r.ok) return r;
    if (r.value.status === 404) return ok({ outRefundNo, amountFen: 0, status: 'notfound' });
    if (r.value.status !== 200) return WechatAdapter.error('refund query', r.value.json, r.value.status);
    return this.fromRefund(r.value.json, 'refund query');
  }

  private refundNotifyUrl(): string {
    return this.notifyUrl.replace(/\/?$/, '/refund');
  }

  private fromRefund(json: unknown, what: string): Result<ChannelRefund> {
    const schema = z.object({
      out_refund_no: z.string(),
      refund_id: z.string().optional(),
      out_trade_no: z.string().optional(),
      mchid: z.string().optional(),
      status: z.string().optional(),
      refund_status: z.string().optional(),
      success_time: z.string().optional(),
      amount: z.object({ refund: z.number().int().nonnegative() }),
    });
    const p = schema.safeParse(json);
    if (!p.success) return fail('MALFORMED', `wechat ${what}: unexpected refund`);
    if (p.data.mchid !== undefined && p.data.mchid !== this.cfg.mchid) return fail('WRONG_MERCHANT', `mchid ${p.data.mchid}`);
    const st = p.data.status ?? p.data.refund_status ?? '';
    const status: RefundStatus =
      st === 'SUCCESS' ? 'success' : st === 'CLOSED' ? 'closed' : st === 'ABNORMAL' ? 'abnormal' : 'processing';
    const doneAt = parseRfc3339(p.data.success_time ?? '');
    return ok({
      outRefundNo: p.data.out_refund_no,
      amountFen: p.data.amount.refund,
      status,
      ...(p.data.refund_id ? { refundId: p.data.refund_id } : {}),
      ...(p.data.out_trade_no ? { outTradeNo: p.data.out_trade_no } : {}),
      ...(status === 'success' && doneAt !== undefined ? { doneAt } : {}),
    });
  }

  /** REFUND.SUCCESS / REFUND.ABNORMAL / REFUND.CLOSED: verified like a payment notification, resource decrypted. */
  async verifyRefundNotification(raw: RawNotification): Promise<Result<ChannelRefund>> {
    if (raw.body.length > 16_384) return fail('TOO_LARGE');
    const v = await this.verifySigned(raw.headers, raw.body, 'wechat refund notification');
    if (!v.ok) return v;
    let doc: unknown;
    try {
      doc = JSON.parse(raw.body);
    } catch {
      return fail('MALFORMED', 'wechat refund notification: not JSON');
    }
    const n = notificationSchema.safeParse(doc);
    if (!n.success || !n.data.event_type.startsWith('REFUND.')) return fail('MALFORMED', 'wechat refund notification');
    const plain = decryptResource(this.cfg.apiV3Key, n.data.resource);
    if (plain === undefined) return fail('BAD_SIGNATURE', 'wechat refund notification: resource does not decrypt');
    let body: unknown;
    try {
      body = JSON.parse(plain);
    } catch {
      return fail('MALFORMED', 'wechat refund notification: resource is not JSON');
    }
    if ((body as { mchid?: unknown }).mchid !== this.cfg.mchid) return fail('WRONG_MERCHANT', 'wechat refund notification');
    return this.fromRefund(body, 'refund notification');
  }

  /** /v3/bill/tradebill (bill_type ALL, gzip), then the file at download_url, checked against hash_value (SHA1). */
  async statement(date: string): Promise<Result<StatementRow[]>> {
    const r = await this.request('GET', `/v3/bill/tradebill?bill_date=${encodeURIComponent(date)}&bill_type=ALL&tar_type=GZIP`, 'statement');
    if (!r.ok) return r;
    if (r.value.status !== 200) return WechatAdapter.error('statement', r.value.json, r.value.status);
    const url = r.value.json?.download_url;
    const hash = r.value.json?.hash_value;
    if (typeof url !== 'string' || typeof hash !== 'string') return fail('MALFORMED', 'wechat statement answer');
    const u = new URL(url);
    const base = new URL(this.cfg.baseUrl);
    // The download is signed like any call, so it goes only to the gateway's own host.
    if (u.host !== base.host) return fail('MALFORMED', 'wechat statement download_url host');
    const f = await this.send('GET', `${u.pathname}${u.search}`);
    if (!f.ok) return f;
    if (f.value.status !== 200 || !f.value.bytes) return WechatAdapter.error('statement download', f.value.text, f.value.status);
    let csv: Buffer;
    try {
      csv = gunzipSync(f.value.bytes);
    } catch {
      return fail('MALFORMED', 'wechat statement is not gzip');
    }
    const { createHash } = await import('node:crypto');
    if (createHash('sha1').update(csv).digest('hex').toLowerCase() !== hash.toLowerCase())
      return fail('BAD_SIGNATURE', 'wechat statement hash');
    return parseWechatStatement(csv.toString('utf8'));
  }

  async verifyNotification(raw: RawNotification): Promise<Result<ChannelPayment>> {
    if (raw.body.length > 16_384) return fail('TOO_LARGE');
    const v = await this.verifySigned(raw.headers, raw.body, 'wechat notification');
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
