// A local stand-in for both payment gateways, for the demo and the tests. It generates its own keys
// (Alipay's and WeChat's platform keys, the APIv3 key, and the merchant keys it hands to the hub),
// checks the hub's request signatures, answers precreate/query/close and the v3 Native calls, and has
// a page and an API to pay, fail or abandon an order, sending properly signed notifications (and
// duplicates, or held ones delivered late, on request).
import { createHash, generateKeyPairSync, randomInt, type KeyObject } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { zipSync } from 'fflate';
import iconv from 'iconv-lite';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Channel } from '../../protocol/ids.ts';
import { formatFen } from '../../protocol/money.ts';
import { systemClock, unixSeconds, type Clock } from '../../protocol/time.ts';
import {
  ALIPAY_OUT_NO_RE,
  alipayResponseNode,
  alipaySignContent,
  decodeForm,
  signAlipayNotification,
  verifyInCharset,
  type AlipayConfig,
} from './alipay.ts';
import { encryptResource, wechatMessage, wechatSignedHeaders, type WechatConfig } from './wechat.ts';
import { ALIPAY_COLUMNS, WECHAT_COLUMNS } from './statements.ts';
import {
  fenToYuan,
  parseRfc3339,
  parseShanghaiTimestamp,
  privateKey,
  publicKey,
  randomToken,
  rfc3339Shanghai,
  rsaSign,
  rsaVerify,
  shanghaiTimestamp,
  yuanToFen,
} from './util.ts';

interface RsaPair {
  privateKeyPem: string;
  publicKeyPem: string;
}

export interface SimulatorKeys {
  alipayApp: RsaPair;
  alipayPlatform: RsaPair;
  wechatMerchant: RsaPair;
  /** Platform certificate 1 (the older one, expiring first). */
  wechatPlatform: RsaPair;
  /** Platform certificate 2 (its successor). */
  wechatPlatform2: RsaPair;
  /** The WeChat Pay public key (PUB_KEY_ID_…). */
  wechatPubKey: RsaPair;
  apiV3Key: string;
}

export function generateSimulatorKeys(): SimulatorKeys {
  const pair = (): RsaPair => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    return {
      privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    };
  };
  return {
    alipayApp: pair(),
    alipayPlatform: pair(),
    wechatMerchant: pair(),
    wechatPlatform: pair(),
    wechatPlatform2: pair(),
    wechatPubKey: pair(),
    apiV3Key: randomToken(32),
  };
}

export const SIM_ALIPAY_APP_ID = '2021000000000001';
export const SIM_WECHAT_MCHID = '1900000001';
export const SIM_WECHAT_APPID = 'wx0000000000000001';
export const SIM_MERCHANT_SERIAL = '5157F09EFDC096DE15EBE81A47057A7232F1B8E1';
export const SIM_PLATFORM_SERIAL = 'PUB_KEY_ID_0000000000000000000000000001';
export const SIM_CERT_SERIALS = ['3D5E8A1F0C2B4D6E8F0A1B2C3D4E5F60718293A4', '4E6F9B2A1D3C5E7F9A1B2C3D4E5F60718293A4B5'];
export const SIM_WECHAT_APP_SECRET = 'sim0app0secret0000000000000000ab';

/** Which WeChat platform key signs answers and notifications. */
export type WechatSigner = 'pubkey' | 'cert1' | 'cert2';

export interface SimRefund {
  channel: Channel;
  outTradeNo: string;
  outRefundNo: string;
  refundId: string;
  amountFen: number;
  at: number;
  notifyUrl?: string;
}

export type SimOrderState = 'open' | 'paid' | 'closed' | 'failed';

export interface SimOrder {
  channel: Channel;
  outTradeNo: string;
  amountFen: number;
  subject: string;
  expiresAt: number;
  notifyUrl: string;
  state: SimOrderState;
  /** Alipay knows a precreated order only once the payer has scanned it. */
  scanned: boolean;
  txnId?: string;
  paidAt?: number;
  /** Alipay: the charset the precreate declared in the URL (GBK when it declared none). */
  charset?: string;
  /** WeChat: NATIVE or JSAPI (with the payer's openid). */
  tradeType?: 'NATIVE' | 'JSAPI';
  openid?: string;
  prepayId?: string;
}

export interface Delivery {
  channel: Channel;
  outTradeNo: string;
  status: number;
  body: string;
}

export interface PayOptions {
  /** now (default), hold (kept until deliverHeld: a late notification), none (lost for good). */
  notify?: 'now' | 'hold' | 'none';
  /** Extra copies of the notification sent after the first. */
  duplicates?: number;
}

export interface BuiltNotification {
  url: string;
  headers: Record<string, string>;
  body: string;
}

const payOptionsSchema = z.object({
  notify: z.enum(['now', 'hold', 'none']).optional(),
  duplicates: z.number().int().min(0).max(10).optional(),
});

export interface SimulatorOptions {
  clock?: Clock;
  keys?: SimulatorKeys;
  host?: string;
  /**
   * The one-machine demo: serve GET /sim/api/config, which hands out the simulated merchants' private
   * keys and the APIv3 key (they are the simulator's own throwaway keys). Off by default.
   */
  demo?: boolean;
}

