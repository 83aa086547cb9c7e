// A local stand-in for both payment gateways, for the demo and the tests. It generates its own keys
// (Alipay's and WeChat's platform keys, the APIv3 key, and the merchant keys it hands to the hub),
// checks the hub's request signatures, answers precreate/query/close and the v3 Native calls, and has
// a page and an API to pay, fail or abandon an order, sending properly signed notifications (and
// duplicates, or held ones delivered late, on request).
import { generateKeyPairSync, randomInt, type KeyObject } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Channel } from '../../protocol/ids.ts';
import { formatFen } from '../../protocol/money.ts';
import { systemClock, unixSeconds, type Clock } from '../../protocol/time.ts';
import {
  alipayResponseNode,
  alipaySignContent,
  signAlipayNotification,
  type AlipayConfig,
} from './alipay.ts';
import { encryptResource, wechatMessage, wechatSignedHeaders, type WechatConfig } from './wechat.ts';
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
  wechatPlatform: RsaPair;
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
    apiV3Key: randomToken(32),
  };
}

export const SIM_ALIPAY_APP_ID = '2021000000000001';
export const SIM_WECHAT_MCHID = '1900000001';
export const SIM_WECHAT_APPID = 'wx0000000000000001';
export const SIM_MERCHANT_SERIAL = '5157F09EFDC096DE15EBE81A47057A7232F1B8E1';
export const SIM_PLATFORM_SERIAL = 'PUB_KEY_ID_0000000000000000000000000001';

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
  private held: SimOrder[] = [];
  private readonly app: FastifyInstance;
  private readonly alipayPlatformKey: KeyObject;
  private readonly wechatPlatformKey: KeyObject;
  private readonly alipayAppPublic: KeyObject;
  private readonly wechatMerchantPublic: KeyObject;
  private base = '';

  constructor(private readonly opts: SimulatorOptions = {}) {
    this.keys = opts.keys ?? generateSimulatorKeys();
    this.clock = opts.clock ?? systemClock;
    this.alipayPlatformKey = privateKeyOf(this.keys.alipayPlatform);
    this.wechatPlatformKey = privateKeyOf(this.keys.wechatPlatform);
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
  }

  /** What the hub's config needs to talk to this simulator as if it were the real gateways. */
  hubConfig(): { alipay: AlipayConfig; wechat: WechatConfig } {
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
        platformSerial: SIM_PLATFORM_SERIAL,
        platformPublicKeyPem: this.keys.wechatPlatform.publicKeyPem,
        apiV3Key: this.keys.apiV3Key,
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
    const params: Record<string, string> = {
      notify_time: shanghaiTimestamp(now),
      notify_type: 'trade_status_sync',
      notify_id: randomToken(24),
      app_id: t.appId ?? SIM_ALIPAY_APP_ID,
      auth_app_id: t.appId ?? SIM_ALIPAY_APP_ID,
      charset: 'utf-8',
      version: '1.0',
      sign_type: 'RSA2',
      trade_no: o.txnId ?? '',
      out_trade_no: o.outTradeNo,
      trade_status: t.status ?? 'TRADE_SUCCESS',
      total_amount: fenToYuan(t.amountFen ?? o.amountFen),
      receipt_amount: fenToYuan(t.amountFen ?? o.amountFen),
      buyer_pay_amount: fenToYuan(t.amountFen ?? o.amountFen),
      subject: o.subject,
      gmt_create: shanghaiTimestamp(o.paidAt ?? now),
      gmt_payment: shanghaiTimestamp(o.paidAt ?? now),
      seller_id: '2088000000000001',
    };
    const key = t.signingKeyPem ? privateKeyOf({ privateKeyPem: t.signingKeyPem }) : this.alipayPlatformKey;
    params.sign = signAlipayNotification(params, key);
    if (t.afterSign) t.afterSign(params);
    return {
      url: o.notifyUrl,
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body: new URLSearchParams(params).toString(),
    };
  }

  private buildWechat(o: SimOrder, t: NotificationTamper): BuiltNotification {
    const now = this.now();
    const transaction = {
      appid: SIM_WECHAT_APPID,
      mchid: t.mchid ?? SIM_WECHAT_MCHID,
      out_trade_no: o.outTradeNo,
      transaction_id: o.txnId,
      trade_type: 'NATIVE',
      trade_state: t.status ?? 'SUCCESS',
      trade_state_desc: '支付成功',
      bank_type: 'OTHERS',
      success_time: rfc3339Shanghai(o.paidAt ?? now),
      payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' },
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
    const key = t.signingKeyPem ? privateKeyOf({ privateKeyPem: t.signingKeyPem }) : this.wechatPlatformKey;
    const headers = {
      'content-type': 'application/json',
      ...wechatSignedHeaders(body, key, t.serial ?? SIM_PLATFORM_SERIAL, now + (t.timestampOffset ?? 0)),
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

  private routes(): void {
    this.app.post('/gateway.do', (req, reply) => this.alipayGateway(req, reply));
    this.app.post('/v3/pay/transactions/native', (req, reply) => this.wechatNative(req, reply));
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
    this.app.get('/sim/api/config', async () => this.hubConfig());
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
    const text = JSON.stringify(node);
    const sign = rsaSign(this.alipayPlatformKey, text);
    return reply
      .type('application/json; charset=utf-8')
      .send(`{"${alipayResponseNode(method)}":${text},"sign":"${sign}"}`);
  }

  private alipayGateway(req: FastifyRequest, reply: FastifyReply): FastifyReply {
    const params: Record<string, string> = {};
    for (const [k, v] of new URLSearchParams(typeof req.body === 'string' ? req.body : '')) params[k] = v;
    const method = params.method ?? '';
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
      !rsaVerify(this.alipayAppPublic, alipaySignContent(params, ['sign']), params.sign ?? '')
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
      if (!otn || amountFen === undefined || expiresAt === undefined || !params.notify_url) {
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
    return this.alipayReply(reply, method, {
      code: '40002',
      msg: 'Invalid Arguments',
      sub_code: 'isv.invalid-method',
    });
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
      .headers(wechatSignedHeaders(body, this.wechatPlatformKey, SIM_PLATFORM_SERIAL, this.now()));
    if (payload === undefined) return reply.send();
    return reply.type('application/json').send(body);
  }

  private wechatNative(req: FastifyRequest, reply: FastifyReply): FastifyReply {
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
    });
    let parsed: z.infer<typeof schema>;
    try {
      parsed = schema.parse(JSON.parse(String(req.body)));
    } catch {
      return this.wechatReply(reply, 400, { code: 'PARAM_ERROR', message: '参数错误' });
    }
    const expiresAt = parseRfc3339(parsed.time_expire);
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
    };
    this.orders.set(`wechat:${o.outTradeNo}`, o);
    return this.wechatReply(reply, 200, { code_url: this.payUrl(o) });
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
            trade_type: 'NATIVE',
          }
        : {}),
      amount: { total: o.amountFen, currency: 'CNY' },
    });
  }

  private wechatClose(req: FastifyRequest, reply: FastifyReply): FastifyReply {
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
  /** Seconds added to the WeChat timestamp. */
  timestampOffset?: number;
  /** Change Alipay params after signing. */
  afterSign?: (params: Record<string, string>) => void;
}

function privateKeyOf(pair: Pick<RsaPair, 'privateKeyPem'>): KeyObject {
  return privateKey(pair.privateKeyPem);
}