function digits(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String(randomInt(10));
  return s;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export class ChannelSimulator {
  readonly keys: SimulatorKeys;
  readonly clock: Clock;
  readonly orders = new Map<string, SimOrder>();
  readonly deliveries: Delivery[] = [];
  readonly refunds = new Map<string, SimRefund>();
  /** Every request the gateway received (method, url, the common params) for tests to inspect. */
  readonly requests: { method: string; url: string; params: Record<string, string> }[] = [];
  /** Which key signs WeChat answers and notifications now. */
  wechatSigner: WechatSigner = 'pubkey';
  /** Expiry (Unix seconds) of the two platform certificates. */
  certExpires: [number, number] = [0, 0];
  /** Lets a test spoil a day's statement (drop, add or change rows) before it is served. */
  statementHook?: (channel: Channel, rows: SimStatementRow[]) => SimStatementRow[];
  /** Set to make the channel slow or refuse: called before each gateway call. */
  gatewayHook?: (channel: Channel, what: string) => Promise<void> | void;
  /**
   * Alipay: when it returns true for a method, the gateway does the call and then cuts the connection
   * instead of answering (an answer lost on the way back).
   */
  dropAnswer?: (method: string) => boolean;
  /** Alipay sends a refund notice to the trade's notify_url after each refund; false loses them. */
  alipayRefundNotices = true;
  private certPems: [string, string] = ['', ''];
  private readonly oauthCodes = new Map<string, string>();
  private held: SimOrder[] = [];
  private readonly app: FastifyInstance;
  private readonly alipayPlatformKey: KeyObject;
  private readonly wechatKeys: Record<WechatSigner, KeyObject>;
  private readonly alipayAppPublic: KeyObject;
  private readonly wechatMerchantPublic: KeyObject;
  private base = '';

  constructor(private readonly opts: SimulatorOptions = {}) {
    this.keys = opts.keys ?? generateSimulatorKeys();
    this.clock = opts.clock ?? systemClock;
    this.alipayPlatformKey = privateKeyOf(this.keys.alipayPlatform);
    this.wechatKeys = {
      pubkey: privateKeyOf(this.keys.wechatPubKey),
      cert1: privateKeyOf(this.keys.wechatPlatform),
      cert2: privateKeyOf(this.keys.wechatPlatform2),
    };
    const now = unixSeconds(this.clock);
    this.certExpires = [now + 3 * 86_400, now + 5 * 365 * 86_400];
    this.certPems = [
      selfSignedCertificate(this.keys.wechatPlatform.privateKeyPem, SIM_CERT_SERIALS[0]!),
      selfSignedCertificate(this.keys.wechatPlatform2.privateKeyPem, SIM_CERT_SERIALS[1]!),
    ];
    this.alipayAppPublic = publicKey(this.keys.alipayApp.publicKeyPem);
    this.wechatMerchantPublic = publicKey(this.keys.wechatMerchant.publicKeyPem);
    this.app = Fastify({ logger: false, bodyLimit: 64 * 1024 });
    // Keep bodies raw: both protocols sign exact bytes.
    this.app.removeAllContentTypeParsers();
    this.app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    this.routes();
  }

  get baseUrl(): string {
    return this.base;
  }

  /** The serial WeChat puts in Wechatpay-Serial for the current signer. */
  wechatSerial(which: WechatSigner = this.wechatSigner): string {
    return which === 'pubkey' ? SIM_PLATFORM_SERIAL : SIM_CERT_SERIALS[which === 'cert1' ? 0 : 1]!;
  }

  wechatSigningKey(which: WechatSigner = this.wechatSigner): KeyObject {
    return this.wechatKeys[which];
  }

  async start(port = 0): Promise<string> {
    const host = this.opts.host ?? '127.0.0.1';
    await this.app.listen({ port, host });
    const addr = this.app.server.address();
    const p = typeof addr === 'object' && addr ? addr.port : port;
    this.base = `http://${host}:${p}`;
    return this.base;
  }

  async close(): Promise<void> {
    await this.app.close();
    await this.whenDelivered();
  }

  /** What the hub's config needs to talk to this simulator as if it were the real gateways. */
  /**
   * The hub's channel configuration for this simulator. `jsapi` adds the AppSecret of the simulated
   * OAuth2 (snsapi_base), so the pay page opened inside WeChat pays by JSAPI, as the real one must.
   */
  hubConfig(opts: { jsapi?: boolean } = {}): { alipay: AlipayConfig; wechat: WechatConfig } {
    return {
      alipay: {
        gateway: `${this.base}/gateway.do`,
        appId: SIM_ALIPAY_APP_ID,
        appPrivateKeyPem: this.keys.alipayApp.privateKeyPem,
        alipayPublicKeyPem: this.keys.alipayPlatform.publicKeyPem,
      },
      wechat: {
        baseUrl: this.base,
        mchid: SIM_WECHAT_MCHID,
        appid: SIM_WECHAT_APPID,
        merchantSerial: SIM_MERCHANT_SERIAL,
        merchantPrivateKeyPem: this.keys.wechatMerchant.privateKeyPem,
        platformKeys: [{ serial: SIM_PLATFORM_SERIAL, publicKeyPem: this.keys.wechatPubKey.publicKeyPem }],
        downloadCertificates: true,
        apiV3Key: this.keys.apiV3Key,
        oauthApiBase: this.base,
        oauthAuthorizeBase: this.base,
        // JSAPI inside WeChat needs the AppSecret.
        ...(opts.jsapi ? { appSecret: SIM_WECHAT_APP_SECRET } : {}),
      },
    };
  }

  order(channel: Channel, outTradeNo: string): SimOrder | undefined {
    return this.orders.get(`${channel}:${outTradeNo}`);
  }

  private now(): number {
    return unixSeconds(this.clock);
  }

  /** The state the channel would report now (an unpaid order past time_expire is closed). */
  private effectiveState(o: SimOrder): SimOrderState {
    if ((o.state === 'open' || o.state === 'failed') && this.now() >= o.expiresAt) o.state = 'closed';
    return o.state;
  }

  payUrl(o: SimOrder): string {
    return `${this.base}/sim/pay/${o.channel}/${encodeURIComponent(o.outTradeNo)}`;
  }

  // ---- payer actions ----

  async pay(
    channel: Channel,
    outTradeNo: string,
    options: PayOptions = {},
  ): Promise<{ ok: boolean; reason?: string; txnId?: string; deliveries: Delivery[] }> {
    const o = this.order(channel, outTradeNo);
    if (!o) return { ok: false, reason: 'no such order', deliveries: [] };
    o.scanned = true;
    const state = this.effectiveState(o);
    if (state === 'paid') return { ok: false, reason: 'already paid', deliveries: [] };
    if (state === 'closed') return { ok: false, reason: 'order closed or expired', deliveries: [] };
    o.state = 'paid';
    o.paidAt = this.now();
    o.txnId =
      channel === 'alipay'
        ? `${shanghaiTimestamp(o.paidAt).slice(0, 10).replace(/-/g, '')}22001${digits(15)}`
        : `4200${digits(24)}`;
    const notify = options.notify ?? 'now';
    const deliveries: Delivery[] = [];
    if (notify === 'hold') this.held.push(o);
    if (notify === 'now') {
      for (let i = 0; i <= (options.duplicates ?? 0); i++) deliveries.push(await this.deliver(o));
    }
    return { ok: true, txnId: o.txnId, deliveries };
  }

  /**
   * WeChat's client answering WeixinJSBridge.invoke('getBrandWCPayRequest', params): checks the appId,
   * signType RSA and the paySign (SHA256withRSA over appId\ntimeStamp\nnonceStr\npackage\n with the
   * merchant key, JSAPI调起支付), finds the JSAPI order by its prepay_id and pays it. Answers the err_msg
   * the page's callback receives.
   */
  async payJsapi(params: Record<string, unknown>, options: PayOptions = {}): Promise<{ err_msg: string; outTradeNo?: string }> {
    const failMsg = { err_msg: 'get_brand_wcpay_request:fail' };
    const str = (k: string): string => (typeof params[k] === 'string' ? (params[k] as string) : '');
    if (str('appId') !== SIM_WECHAT_APPID || str('signType') !== 'RSA') return failMsg;
    const msg = wechatMessage([str('appId'), str('timeStamp'), str('nonceStr'), str('package')]);
    if (!rsaVerify(this.wechatMerchantPublic, msg, str('paySign'))) return failMsg;
    const prepayId = /^prepay_id=(.+)$/.exec(str('package'))?.[1];
    const o = [...this.orders.values()].find((x) => x.channel === 'wechat' && x.tradeType === 'JSAPI' && x.prepayId === prepayId);
    if (!prepayId || !o) return failMsg;
    const r = await this.pay('wechat', o.outTradeNo, options);
    return r.ok ? { err_msg: 'get_brand_wcpay_request:ok', outTradeNo: o.outTradeNo } : failMsg;
  }

  fail(channel: Channel, outTradeNo: string): boolean {
    const o = this.order(channel, outTradeNo);
    if (!o || this.effectiveState(o) !== 'open') return false;
    o.scanned = true;
    // A failed attempt (insufficient balance...): WeChat reports PAYERROR, Alipay keeps waiting.
    if (channel === 'wechat') o.state = 'failed';
    return true;
  }

  abandon(channel: Channel, outTradeNo: string): boolean {
    const o = this.order(channel, outTradeNo);
    if (!o) return false;
    o.scanned = true; // looked at it, walked away: the order stays open until it expires
    return true;
  }

  /** Sends the notifications that were held back (late ones), freshly signed as a retry would be. */
  async deliverHeld(): Promise<Delivery[]> {
    const held = this.held;
    this.held = [];
    const out: Delivery[] = [];
    for (const o of held) out.push(await this.deliver(o));
    return out;
  }

  /** A signed notification for an order as the channel would send it; `tamper` lets tests forge one. */
  buildNotification(o: SimOrder, tamper: NotificationTamper = {}): BuiltNotification {
    return o.channel === 'alipay' ? this.buildAlipay(o, tamper) : this.buildWechat(o, tamper);
  }

  private buildAlipay(o: SimOrder, t: NotificationTamper): BuiltNotification {
    const now = this.now();
    const charset = t.charset ?? o.charset ?? 'GBK';
    const yuan = fenToYuan(t.amountFen ?? o.amountFen);
    // The fields of a real trade_status_sync (异步通知参数), values with spaces, '+' and Chinese.
    const params: Record<string, string> = {
      gmt_create: shanghaiTimestamp(o.paidAt ?? now),
      charset,
      seller_email: 'fines+pay@example.gov.cn',
      subject: o.subject,
      body: '交通违法罚款 A+B 缴纳',
      buyer_id: '2088102177846880',
      invoice_amount: yuan,
      notify_id: `2026112000222${digits(20)}`,
      fund_bill_list: JSON.stringify([{ amount: yuan, fundChannel: 'ALIPAYACCOUNT' }]),
      notify_type: 'trade_status_sync',
      trade_status: t.status ?? 'TRADE_SUCCESS',
      receipt_amount: yuan,
      buyer_pay_amount: yuan,
      app_id: t.appId ?? SIM_ALIPAY_APP_ID,
      sign_type: 'RSA2',
      seller_id: '2088000000000001',
      gmt_payment: shanghaiTimestamp(o.paidAt ?? now),
      notify_time: shanghaiTimestamp(now),
      version: '1.0',
      out_trade_no: o.outTradeNo,
      total_amount: yuan,
      trade_no: o.txnId ?? '',
      auth_app_id: t.appId ?? SIM_ALIPAY_APP_ID,
      buyer_logon_id: '159****5620',
      point_amount: '0.00',
    };
    if (t.alipayRefund) {
      const full = t.alipayRefund.refundedFen >= o.amountFen;
      params.notify_id = `2026112100222${digits(20)}`;
      params.out_biz_no = t.alipayRefund.outBizNo;
      params.refund_fee = fenToYuan(t.alipayRefund.refundedFen);
      params.gmt_refund = `${shanghaiTimestamp(t.alipayRefund.at)}.${String(randomInt(1000)).padStart(3, '0')}`;
      // Refunded in full, the trade is closed.
      params.trade_status = t.status ?? (full ? 'TRADE_CLOSED' : 'TRADE_SUCCESS');
      if (full) params.gmt_close = shanghaiTimestamp(t.alipayRefund.at);
    }
    const key = t.signingKeyPem ? privateKeyOf({ privateKeyPem: t.signingKeyPem }) : this.alipayPlatformKey;
    params.sign = signAlipayNotification(params, key, charset);
    if (t.afterSign) t.afterSign(params);
    return {
      url: o.notifyUrl,
      headers: { 'content-type': `application/x-www-form-urlencoded; charset=${charset}` },
      body: encodeForm(params, charset),
    };
  }

  private buildWechat(o: SimOrder, t: NotificationTamper): BuiltNotification {
    const now = this.now();
    const transaction = {
      appid: SIM_WECHAT_APPID,
      mchid: t.mchid ?? SIM_WECHAT_MCHID,
      out_trade_no: o.outTradeNo,
      transaction_id: o.txnId,
      trade_type: o.tradeType ?? 'NATIVE',
      trade_state: t.status ?? 'SUCCESS',
      trade_state_desc: '支付成功',
      bank_type: 'OTHERS',
      success_time: rfc3339Shanghai(o.paidAt ?? now),
      payer: { openid: o.openid ?? 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' },
      amount: {
        total: t.amountFen ?? o.amountFen,
        payer_total: t.amountFen ?? o.amountFen,
        currency: 'CNY',
        payer_currency: 'CNY',
      },
    };
    const resource = encryptResource(t.apiV3Key ?? this.keys.apiV3Key, JSON.stringify(transaction));
    if (t.tamperCiphertext) {
      const b = Buffer.from(resource.ciphertext, 'base64');
      b[0] = b[0]! ^ 1;
      resource.ciphertext = b.toString('base64');
    }
    const body = JSON.stringify({
      id: randomToken(16),
      create_time: rfc3339Shanghai(now),
      resource_type: 'encrypt-resource',
      event_type: 'TRANSACTION.SUCCESS',
      summary: '支付成功',
      resource,
    });
    const key = t.signingKeyPem ? privateKeyOf({ privateKeyPem: t.signingKeyPem }) : this.wechatSigningKey();
    const headers = {
      'content-type': 'application/json',
      ...wechatSignedHeaders(body, key, t.serial ?? this.wechatSerial(), now + (t.timestampOffset ?? 0)),
    };
    return { url: o.notifyUrl, headers, body };
  }

  private async deliver(o: SimOrder): Promise<Delivery> {
    const n = this.buildNotification(o);
    let d: Delivery;
    try {
      const res = await fetch(n.url, {
        method: 'POST',
        headers: n.headers,
        body: n.body,
        signal: AbortSignal.timeout(10_000),
      });
      d = { channel: o.channel, outTradeNo: o.outTradeNo, status: res.status, body: await res.text() };
    } catch (e) {
      d = { channel: o.channel, outTradeNo: o.outTradeNo, status: 0, body: (e as Error).message };
    }
    this.deliveries.push(d);
    return d;
  }

  // ---- wire protocols ----

  /**
   * The simulator's control and page routes (/sim/...) answer only requests addressed to it (Host) and,
   * from a browser, only its own pages (Origin): a web page elsewhere cannot pay, fail or read orders, and
   * DNS rebinding gets nothing. On a non-loopback address the Host check is left to the network.
   */
  private guardControl(): void {
    this.app.addHook('onRequest', async (req, reply) => {
      if (!req.url.startsWith('/sim/')) return;
      const host = req.headers.host ?? '';
      const port = this.base.slice(this.base.lastIndexOf(':') + 1);
      const loopback = ['127.0.0.1', 'localhost', '::1'].includes(this.opts.host ?? '127.0.0.1');
      const own = [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`];
      if (loopback && !own.includes(host)) return reply.code(403).send({ error: 'foreign Host' });
      const origin = req.headers.origin;
      if (origin !== undefined && origin !== `http://${host}`)
        return reply.code(403).send({ error: 'foreign Origin' });
    });
  }

  private routes(): void {
    this.guardControl();
    this.app.post('/gateway.do', (req, reply) => this.alipayGateway(req, reply));
    this.app.post('/v3/pay/transactions/native', (req, reply) => this.wechatNative(req, reply, 'NATIVE'));
    this.app.post('/v3/pay/transactions/jsapi', (req, reply) => this.wechatNative(req, reply, 'JSAPI'));
    this.app.post('/v3/refund/domestic/refunds', (req, reply) => this.wechatRefund(req, reply));
    this.app.get('/v3/refund/domestic/refunds/:no', (req, reply) => this.wechatRefundQuery(req, reply));
    this.app.get('/v3/certificates', (req, reply) => this.wechatCertificates(req, reply));
    this.app.get('/v3/bill/tradebill', (req, reply) => this.wechatTradebill(req, reply));
    this.app.get('/v3/billdownload/file', (req, reply) => this.wechatBillFile(req, reply));
    this.app.get('/sim/bill/alipay/:file', (req, reply) => {
      const file = (req.params as { file: string }).file;
      const m = /^(\d{4}-\d{2}-\d{2})\.zip$/.exec(file);
      if (!m) return reply.code(404).send();
      return reply.type('application/zip').send(Buffer.from(alipayStatementZip(this.statementRows('alipay', m[1]!), m[1]!)));
    });
    // OAuth2 as WeChat's browser sees it: authorize redirects back with a code; the code gives the openid.
    this.app.get('/connect/oauth2/authorize', (req, reply) => {
      const q = req.query as Record<string, string | undefined>;
      if (q.appid !== SIM_WECHAT_APPID || q.scope !== 'snsapi_base' || q.response_type !== 'code' || !q.redirect_uri) {
        return reply.code(400).send('bad oauth request');
      }
      const code = randomToken(24);
      this.oauthCodes.set(code, `oSim${randomToken(24)}`);
      const back = new URL(q.redirect_uri);
      back.searchParams.set('code', code);
      if (q.state) back.searchParams.set('state', q.state);
      return reply.redirect(back.toString(), 302);
    });
    this.app.get('/sns/oauth2/access_token', async (req) => {
      const q = req.query as Record<string, string | undefined>;
      if (q.appid !== SIM_WECHAT_APPID || q.secret !== SIM_WECHAT_APP_SECRET) return { errcode: 40125, errmsg: 'invalid appsecret' };
      const openid = q.code ? this.oauthCodes.get(q.code) : undefined;
      if (!openid || q.grant_type !== 'authorization_code') return { errcode: 40029, errmsg: 'invalid code' };
      this.oauthCodes.delete(q.code!); // a code is good once
      return { access_token: randomToken(32), expires_in: 7200, refresh_token: randomToken(32), openid, scope: 'snsapi_base' };
    });
    this.app.get('/v3/pay/transactions/out-trade-no/:otn', (req, reply) => this.wechatQuery(req, reply));
    this.app.post('/v3/pay/transactions/out-trade-no/:otn/close', (req, reply) =>
      this.wechatClose(req, reply),
    );

    this.app.get('/sim/pay/:channel/:otn', (req, reply) => {
      const o = this.findFromParams(req);
      if (!o) return reply.code(404).type('text/html').send('<h1>No such order</h1>');
      o.scanned = true;
      return reply.type('text/html; charset=utf-8').send(this.page(o));
    });
    this.app.post('/sim/pay/:channel/:otn/:action', async (req, reply) => {
      const o = this.findFromParams(req);
      const action = (req.params as { action: string }).action;
      if (!o) return reply.code(404).send('no such order');
      if (action === 'pay') await this.pay(o.channel, o.outTradeNo);
      else if (action === 'fail') this.fail(o.channel, o.outTradeNo);
      else this.abandon(o.channel, o.outTradeNo);
      return reply.redirect(this.payUrl(o).slice(this.base.length), 303);
    });

    this.app.get('/sim/api/orders', async () =>
      [...this.orders.values()].map((o) => ({ ...o, state: this.effectiveState(o) })),
    );
    if (this.opts.demo) {
      this.app.get('/sim/api/config', async () => ({
        demoOnly: true,
        note: "DEMO ONLY: the channel simulator's own throwaway keys, including private keys; never real merchant keys",
        noteZh: '仅用于演示：渠道模拟器自带的一次性密钥（含私钥），绝非真实商户密钥',
        ...this.hubConfig(),
      }));
    }
    this.app.post('/sim/api/orders/:channel/:otn/:action', async (req, reply) => {
      const o = this.findFromParams(req);
      if (!o) return reply.code(404).send({ error: 'no such order' });
      const action = (req.params as { action: string }).action;
      if (action === 'pay') {
        const body = typeof req.body === 'string' && req.body ? (JSON.parse(req.body) as unknown) : {};
        const p = payOptionsSchema.safeParse(body);
        if (!p.success) return reply.code(400).send({ error: 'bad options' });
        const r = await this.pay(o.channel, o.outTradeNo, p.data);
        return reply.code(r.ok ? 200 : 409).send(r);
      }
      if (action === 'fail') return { ok: this.fail(o.channel, o.outTradeNo) };
      if (action === 'abandon') return { ok: this.abandon(o.channel, o.outTradeNo) };
      return reply.code(404).send({ error: 'unknown action' });
    });
    this.app.post('/sim/api/deliver-held', async () => this.deliverHeld());
  }

  private findFromParams(req: FastifyRequest): SimOrder | undefined {
    const p = req.params as { channel: string; otn: string };
    if (p.channel !== 'alipay' && p.channel !== 'wechat') return undefined;
    return this.order(p.channel, p.otn);
  }

  private page(o: SimOrder): string {
    const state = this.effectiveState(o);
    const name = o.channel === 'alipay' ? '支付宝 Alipay' : '微信支付 WeChat Pay';
    const action = (a: string, label: string): string =>
      `<form method="post" action="/sim/pay/${o.channel}/${encodeURIComponent(o.outTradeNo)}/${a}"><button name="go" value="${a}" type="submit">${label}</button></form>`;
    const buttons =
      state === 'open' || state === 'failed'
        ? action('pay', '确认付款 Pay') + action('fail', '付款失败 Fail') + action('abandon', '放弃 Abandon')
        : '';
    return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${name} (simulator)</title><style>body{font-family:sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem}button{display:block;width:100%;margin:.5rem 0;padding:1rem;font-size:1.1rem}</style></head>
<body><h1>${name}</h1><p>模拟器 Simulator</p><p>${esc(o.subject)}</p><p style="font-size:2rem">${formatFen(o.amountFen)}</p>
<p>订单 Order: <code>${esc(o.outTradeNo)}</code></p><p id="state" data-state="${state}">状态 State: ${state}</p>${buttons}</body></html>`;
  }

  private alipayReply(reply: FastifyReply, method: string, node: Record<string, unknown>): FastifyReply {
    if (this.dropAnswer?.(method)) {
      reply.hijack();
      reply.raw.destroy();
      return reply;
    }
    const text = JSON.stringify(node);
    const sign = rsaSign(this.alipayPlatformKey, text);
    return reply
      .type('application/json; charset=utf-8')
      .send(`{"${alipayResponseNode(method)}":${text},"sign":"${sign}"}`);
  }

  private async alipayGateway(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    // As the real gateway: common parameters from the URL's query; the body decoded in the charset the
    // URL declares, GBK when it declares none (开放平台 公共请求参数).
    const query: Record<string, string> = {};
    for (const [k, v] of new URL(req.url, 'http://gateway').searchParams) query[k] = v;
    const charset = query.charset ?? 'GBK';
    const form = decodeForm(typeof req.body === 'string' ? req.body : '', charset);
    const params: Record<string, string> = { ...(form.ok ? form.value : {}), ...query };
    const method = params.method ?? '';
    this.requests.push({ method: 'POST', url: req.url, params });
    await this.gatewayHook?.('alipay', method);
    if (!form.ok) {
      return this.alipayReply(reply, method, { code: '40002', msg: 'Invalid Arguments', sub_code: 'isv.invalid-parameter' });
    }
    if (params.app_id !== SIM_ALIPAY_APP_ID) {
      return this.alipayReply(reply, method, {
        code: '40002',
        msg: 'Invalid Arguments',
        sub_code: 'isv.invalid-app-id',
        sub_msg: '无效的AppID参数',
      });
    }
    if (
      params.sign_type !== 'RSA2' ||
      !verifyInCharset(this.alipayAppPublic, alipaySignContent(params, ['sign']), params.sign ?? '', charset)
    ) {
      return this.alipayReply(reply, method, {
        code: '40002',
        msg: 'Invalid Arguments',
        sub_code: 'isv.invalid-signature',
        sub_msg: '验签出错',
      });
    }
    let biz: Record<string, unknown>;
    try {
      biz = JSON.parse(params.biz_content ?? '{}') as Record<string, unknown>;
    } catch {
      return this.alipayReply(reply, method, {
        code: '40002',
        msg: 'Invalid Arguments',
        sub_code: 'isv.invalid-parameter',
      });
    }
    const otn = String(biz.out_trade_no ?? '');
    const notExist = {
      code: '40004',
      msg: 'Business Failed',
      sub_code: 'ACQ.TRADE_NOT_EXIST',
      sub_msg: '交易不存在',
    };
    const o = this.order('alipay', otn);
    if (method === 'alipay.trade.precreate') {
      const amountFen = yuanToFen(String(biz.total_amount ?? ''));
      const expiresAt = parseShanghaiTimestamp(String(biz.time_expire ?? ''));
      if (!ALIPAY_OUT_NO_RE.test(otn) || amountFen === undefined || expiresAt === undefined || !params.notify_url) {
        return this.alipayReply(reply, method, {
          code: '40004',
          msg: 'Business Failed',
          sub_code: 'ACQ.INVALID_PARAMETER',
        });
      }
      if (o && o.amountFen !== amountFen) {
        return this.alipayReply(reply, method, {
          code: '40004',
          msg: 'Business Failed',
          sub_code: 'ACQ.CONTEXT_INCONSISTENT',
        });
      }
      const order = o ?? {
        channel: 'alipay' as const,
        outTradeNo: otn,
        amountFen,
        subject: String(biz.subject ?? ''),
        expiresAt,
        notifyUrl: params.notify_url,
        state: 'open' as const,
        scanned: false,
        charset,
      };
      this.orders.set(`alipay:${otn}`, order);
      return this.alipayReply(reply, method, {
        code: '10000',
        msg: 'Success',
        out_trade_no: otn,
        qr_code: this.payUrl(order),
      });
    }
    if (method === 'alipay.trade.query') {
      if (!o || !o.scanned) return this.alipayReply(reply, method, notExist);
      const st = this.effectiveState(o);
      const trade_status =
        st === 'paid' ? 'TRADE_SUCCESS' : st === 'closed' ? 'TRADE_CLOSED' : 'WAIT_BUYER_PAY';
      return this.alipayReply(reply, method, {
        code: '10000',
        msg: 'Success',
        out_trade_no: otn,
        trade_no:
          o.txnId ?? `${shanghaiTimestamp(o.expiresAt).slice(0, 10).replace(/-/g, '')}22000000000000000000`,
        trade_status,
        total_amount: fenToYuan(o.amountFen),
        ...(st === 'paid' && o.paidAt ? { send_pay_date: shanghaiTimestamp(o.paidAt) } : {}),
      });
    }
    if (method === 'alipay.trade.close') {
      if (!o || !o.scanned) return this.alipayReply(reply, method, notExist);
      if (this.effectiveState(o) === 'paid') {
        return this.alipayReply(reply, method, {
          code: '40004',
          msg: 'Business Failed',
          sub_code: 'ACQ.TRADE_STATUS_ERROR',
        });
      }
      o.state = 'closed';
      return this.alipayReply(reply, method, {
        code: '10000',
        msg: 'Success',
        out_trade_no: otn,
        trade_no: o.txnId ?? '',
      });
    }
    if (method === 'alipay.trade.cancel') {
      // A trade not created yet (QR never scanned) is cancelled all the same: a later scan is refused.
      // An unpaid trade is closed (action close); a paid one is refunded in full and closed (action refund).
      if (!o) return this.alipayReply(reply, method, { code: '10000', msg: 'Success', out_trade_no: otn, retry_flag: 'N' });
      const paid = this.effectiveState(o) === 'paid';
      o.state = 'closed';
      o.scanned = true;
      return this.alipayReply(reply, method, {
        code: '10000',
        msg: 'Success',
        out_trade_no: otn,
        retry_flag: 'N',
        action: paid ? 'refund' : 'close',
        ...(o.txnId ? { trade_no: o.txnId } : {}),
      });
    }
    if (method === 'alipay.trade.refund') {
      if (!o || this.effectiveState(o) !== 'paid') return this.alipayReply(reply, method, notExist);
      const rno = String(biz.out_request_no ?? '');
      const fen = yuanToFen(String(biz.refund_amount ?? ''));
      if (!ALIPAY_OUT_NO_RE.test(rno) || fen === undefined || fen <= 0) {
        return this.alipayReply(reply, method, { code: '40004', msg: 'Business Failed', sub_code: 'ACQ.INVALID_PARAMETER' });
      }
      const key = `alipay:${otn}:${rno}`;
      const existing = this.refunds.get(key);
      const refunded = this.refundedFen('alipay', otn);
      if (!existing) {
        if (refunded + fen > o.amountFen) {
          return this.alipayReply(reply, method, { code: '40004', msg: 'Business Failed', sub_code: 'ACQ.REFUND_AMT_NOT_EQUAL_TOTAL', sub_msg: '退款金额超限' });
        }
        this.refunds.set(key, { channel: 'alipay', outTradeNo: otn, outRefundNo: rno, refundId: o.txnId ?? '', amountFen: fen, at: this.now() });
        // Alipay notifies the refund to the trade's notify_url, after and apart from this answer.
        if (this.alipayRefundNotices) this.track(this.deliverAlipayRefund(o, rno));
      }
      const r = this.refunds.get(key)!;
      return this.alipayReply(reply, method, {
        code: '10000',
        msg: 'Success',
        trade_no: o.txnId,
        out_trade_no: otn,
        buyer_logon_id: '159****5620',
        // The same out_request_no again moves no money.
        fund_change: existing ? 'N' : 'Y',
        refund_fee: fenToYuan(this.refundedFen('alipay', otn)),
        gmt_refund_pay: shanghaiTimestamp(r.at),
      });
    }
    if (method === 'alipay.trade.fastpay.refund.query') {
      const rno = String(biz.out_request_no ?? '');
      const r = this.refunds.get(`alipay:${otn}:${rno}`);
      if (!o) return this.alipayReply(reply, method, notExist);
      if (!r) return this.alipayReply(reply, method, { code: '10000', msg: 'Success', out_trade_no: otn, out_request_no: rno });
      return this.alipayReply(reply, method, {
        code: '10000',
        msg: 'Success',
        trade_no: o.txnId,
        out_trade_no: otn,
        out_request_no: rno,
        total_amount: fenToYuan(o.amountFen),
        refund_amount: fenToYuan(r.amountFen),
        refund_status: 'REFUND_SUCCESS',
        gmt_refund_pay: shanghaiTimestamp(r.at),
      });
    }
    if (method === 'alipay.data.dataservice.bill.downloadurl.query') {
      const date = String(biz.bill_date ?? '');
      if (biz.bill_type !== 'trade' || !/^\d{4}-\d{2}-\d{2}$/.test(date)) {
        return this.alipayReply(reply, method, { code: '40004', msg: 'Business Failed', sub_code: 'isp.bill_not_exist', sub_msg: '账单不存在' });
      }
      return this.alipayReply(reply, method, {
        code: '10000',
        msg: 'Success',
        bill_download_url: `${this.base}/sim/bill/alipay/${date}.zip?bill_type=trade`,
      });
    }
    return this.alipayReply(reply, method, {
      code: '40002',
      msg: 'Invalid Arguments',
      sub_code: 'isv.invalid-method',
    });
  }

  private refundedFen(channel: Channel, outTradeNo: string): number {
    let sum = 0;
    for (const r of this.refunds.values()) if (r.channel === channel && r.outTradeNo === outTradeNo) sum += r.amountFen;
    return sum;
  }

  /** A day's rows (Beijing date) as the channel's books hold them, after the test's hook. */
  statementRows(channel: Channel, date: string): SimStatementRow[] {
    const rows: SimStatementRow[] = [];
    const day = (t: number): string => shanghaiTimestamp(t).slice(0, 10);
    for (const o of this.orders.values()) {
      if (o.channel !== channel || o.state !== 'paid' || !o.paidAt || day(o.paidAt) !== date) continue;
      rows.push({ kind: 'payment', outTradeNo: o.outTradeNo, txnId: o.txnId ?? '', amountFen: o.amountFen, at: o.paidAt, subject: o.subject });
    }
    for (const r of this.refunds.values()) {
      if (r.channel !== channel || day(r.at) !== date) continue;
      const o = this.order(channel, r.outTradeNo);
      rows.push({ kind: 'refund', outTradeNo: r.outTradeNo, txnId: o?.txnId ?? '', amountFen: r.amountFen, at: r.at, outRefundNo: r.outRefundNo, refundId: r.refundId, subject: o?.subject ?? '' });
    }
    return this.statementHook ? this.statementHook(channel, rows) : rows;
  }

  /** Checks the merchant's Authorization header over METHOD\nURL\ntimestamp\nnonce\nbody\n. */
  private wechatAuthorized(req: FastifyRequest): boolean {
    const h = req.headers.authorization ?? '';
    const m = /^WECHATPAY2-SHA256-RSA2048 (.*)$/.exec(h);
    if (!m) return false;
    const fields: Record<string, string> = {};
    for (const part of m[1]!.matchAll(/(\w+)="([^"]*)"/g)) fields[part[1]!] = part[2]!;
    if (fields.mchid !== SIM_WECHAT_MCHID || fields.serial_no !== SIM_MERCHANT_SERIAL) return false;
    if (!fields.timestamp || Math.abs(this.now() - Number(fields.timestamp)) > 300) return false;
    const body = typeof req.body === 'string' ? req.body : '';
    const msg = wechatMessage([req.method, req.url, fields.timestamp, fields.nonce_str ?? '', body]);
    return rsaVerify(this.wechatMerchantPublic, msg, fields.signature ?? '');
  }

  private wechatReply(reply: FastifyReply, status: number, payload?: unknown): FastifyReply {
    const body = payload === undefined ? '' : JSON.stringify(payload);
    reply
      .code(status)
      .headers(wechatSignedHeaders(body, this.wechatSigningKey(), this.wechatSerial(), this.now()));
    if (payload === undefined) return reply.send();
    return reply.type('application/json').send(body);
  }

  private async wechatNative(req: FastifyRequest, reply: FastifyReply, tradeType: 'NATIVE' | 'JSAPI'): Promise<FastifyReply> {
    await this.gatewayHook?.('wechat', tradeType === 'NATIVE' ? 'native' : 'jsapi');
    if (!this.wechatAuthorized(req))
      return this.wechatReply(reply, 401, { code: 'SIGN_ERROR', message: '签名错误' });
    const schema = z.object({
      appid: z.literal(SIM_WECHAT_APPID),
      mchid: z.literal(SIM_WECHAT_MCHID),
      description: z.string().min(1).max(127),
      out_trade_no: z.string().min(6).max(32),
      time_expire: z.string(),
      notify_url: z.url(),
      amount: z.object({ total: z.number().int().positive(), currency: z.literal('CNY').optional() }),
      payer: z.object({ openid: z.string().min(1).max(128) }).optional(),
    });
    let parsed: z.infer<typeof schema>;
    try {
      parsed = schema.parse(JSON.parse(String(req.body)));
    } catch {
      return this.wechatReply(reply, 400, { code: 'PARAM_ERROR', message: '参数错误' });
    }
    const expiresAt = parseRfc3339(parsed.time_expire);
    if ((tradeType === 'JSAPI') !== (parsed.payer !== undefined))
      return this.wechatReply(reply, 400, { code: 'PARAM_ERROR', message: 'payer.openid' });
    if (expiresAt === undefined)
      return this.wechatReply(reply, 400, { code: 'PARAM_ERROR', message: 'time_expire' });
    const existing = this.order('wechat', parsed.out_trade_no);
    if (existing && (existing.amountFen !== parsed.amount.total || existing.state === 'paid')) {
      return this.wechatReply(reply, 403, {
        code: existing.state === 'paid' ? 'ORDERPAID' : 'OUT_TRADE_NO_USED',
        message: '订单号重复',
      });
    }
    const o: SimOrder = existing ?? {
      channel: 'wechat',
      outTradeNo: parsed.out_trade_no,
      amountFen: parsed.amount.total,
      subject: parsed.description,
      expiresAt,
      notifyUrl: parsed.notify_url,
      state: 'open',
      scanned: true,
      tradeType,
      ...(parsed.payer ? { openid: parsed.payer.openid } : {}),
    };
    this.orders.set(`wechat:${o.outTradeNo}`, o);
    if (tradeType === 'JSAPI') {
      o.prepayId ??= `wx${digits(14)}${randomToken(16)}`;
      return this.wechatReply(reply, 200, { prepay_id: o.prepayId });
    }
    return this.wechatReply(reply, 200, { code_url: this.payUrl(o) });
  }

  private async wechatRefund(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    await this.gatewayHook?.('wechat', 'refund');
    if (!this.wechatAuthorized(req)) return this.wechatReply(reply, 401, { code: 'SIGN_ERROR', message: '签名错误' });
    const schema = z.object({
      out_trade_no: z.string(),
      out_refund_no: z.string().regex(/^[A-Za-z0-9_\-|*@]{1,64}$/),
      reason: z.string().max(80).optional(),
      notify_url: z.url().optional(),
      amount: z.object({ refund: z.number().int().positive(), total: z.number().int().positive(), currency: z.literal('CNY') }),
    });
    let p: z.infer<typeof schema>;
    try {
      p = schema.parse(JSON.parse(String(req.body)));
    } catch {
      return this.wechatReply(reply, 400, { code: 'PARAM_ERROR', message: '参数错误' });
    }
    const o = this.order('wechat', p.out_trade_no);
    if (!o || this.effectiveState(o) !== 'paid') return this.wechatReply(reply, 404, { code: 'RESOURCE_NOT_EXISTS', message: '订单不存在' });
    if (p.amount.total !== o.amountFen) return this.wechatReply(reply, 400, { code: 'PARAM_ERROR', message: '订单金额不一致' });
    const key = `wechat::${p.out_refund_no}`;
    let r = this.refunds.get(key);
    if (!r) {
      if (this.refundedFen('wechat', o.outTradeNo) + p.amount.refund > o.amountFen)
        return this.wechatReply(reply, 403, { code: 'NOT_ENOUGH', message: '退款金额超过可退金额' });
      r = { channel: 'wechat', outTradeNo: o.outTradeNo, outRefundNo: p.out_refund_no, refundId: `50${digits(30)}`, amountFen: p.amount.refund, at: this.now(), ...(p.notify_url ? { notifyUrl: p.notify_url } : {}) };
      this.refunds.set(key, r);
      // The refund completes at once here; its REFUND.SUCCESS notification follows.
      if (r.notifyUrl) this.track(this.deliverRefund(r));
    }
    return this.wechatReply(reply, 200, this.refundView(r, o));
  }

  private refundView(r: SimRefund, o: SimOrder): Record<string, unknown> {
    return {
      refund_id: r.refundId,
      out_refund_no: r.outRefundNo,
      transaction_id: o.txnId,
      out_trade_no: o.outTradeNo,
      channel: 'ORIGINAL',
      user_received_account: '支付用户零钱',
      success_time: rfc3339Shanghai(r.at),
      create_time: rfc3339Shanghai(r.at),
      status: 'SUCCESS',
      amount: { total: o.amountFen, refund: r.amountFen, payer_total: o.amountFen, payer_refund: r.amountFen, currency: 'CNY' },
    };
  }

  /** A REFUND.SUCCESS notification as WeChat sends it to the refund's notify_url. */
  buildRefundNotification(r: SimRefund, signer: WechatSigner = this.wechatSigner): BuiltNotification {
    const o = this.order('wechat', r.outTradeNo)!;
    const plain = {
      mchid: SIM_WECHAT_MCHID,
      out_trade_no: o.outTradeNo,
      transaction_id: o.txnId,
      out_refund_no: r.outRefundNo,
      refund_id: r.refundId,
      refund_status: 'SUCCESS',
      success_time: rfc3339Shanghai(r.at),
      user_received_account: '支付用户零钱',
      amount: { total: o.amountFen, refund: r.amountFen, payer_total: o.amountFen, payer_refund: r.amountFen },
    };
    const resource = { ...encryptResource(this.keys.apiV3Key, JSON.stringify(plain), 'refund'), original_type: 'refund' };
    const body = JSON.stringify({
      id: randomToken(16),
      create_time: rfc3339Shanghai(this.now()),
      resource_type: 'encrypt-resource',
      event_type: 'REFUND.SUCCESS',
      summary: '退款成功',
      resource,
    });
    return {
      url: r.notifyUrl ?? '',
      headers: { 'content-type': 'application/json', ...wechatSignedHeaders(body, this.wechatSigningKey(signer), this.wechatSerial(signer), this.now()) },
      body,
    };
  }

  /** Notifications sent apart from an answer (refund notices), so tests and close can wait for them. */
  private readonly inflight = new Set<Promise<void>>();
  private track(p: Promise<void>): void {
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }
  /** Resolves once every notification sent apart from an answer has been answered (or failed). */
  async whenDelivered(): Promise<void> {
    while (this.inflight.size) await Promise.all([...this.inflight]);
  }

  /** The refund notice Alipay sends to the trade's notify_url once a refund is made (full field set). */
  buildAlipayRefundNotification(o: SimOrder, outRequestNo: string): BuiltNotification {
    const r = this.refunds.get(`alipay:${o.outTradeNo}:${outRequestNo}`);
    return this.buildAlipay(o, {
      alipayRefund: { outBizNo: outRequestNo, refundedFen: this.refundedFen('alipay', o.outTradeNo), at: r?.at ?? this.now() },
    });
  }

  private async deliverAlipayRefund(o: SimOrder, outRequestNo: string): Promise<void> {
    const n = this.buildAlipayRefundNotification(o, outRequestNo);
    try {
      const res = await fetch(n.url, { method: 'POST', headers: n.headers, body: n.body, signal: AbortSignal.timeout(10_000) });
      this.deliveries.push({ channel: 'alipay', outTradeNo: o.outTradeNo, status: res.status, body: await res.text() });
    } catch (e) {
      this.deliveries.push({ channel: 'alipay', outTradeNo: o.outTradeNo, status: 0, body: (e as Error).message });
    }
  }

  private async deliverRefund(r: SimRefund): Promise<void> {
    const n = this.buildRefundNotification(r);
    try {
      const res = await fetch(n.url, { method: 'POST', headers: n.headers, body: n.body, signal: AbortSignal.timeout(10_000) });
      this.deliveries.push({ channel: 'wechat', outTradeNo: r.outTradeNo, status: res.status, body: await res.text() });
    } catch (e) {
      this.deliveries.push({ channel: 'wechat', outTradeNo: r.outTradeNo, status: 0, body: (e as Error).message });
    }
  }

  private wechatRefundQuery(req: FastifyRequest, reply: FastifyReply): FastifyReply {
    if (!this.wechatAuthorized(req)) return this.wechatReply(reply, 401, { code: 'SIGN_ERROR', message: '签名错误' });
    const no = (req.params as { no: string }).no;
    const r = this.refunds.get(`wechat::${no}`);
    const o = r ? this.order('wechat', r.outTradeNo) : undefined;
    if (!r || !o) return this.wechatReply(reply, 404, { code: 'RESOURCE_NOT_EXISTS', message: '退款单不存在' });
    return this.wechatReply(reply, 200, this.refundView(r, o));
  }

  /** /v3/certificates: both platform certificates, each encrypted with the APIv3 key. */
  private wechatCertificates(req: FastifyRequest, reply: FastifyReply): FastifyReply {
    if (!this.wechatAuthorized(req)) return this.wechatReply(reply, 401, { code: 'SIGN_ERROR', message: '签名错误' });
    const data = [0, 1].map((i) => ({
      serial_no: SIM_CERT_SERIALS[i],
      effective_time: rfc3339Shanghai(this.certExpires[i]! - 5 * 365 * 86_400),
      expire_time: rfc3339Shanghai(this.certExpires[i]!),
      encrypt_certificate: { ...encryptResource(this.keys.apiV3Key, this.certPems[i]!, 'certificate'), original_type: undefined },
    }));
    return this.wechatReply(reply, 200, { data });
  }

  private wechatTradebill(req: FastifyRequest, reply: FastifyReply): FastifyReply {
    if (!this.wechatAuthorized(req)) return this.wechatReply(reply, 401, { code: 'SIGN_ERROR', message: '签名错误' });
    const q = req.query as Record<string, string | undefined>;
    if (!q.bill_date || !/^\d{4}-\d{2}-\d{2}$/.test(q.bill_date) || q.tar_type !== 'GZIP')
      return this.wechatReply(reply, 400, { code: 'PARAM_ERROR', message: '参数错误' });
    const csv = wechatTradebillCsv(this.statementRows('wechat', q.bill_date));
    return this.wechatReply(reply, 200, {
      hash_type: 'SHA1',
      hash_value: createHash('sha1').update(csv).digest('hex'),
      download_url: `${this.base}/v3/billdownload/file?token=${q.bill_date}`,
    });
  }

  private wechatBillFile(req: FastifyRequest, reply: FastifyReply): FastifyReply {
    if (!this.wechatAuthorized(req)) return reply.code(401).send({ code: 'SIGN_ERROR', message: '签名错误' });
    const date = (req.query as { token?: string }).token ?? '';
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) return reply.code(400).send();
    // The file itself is not signed; its SHA1 came in the signed tradebill answer.
    return reply.type('application/octet-stream').send(gzipSync(wechatTradebillCsv(this.statementRows('wechat', date))));
  }

  private wechatQuery(req: FastifyRequest, reply: FastifyReply): FastifyReply {
    if (!this.wechatAuthorized(req))
      return this.wechatReply(reply, 401, { code: 'SIGN_ERROR', message: '签名错误' });
    const otn = (req.params as { otn: string }).otn;
    const o = this.order('wechat', otn);
    if (!o) return this.wechatReply(reply, 404, { code: 'ORDER_NOT_EXIST', message: '订单不存在' });
    const st = this.effectiveState(o);
    const trade_state =
      st === 'paid' ? 'SUCCESS' : st === 'closed' ? 'CLOSED' : st === 'failed' ? 'PAYERROR' : 'NOTPAY';
    return this.wechatReply(reply, 200, {
      appid: SIM_WECHAT_APPID,
      mchid: SIM_WECHAT_MCHID,
      out_trade_no: otn,
      trade_state,
      trade_state_desc: trade_state,
      ...(st === 'paid'
        ? {
            transaction_id: o.txnId,
            success_time: rfc3339Shanghai(o.paidAt ?? this.now()),
            trade_type: o.tradeType ?? 'NATIVE',
          }
        : {}),
      amount: { total: o.amountFen, currency: 'CNY' },
    });
  }

  private async wechatClose(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    await this.gatewayHook?.('wechat', 'close');
    if (!this.wechatAuthorized(req))
      return this.wechatReply(reply, 401, { code: 'SIGN_ERROR', message: '签名错误' });
    const otn = (req.params as { otn: string }).otn;
    const o = this.order('wechat', otn);
    if (!o) return this.wechatReply(reply, 404, { code: 'ORDER_NOT_EXIST', message: '订单不存在' });
    if (this.effectiveState(o) === 'paid')
      return this.wechatReply(reply, 400, { code: 'ORDERPAID', message: '订单已支付' });
    o.state = 'closed';
    return this.wechatReply(reply, 204);
  }
}

/** Ways a test can forge or spoil a notification. */
export interface NotificationTamper {
  amountFen?: number;
  appId?: string;
  mchid?: string;
  status?: string;
  /** Sign with this key instead of the channel's. */
  signingKeyPem?: string;
  serial?: string;
  apiV3Key?: string;
  tamperCiphertext?: boolean;
  /** Alipay: the charset to send in (default: the order's). */
  charset?: string;
  /** Seconds added to the WeChat timestamp. */
  timestampOffset?: number;
  /** Change Alipay params after signing. */
  afterSign?: (params: Record<string, string>) => void;
  /**
   * Alipay: a refund notice instead of the payment's (退款通知, to the trade's notify_url): out_biz_no is the
   * refund's out_request_no, refund_fee the trade's total refunded so far.
   */
  alipayRefund?: { outBizNo: string; refundedFen: number; at: number };
}

function privateKeyOf(pair: Pick<RsaPair, 'privateKeyPem'>): KeyObject {
  return privateKey(pair.privateKeyPem);
}

/** A line of a simulated statement. */
export interface SimStatementRow {
  kind: 'payment' | 'refund';
  outTradeNo: string;
  txnId: string;
  amountFen: number;
  at: number;
  outRefundNo?: string;
  refundId?: string;
  subject: string;
}

/** application/x-www-form-urlencoded in a charset: bytes percent-encoded, space as '+'. */
export function encodeForm(params: Record<string, string>, charset: string): string {
  const enc = (v: string): string => {
    const bytes = /^utf-?8$/i.test(charset) ? Buffer.from(v, 'utf8') : iconv.encode(v, charset);
    let out = '';
    for (const b of bytes) {
      const c = String.fromCharCode(b);
      if (/[A-Za-z0-9*\-._]/.test(c)) out += c;
      else if (b === 0x20) out += '+';
      else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    }
    return out;
  };
  return Object.entries(params)
    .map(([k, v]) => `${enc(k)}=${enc(v)}`)
    .join('&');
}

/** A self-signed certificate for a platform key, made with the openssl command (simulator only). */
function selfSignedCertificate(privateKeyPem: string, serialHex: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'fk-sim-cert-'));
  try {
    writeFileSync(join(dir, 'key.pem'), privateKeyPem, { mode: 0o600 });
    return execFileSync(
      'openssl',
      ['req', '-x509', '-new', '-key', join(dir, 'key.pem'), '-subj', '/C=CN/O=Tenpay.com/CN=Tenpay.com sign', '-days', '1825', '-set_serial', `0x${serialHex}`],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The 业务明细 CSV (GBK) in a zip, with its 汇总 companion, as Alipay serves them. */
export function alipayStatementZip(rows: SimStatementRow[], date: string): Uint8Array {
  const C = ALIPAY_COLUMNS;
  const header = ['支付宝交易号', '商户订单号', '业务类型', '商品名称', '创建时间', '完成时间', '门店编号', '门店名称', '操作员', '终端号', '对方账户', '订单金额（元）', '商家实收（元）', '支付宝红包（元）', '集分宝（元）', '支付宝优惠（元）', '商家优惠（元）', '券核销金额（元）', '券名称', '商家红包消费金额（元）', '卡消费金额（元）', '退款批次号/请求号', '服务费（元）', '分润（元）', '备注'];
  const lines = ['#支付宝业务明细查询', '#账号：[20880000000000010156]', `#起始日期：[${date} 00:00:00]   终止日期：[${date} 23:59:59]`, '#-----------------------------------------业务明细列表----------------------------------------', header.join(',')];
  for (const r of rows) {
    const t = shanghaiTimestamp(r.at);
    const cell: Record<string, string> = {
      [C.txnId]: `${r.txnId}\t`,
      [C.outTradeNo]: `${r.outTradeNo}\t`,
      [C.kind]: r.kind === 'payment' ? '交易' : '退款',
      商品名称: r.subject.replace(/,/g, ' '),
      创建时间: t,
      [C.finishedAt]: t,
      对方账户: '159****5620',
      [C.orderAmount]: fenToYuan(r.amountFen),
      [C.received]: `${r.kind === 'refund' ? '-' : ''}${fenToYuan(r.amountFen)}`,
      [C.refundNo]: r.outRefundNo ?? '',
      '服务费（元）': '0.00',
    };
    lines.push(header.map((h) => cell[h] ?? '').join(','));
  }
  lines.push('#-----------------------------------------业务明细列表结束------------------------------------', `#交易合计：${rows.filter((r) => r.kind === 'payment').length}笔`, '#导出时间：[2026-11-21 09:00:00]');
  const csv = iconv.encode(lines.join('\r\n'), 'GBK');
  const summary = iconv.encode(`#支付宝业务汇总查询\r\n门店编号,门店名称,交易订单总笔数\r\n,,${rows.length}\r\n`, 'GBK');
  const day = date.replace(/-/g, '');
  return zipSync({ [`20880000000000010156_${day}_业务明细.csv`]: csv, [`20880000000000010156_${day}_业务明细(汇总).csv`]: summary });
}

/** The tradebill (bill_type ALL) CSV text: every field begins with a backtick, then the summary. */
export function wechatTradebillCsv(rows: SimStatementRow[]): Buffer {
  const header = ['交易时间', '公众账号ID', '商户号', '特约商户号', '设备号', WECHAT_COLUMNS.txnId, WECHAT_COLUMNS.outTradeNo, '用户标识', '交易类型', WECHAT_COLUMNS.state, '付款银行', '货币种类', WECHAT_COLUMNS.settled, '代金券金额', '微信退款单号', WECHAT_COLUMNS.outRefundNo, WECHAT_COLUMNS.refundAmount, '充值券退款金额', '退款类型', '退款状态', '商品名称', '商户数据包', '手续费', '费率', '订单金额', '申请退款金额', '费率备注'];
  const lines = [header.join(',')];
  let total = 0;
  let refunds = 0;
  for (const r of rows) {
    const pay = r.kind === 'payment';
    if (pay) total += r.amountFen;
    else refunds += r.amountFen;
    const cells = [
      shanghaiTimestamp(r.at), SIM_WECHAT_APPID, SIM_WECHAT_MCHID, '0', '', r.txnId, r.outTradeNo, 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o', 'NATIVE',
      pay ? 'SUCCESS' : 'REFUND', 'OTHERS', 'CNY', pay ? fenToYuan(r.amountFen) : '0.00', '0.00',
      pay ? '0' : (r.refundId ?? ''), pay ? '0' : (r.outRefundNo ?? ''), pay ? '0.00' : fenToYuan(r.amountFen), '0.00',
      pay ? '' : 'ORIGINAL', pay ? '' : 'SUCCESS', r.subject, '', '0.00000', '0.60%', fenToYuan(r.amountFen), pay ? '0.00' : fenToYuan(r.amountFen), '',
    ];
    lines.push(cells.map((c) => `\`${c}`).join(','));
  }
  lines.push('总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额');
  lines.push([rows.filter((r) => r.kind === 'payment').length, fenToYuan(total), fenToYuan(refunds), '0.00', '0.00000', fenToYuan(total), fenToYuan(refunds)].map((c) => `\`${c}`).join(','));
  // UTF-8 with a BOM, as WeChat serves it.
  return Buffer.from(`\uFEFF${lines.join('\r\n')}\r\n`, 'utf8');
}
