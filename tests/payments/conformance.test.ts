// Conformance of the channel adapters where the other side is NOT our code: the official Alipay SDK
// (alipay-sdk) checks the requests' signatures and the notifications' genuineness, and an independent
// WeChat Pay v3 library (wechatpay-axios-plugin: Rsa, Formatter, Aes.AesGcm) plays the gateway: it checks
// every request's Authorization, signs the answers with each of several platform keys, serves the
// encrypted platform certificates and makes the notifications.
import { createHash, createPublicKey, createVerify, generateKeyPairSync, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { AlipaySdk } from 'alipay-sdk';
import iconv from 'iconv-lite';
import { Aes, Formatter, Rsa } from 'wechatpay-axios-plugin';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../protocol/time.ts';
import { AlipayAdapter, decodeForm } from '../../hub/channels/alipay.ts';
import { WechatAdapter } from '../../hub/channels/wechat.ts';
import {
  ChannelSimulator,
  encodeForm,
  generateSimulatorKeys,
  wechatTradebillCsv,
  type SimulatorKeys,
} from '../../hub/channels/simulator.ts';
import { parseWechatStatement } from '../../hub/channels/statements.ts';

const T0 = Date.parse('2026-11-21T04:00:00Z');
let keys: SimulatorKeys;
let clock: ManualClock;
const nowS = (): number => Math.floor(clock.now() / 1000);

beforeAll(() => {
  keys = generateSimulatorKeys();
  clock = new ManualClock(T0);
});

// ---------------------------------------------------------------- Alipay

describe('Alipay against the official SDK', () => {
  let sim: ChannelSimulator;
  let gatewaySeen: { query: Record<string, string>; body: string; contentType: string }[];
  let capture: FastifyInstance;
  let captureUrl: string;

  beforeAll(async () => {
    sim = new ChannelSimulator({ clock, keys });
    await sim.start(0);
    gatewaySeen = [];
    // A pass-through that records exactly what reaches the gateway.
    capture = Fastify();
    capture.removeAllContentTypeParsers();
    capture.addContentTypeParser('*', { parseAs: 'string' }, (_r, b, done) => done(null, b));
    capture.post('/gateway.do', async (req, reply) => {
      const u = new URL(req.url, 'http://x');
      gatewaySeen.push({
        query: Object.fromEntries(u.searchParams),
        body: String(req.body),
        contentType: String(req.headers['content-type']),
      });
      const res = await fetch(`${sim.baseUrl}${req.url}`, {
        method: 'POST',
        headers: { 'content-type': String(req.headers['content-type']) },
        body: String(req.body),
      });
      return reply.type('application/json; charset=utf-8').send(await res.text());
    });
    await capture.listen({ port: 0, host: '127.0.0.1' });
    const a = capture.server.address();
    captureUrl = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
  });
  afterAll(async () => {
    await capture.close();
    await sim.close();
  });

  function adapter(): AlipayAdapter {
    return new AlipayAdapter(
      { ...sim.hubConfig().alipay, gateway: `${captureUrl}/gateway.do` },
      'https://hub.example.cn/notify/alipay',
      clock,
    );
  }

  /** The SDK configured with the app's public key verifies what the app signed. */
  function appKeyVerifier(): AlipaySdk {
    return new AlipaySdk({
      appId: '2021000000000001',
      privateKey: keys.alipayApp.privateKeyPem,
      keyType: 'PKCS8',
      alipayPublicKey: keys.alipayApp.publicKeyPem,
    });
  }

  /** The SDK configured as a merchant verifies what Alipay signed. */
  function merchantSdk(): AlipaySdk {
    return new AlipaySdk({
      appId: '2021000000000001',
      privateKey: keys.alipayApp.privateKeyPem,
      keyType: 'PKCS8',
      alipayPublicKey: keys.alipayPlatform.publicKeyPem,
    });
  }

  it('puts the common parameters in the URL and only biz_content in the body, signed as the SDK verifies', async () => {
    const a = adapter();
    const otn = 'BKIOSK0PAY_1_AGHMW';
    const r = await a.createOrder({
      outTradeNo: otn,
      amountFen: 20250,
      subject: '交通违法罚款 缴款单BKIOSK0PAY-1 A+B',
      expiresAt: nowS() + 3600,
    });
    expect(r.ok).toBe(true);
    const seen = gatewaySeen.at(-1)!;
    for (const k of ['app_id', 'method', 'charset', 'sign_type', 'sign', 'timestamp', 'version', 'notify_url'])
      expect(seen.query[k], k).toBeDefined();
    expect(seen.query.charset).toBe('utf-8');
    expect(seen.query.notify_url).toBe('https://hub.example.cn/notify/alipay');
    expect(seen.query.timestamp).toBe('2026-11-21 12:00:00');
    const body = decodeForm(seen.body, 'utf-8');
    expect(body.ok && Object.keys(body.value)).toEqual(['biz_content']);
    const all = { ...(body.ok ? body.value : {}), ...seen.query };
    expect(appKeyVerifier().checkNotifySignV2(all)).toBe(true);
    expect(JSON.parse(all.biz_content!)).toMatchObject({ out_trade_no: otn, total_amount: '202.50' });
    // The simulator, strict like the gateway, has the order with the Chinese subject intact.
    expect(sim.order('alipay', otn)!.subject).toBe('交通违法罚款 缴款单BKIOSK0PAY-1 A+B');
  });

  it('a gateway refuses an all-in-body request: decoded as GBK, the signature fails', async () => {
    // What the old adapter did: every parameter, charset included, in a UTF-8 body.
    const params: Record<string, string> = {
      app_id: '2021000000000001',
      method: 'alipay.trade.precreate',
      format: 'JSON',
      charset: 'utf-8',
      sign_type: 'RSA2',
      timestamp: '2026-11-21 12:00:00',
      version: '1.0',
      notify_url: 'https://hub.example.cn/notify/alipay',
      biz_content: JSON.stringify({ out_trade_no: 'X_1', total_amount: '1.00', subject: '交通罚款', time_expire: '2026-11-21 13:00:00' }),
    };
    const content = Object.keys(params).sort().map((k) => `${k}=${params[k]}`).join('&');
    const { sign } = await import('node:crypto');
    params.sign = sign('sha256', Buffer.from(content), keys.alipayApp.privateKeyPem).toString('base64');
    const res = await fetch(`${sim.baseUrl}/gateway.do`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded;charset=utf-8' },
      body: new URLSearchParams(params).toString(),
    });
    const text = await res.text();
    expect(text).toContain('isv.invalid-signature');
    expect(sim.order('alipay', 'X_1')).toBeUndefined();
  });

  it('refuses an out_trade_no with "-" before asking, and the gateway refuses it too', async () => {
    const r = await adapter().createOrder({ outTradeNo: 'BKIOSK0PAY-1-AGHMW', amountFen: 100, subject: 'x', expiresAt: nowS() + 600 });
    expect(!r.ok && r.error.code).toBe('MALFORMED');
  });

  it('keeps a signed business refusal with its code and message, in both languages', async () => {
    // A refund of a trade that does not exist: the gateway answers ACQ.TRADE_NOT_EXIST, signed.
    const r = await adapter().refund({ outTradeNo: 'NOPE_1', txnId: 'x', outRefundNo: 'RF_1', amountFen: 100, totalFen: 100, reason: 'x' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('CHANNEL_ERROR');
    expect(r.error.details).toMatchObject({ channel: 'alipay', channelCode: 'ACQ.TRADE_NOT_EXIST', channelMessage: '交易不存在' });
    expect(r.error.message).toContain('ACQ.TRADE_NOT_EXIST');
    expect(r.error.message).toContain('no such order');
    expect(r.error.messageZh).toContain('支付渠道无此订单');
  });

  for (const charset of ['utf-8', 'GBK'] as const) {
    it(`accepts a genuine ${charset} notification with the full field set (fund_bill_list, spaces, '+', Chinese)`, async () => {
      const a = adapter();
      const otn = `N_${charset.replace('-', '')}_1`;
      await a.createOrder({ outTradeNo: otn, amountFen: 20000, subject: '交通违法罚款 缴款单 A+B', expiresAt: nowS() + 3600 });
      await sim.pay('alipay', otn, { notify: 'none' });
      const n = sim.buildNotification(sim.order('alipay', otn)!, { charset });
      expect(n.body).toContain(`charset=${charset}`);
      expect(n.body).toContain('fund_bill_list=');
      // The notification is genuine by an independent check of the documented rule (sorted k=v without
      // sign and sign_type, SHA256withRSA over the bytes of the declared charset) ...
      const decoded = decodeForm(n.body, charset);
      expect(decoded.ok).toBe(true);
      const params = decoded.ok ? decoded.value : {};
      expect(params.subject).toBe('交通违法罚款 缴款单 A+B');
      const content = Object.keys(params).filter((k) => k !== 'sign' && k !== 'sign_type').sort().map((k) => `${k}=${params[k]}`).join('&');
      const v = createVerify('sha256');
      v.update(charset === 'GBK' ? iconv.encode(content, 'GBK') : Buffer.from(content, 'utf8'));
      expect(v.verify(keys.alipayPlatform.publicKeyPem, params.sign!, 'base64')).toBe(true);
      // ... and, for UTF-8, by the official SDK's own notification check.
      if (charset === 'utf-8') expect(merchantSdk().checkNotifySignV2(params)).toBe(true);
      const r = a.verifyNotification({ headers: n.headers, body: n.body });
      expect(r.ok && r.value).toMatchObject({ outTradeNo: otn, amountFen: 20000, status: 'paid' });
      // Decoding a GBK notification as UTF-8 (the old behaviour) garbles it and fails the signature.
      if (charset === 'GBK') {
        const wrong = decodeForm(n.body, 'utf-8');
        expect(wrong.ok && wrong.value.subject).not.toBe('交通违法罚款 缴款单 A+B');
      }
    });
  }

  it('a notification that declares no charset is GBK', async () => {
    const a = adapter();
    const otn = 'N_NOCHARSET_1';
    await a.createOrder({ outTradeNo: otn, amountFen: 500, subject: '罚款', expiresAt: nowS() + 3600 });
    await sim.pay('alipay', otn, { notify: 'none' });
    const n = sim.buildNotification(sim.order('alipay', otn)!, { charset: 'GBK' });
    const body = n.body.replace(/(^|&)charset=GBK(&|$)/, '$1').replace(/&&/, '&');
    // The signature covers charset, so take it out before signing as Alipay would send it.
    const params = decodeForm(body, 'GBK');
    expect(params.ok).toBe(true);
    const p = params.ok ? params.value : {};
    delete p.sign;
    const content = Object.keys(p).filter((k) => k !== 'sign_type').sort().map((k) => `${k}=${p[k]}`).join('&');
    const { sign } = await import('node:crypto');
    p.sign = sign('sha256', iconv.encode(content, 'GBK'), keys.alipayPlatform.privateKeyPem).toString('base64');
    const r = a.verifyNotification({ headers: {}, body: encodeForm(p, 'GBK') });
    expect(r.ok).toBe(true);
  });

  for (const charset of ['utf-8', 'GBK'] as const) {
    it(`reads a genuine ${charset} refund notice (out_biz_no, refund_fee, gmt_refund) as the refund, not a payment`, async () => {
      // Alipay's refund notice (异步通知 on the trade's notify_url), its fields written here from the
      // documentation and signed by the documented rule, not by the project's code.
      const params: Record<string, string> = {
        notify_time: '2026-11-21 12:30:01',
        notify_type: 'trade_status_sync',
        notify_id: '2026112100222123001234567890123456',
        app_id: '2021000000000001',
        charset,
        version: '1.0',
        sign_type: 'RSA2',
        trade_no: '2026112122001412341234567890',
        out_trade_no: 'BKIOSK0PAY_7_A3K9Q',
        out_biz_no: 'RFA_2026112122001412341234567890',
        buyer_id: '2088102177846880',
        buyer_logon_id: '159****5620',
        seller_id: '2088000000000001',
        trade_status: 'TRADE_CLOSED',
        total_amount: '200.00',
        receipt_amount: '200.00',
        buyer_pay_amount: '200.00',
        refund_fee: '200.00',
        subject: '交通违法罚款 缴款单 A+B',
        gmt_create: '2026-11-21 12:00:00',
        gmt_payment: '2026-11-21 12:00:05',
        gmt_refund: '2026-11-21 12:30:00.512',
        gmt_close: '2026-11-21 12:30:00',
        fund_bill_list: JSON.stringify([{ amount: '200.00', fundChannel: 'ALIPAYACCOUNT' }]),
      };
      const content = Object.keys(params).filter((k) => k !== 'sign' && k !== 'sign_type').sort().map((k) => `${k}=${params[k]}`).join('&');
      const { sign } = await import('node:crypto');
      params.sign = sign('sha256', charset === 'GBK' ? iconv.encode(content, 'GBK') : Buffer.from(content, 'utf8'), keys.alipayPlatform.privateKeyPem).toString('base64');
      if (charset === 'utf-8') expect(merchantSdk().checkNotifySignV2({ ...params })).toBe(true);
      const body = charset === 'GBK' ? encodeForm(params, 'GBK') : new URLSearchParams(params).toString();
      const r = adapter().verifyNotification({ headers: {}, body });
      expect(r.ok && r.value).toMatchObject({
        outTradeNo: 'BKIOSK0PAY_7_A3K9Q',
        txnId: '2026112122001412341234567890',
        status: 'closed',
        refund: {
          outRefundNo: 'RFA_2026112122001412341234567890',
          outTradeNo: 'BKIOSK0PAY_7_A3K9Q',
          amountFen: 20000,
          status: 'success',
          doneAt: Date.parse('2026-11-21T12:30:00+08:00') / 1000,
        },
      });
      // A refund notice without its request number is refused, not read as a payment.
      const partial = { ...params };
      delete partial.out_biz_no;
      const c2 = Object.keys(partial).filter((k) => k !== 'sign' && k !== 'sign_type').sort().map((k) => `${k}=${partial[k]}`).join('&');
      partial.sign = sign('sha256', charset === 'GBK' ? iconv.encode(c2, 'GBK') : Buffer.from(c2, 'utf8'), keys.alipayPlatform.privateKeyPem).toString('base64');
      const bad = adapter().verifyNotification({ headers: {}, body: charset === 'GBK' ? encodeForm(partial, 'GBK') : new URLSearchParams(partial).toString() });
      expect(!bad.ok && bad.error.code).toBe('MALFORMED');
      // Tampered after signing (a larger refund): the signature fails.
      const tampered = body.replace('refund_fee=200.00', 'refund_fee=300.00');
      const t = adapter().verifyNotification({ headers: {}, body: tampered });
      expect(!t.ok && t.error.code).toBe('BAD_SIGNATURE');
    });
  }

  it('refunds once per out_request_no, queries the refund and reads the day statement (zip of GBK CSV)', async () => {
    const a = adapter();
    const otn = 'R_ALI_1';
    await a.createOrder({ outTradeNo: otn, amountFen: 30000, subject: '罚款', expiresAt: nowS() + 3600 });
    const paid = await sim.pay('alipay', otn, { notify: 'none' });
    const input = { outTradeNo: otn, txnId: paid.txnId!, outRefundNo: 'RFA_1', amountFen: 30000, totalFen: 30000, reason: '重复缴款退款' };
    const r1 = await a.refund(input);
    expect(r1.ok && r1.value).toMatchObject({ status: 'success', amountFen: 30000 });
    const r2 = await a.refund(input);
    expect(r2.ok && r2.value).toMatchObject({ status: 'success', amountFen: 30000 });
    expect([...sim.refunds.values()].filter((x) => x.outTradeNo === otn)).toHaveLength(1);
    const q = await a.refundQuery(otn, 'RFA_1');
    expect(q.ok && q.value.status).toBe('success');
    const nf = await a.refundQuery(otn, 'RFA_NONE');
    expect(nf.ok && nf.value.status).toBe('notfound');
    const st = await a.statement('2026-11-21');
    expect(st.ok).toBe(true);
    const rows = st.ok ? st.value : [];
    expect(rows).toContainEqual(expect.objectContaining({ kind: 'payment', outTradeNo: otn, txnId: paid.txnId, amountFen: 30000 }));
    expect(rows).toContainEqual(expect.objectContaining({ kind: 'refund', outTradeNo: otn, outRefundNo: 'RFA_1', amountFen: 30000 }));
  });
});

// ---------------------------------------------------------------- WeChat Pay

interface Pair {
  privateKeyPem: string;
  publicKeyPem: string;
}

function rsaPair(): Pair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

function certificate(privateKeyPem: string, serialHex: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'fk-conf-cert-'));
  try {
    writeFileSync(join(dir, 'k.pem'), privateKeyPem, { mode: 0o600 });
    return execFileSync('openssl', ['req', '-x509', '-new', '-key', join(dir, 'k.pem'), '-subj', '/CN=Tenpay.com sign', '-days', '30', '-set_serial', `0x${serialHex}`], { encoding: 'utf8' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A WeChat Pay v3 gateway built from the independent library: every request's Authorization is
 * verified with Formatter.request + Rsa.verify; answers are signed with Formatter.response + Rsa.sign by
 * the key the test picks; certificates and notifications are encrypted with Aes.AesGcm.
 */
class LibraryGateway {
  readonly app = Fastify();
  readonly apiV3Key = randomBytes(16).toString('hex');
  readonly merchant = rsaPair();
  readonly keysBySerial: Record<string, Pair> = {};
  readonly certs: { serial: string; pem: string; expire: number }[] = [];
  readonly pubKeyId = 'PUB_KEY_ID_0114232282182025050800382000001';
  signer = this.pubKeyId;
  /** Requests whose Authorization the library verified, and those it refused. */
  readonly verified: string[] = [];
  readonly refused: string[] = [];
  certificateDownloads = 0;
  nextStatus?: { status: number; body: unknown; signed: boolean };
  base = '';

  constructor(now: () => number) {
    this.keysBySerial[this.pubKeyId] = rsaPair();
    for (const [i, serial] of ['1A2B3C4D5E6F708192A3B4C5D6E7F80910213243', '2B3C4D5E6F708192A3B4C5D6E7F8091021324354'].entries()) {
      const pair = rsaPair();
      this.keysBySerial[serial] = pair;
      this.certs.push({ serial, pem: certificate(pair.privateKeyPem, serial), expire: now() + (i === 0 ? 2 : 400) * 86_400 });
    }
    this.app.removeAllContentTypeParsers();
    this.app.addContentTypeParser('*', { parseAs: 'string' }, (_r, b, done) => done(null, b));
    this.app.addHook('preHandler', async (req, reply) => {
      if (!this.authorized(req, now)) {
        this.refused.push(`${req.method} ${req.url}`);
        return reply.code(401).send({ code: 'SIGN_ERROR', message: '签名错误' });
      }
      this.verified.push(`${req.method} ${req.url}`);
      if (this.nextStatus) {
        const n = this.nextStatus;
        this.nextStatus = undefined;
        return n.signed ? this.answer(reply, n.status, n.body, now) : reply.code(n.status).send(n.body);
      }
    });
    this.app.post('/v3/pay/transactions/native', async (req, reply) => {
      const b = JSON.parse(String(req.body)) as { out_trade_no: string };
      return this.answer(reply, 200, { code_url: `weixin://wxpay/bizpayurl?pr=${b.out_trade_no}` }, now);
    });
    this.app.get('/v3/pay/transactions/out-trade-no/:otn', async (req, reply) =>
      this.answer(reply, 200, {
        appid: 'wx0000000000000001',
        mchid: '1900000001',
        out_trade_no: (req.params as { otn: string }).otn,
        transaction_id: '4200000000202611210000000001',
        trade_state: 'SUCCESS',
        success_time: '2026-11-21T12:00:00+08:00',
        amount: { total: 20000, currency: 'CNY' },
      }, now),
    );
    this.app.post('/v3/pay/transactions/out-trade-no/:otn/close', async (_req, reply) => this.answer(reply, 204, undefined, now));
    this.app.post('/v3/refund/domestic/refunds', async (req, reply) => {
      const b = JSON.parse(String(req.body)) as { out_refund_no: string; out_trade_no: string; amount: { refund: number } };
      return this.answer(reply, 200, { refund_id: '50300000000000000001', out_refund_no: b.out_refund_no, out_trade_no: b.out_trade_no, status: 'PROCESSING', amount: { refund: b.amount.refund, total: 20000 } }, now);
    });
    this.app.get('/v3/refund/domestic/refunds/:no', async (req, reply) =>
      this.answer(reply, 200, { refund_id: '50300000000000000001', out_refund_no: (req.params as { no: string }).no, status: 'SUCCESS', success_time: '2026-11-21T12:05:00+08:00', amount: { refund: 20000, total: 20000 } }, now),
    );
    this.app.get('/v3/certificates', async (_req, reply) => {
      this.certificateDownloads++;
      const data = this.certs.map((c) => {
        const nonce = randomBytes(6).toString('hex');
        return {
          serial_no: c.serial,
          effective_time: new Date((now() - 86_400) * 1000).toISOString().replace('Z', '+00:00'),
          expire_time: new Date(c.expire * 1000).toISOString().replace(/\.\d+Z$/, '+00:00'),
          encrypt_certificate: { algorithm: 'AEAD_AES_256_GCM', nonce, associated_data: 'certificate', ciphertext: Aes.AesGcm.encrypt(c.pem, this.apiV3Key, nonce, 'certificate') },
        };
      });
      return this.answer(reply, 200, { data }, now);
    });
    this.app.get('/v3/bill/tradebill', async (req, reply) => {
      const csv = this.bill();
      return this.answer(reply, 200, { hash_type: 'SHA1', hash_value: createHash('sha1').update(csv).digest('hex'), download_url: `${this.base}/v3/billdownload/file?token=x` }, now);
    });
    this.app.get('/v3/billdownload/file', async (_req, reply) => reply.type('application/octet-stream').send(gzipSync(this.bill())));
  }

  bill(): Buffer {
    return wechatTradebillCsv([
      { kind: 'payment', outTradeNo: 'B_1_W0001', txnId: '4200000000202611210000000001', amountFen: 20000, at: Date.parse('2026-11-21T04:00:00Z') / 1000, subject: '罚款, 逗号' },
      { kind: 'refund', outTradeNo: 'B_1_W0001', txnId: '4200000000202611210000000001', amountFen: 20000, at: Date.parse('2026-11-21T05:00:00Z') / 1000, outRefundNo: 'RFW_1', refundId: '503', subject: '罚款' },
    ]);
  }

  private authorized(req: FastifyRequest, now: () => number): boolean {
    const m = /^WECHATPAY2-SHA256-RSA2048 (.*)$/.exec(req.headers.authorization ?? '');
    if (!m) return false;
    const f: Record<string, string> = {};
    for (const p of m[1]!.matchAll(/(\w+)="([^"]*)"/g)) f[p[1]!] = p[2]!;
    if (f.mchid !== '1900000001' || Math.abs(now() - Number(f.timestamp)) > 300) return false;
    const body = typeof req.body === 'string' ? req.body : '';
    const message = Formatter.request(req.method, req.url, f.timestamp!, f.nonce_str!, body);
    return Rsa.verify(message, f.signature!, createPublicKey(this.merchant.publicKeyPem));
  }

  /** Headers the library signs for a body with the chosen key. */
  signedHeaders(body: string, now: number, serial = this.signer): Record<string, string> {
    const nonce = Formatter.nonce();
    const ts = String(now);
    return {
      'Wechatpay-Timestamp': ts,
      'Wechatpay-Nonce': nonce,
      'Wechatpay-Serial': serial,
      'Wechatpay-Signature': Rsa.sign(Formatter.response(ts, nonce, body), Rsa.from(this.keysBySerial[serial]!.privateKeyPem, 'private')),
      'Wechatpay-Signature-Type': 'WECHATPAY2-SHA256-RSA2048',
    };
  }

  private answer(reply: FastifyReply, status: number, payload: unknown, now: () => number): FastifyReply {
    const body = payload === undefined ? '' : JSON.stringify(payload);
    reply.code(status).headers(this.signedHeaders(body, now()));
    return payload === undefined ? reply.send() : reply.type('application/json').send(body);
  }

  /** A notification as the library makes it: resource encrypted with AesGcm, headers signed. */
  notification(plain: Record<string, unknown>, now: number, event = 'TRANSACTION.SUCCESS', serial = this.signer): { headers: Record<string, string>; body: string } {
    const nonce = randomBytes(6).toString('hex');
    const aad = event.startsWith('REFUND') ? 'refund' : 'transaction';
    const body = JSON.stringify({
      id: 'EV-2018022511223320873',
      create_time: '2026-11-21T12:00:00+08:00',
      resource_type: 'encrypt-resource',
      event_type: event,
      summary: '支付成功',
      resource: { original_type: aad, algorithm: 'AEAD_AES_256_GCM', ciphertext: Aes.AesGcm.encrypt(JSON.stringify(plain), this.apiV3Key, nonce, aad), associated_data: aad, nonce },
    });
    return { headers: { 'content-type': 'application/json', ...this.signedHeaders(body, now, serial) }, body };
  }
}

describe('WeChat Pay v3 against an independent library acting as the gateway', () => {
  let gw: LibraryGateway;
  let wc: WechatAdapter;

  beforeAll(async () => {
    gw = new LibraryGateway(nowS);
    await gw.app.listen({ port: 0, host: '127.0.0.1' });
    const a = gw.app.server.address();
    gw.base = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
    wc = new WechatAdapter(
      {
        baseUrl: gw.base,
        mchid: '1900000001',
        appid: 'wx0000000000000001',
        merchantSerial: '5157F09EFDC096DE15EBE81A47057A7232F1B8E1',
        merchantPrivateKeyPem: gw.merchant.privateKeyPem,
        platformKeys: [{ serial: gw.pubKeyId, publicKeyPem: gw.keysBySerial[gw.pubKeyId]!.publicKeyPem }],
        apiV3Key: gw.apiV3Key,
      },
      'https://hub.example.cn/notify/wechat',
      clock,
    );
  });
  afterAll(async () => {
    await gw.app.close();
  });

  const paidTxn = (otn: string): Record<string, unknown> => ({
    appid: 'wx0000000000000001',
    mchid: '1900000001',
    out_trade_no: otn,
    transaction_id: '4200000000202611210000000009',
    trade_type: 'NATIVE',
    trade_state: 'SUCCESS',
    trade_state_desc: '支付成功',
    bank_type: 'OTHERS',
    success_time: '2026-11-21T12:00:00+08:00',
    payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' },
    amount: { total: 20000, payer_total: 20000, currency: 'CNY', payer_currency: 'CNY' },
  });

  it('every request verifies with the library; answers signed by the public key and by both certificates are believed', async () => {
    for (const signer of [gw.pubKeyId, ...gw.certs.map((c) => c.serial)]) {
      gw.signer = signer;
      const o = await wc.createOrder({ outTradeNo: 'B_1_W0001', amountFen: 20000, subject: '交通违法罚款', expiresAt: nowS() + 3600 });
      expect(o.ok, signer).toBe(true);
      const q = await wc.query('B_1_W0001');
      expect(q.ok && q.value.status).toBe('paid');
      expect((await wc.close('B_1_W0002')).ok).toBe(true);
    }
    expect(gw.refused).toEqual([]);
    expect(gw.verified.length).toBeGreaterThanOrEqual(9);
    // Certificates came from /v3/certificates, decrypted with the APIv3 key.
    expect(wc.serials()).toEqual([...gw.certs.map((c) => c.serial), gw.pubKeyId].sort());
    gw.signer = gw.pubKeyId;
  });

  it('accepts notifications signed by each of two platform certificates and by the public key', async () => {
    for (const serial of [gw.pubKeyId, ...gw.certs.map((c) => c.serial)]) {
      const n = gw.notification(paidTxn('B_1_W0001'), nowS(), 'TRANSACTION.SUCCESS', serial);
      const r = await wc.verifyNotification(n);
      expect(r.ok && r.value, serial).toMatchObject({ outTradeNo: 'B_1_W0001', status: 'paid', amountFen: 20000 });
    }
  });

  it('refuses forged and edge notifications', async () => {
    const good = gw.notification(paidTxn('B_1_W0001'), nowS());
    const code = async (n: { headers: Record<string, string>; body: string }): Promise<string | undefined> => {
      const r = await wc.verifyNotification(n);
      return r.ok ? undefined : r.error.code;
    };
    expect(await code(good)).toBeUndefined();
    expect(await code({ headers: good.headers, body: good.body.replace('支付成功', '支付成功 ') })).toBe('BAD_SIGNATURE');
    expect(await code({ ...good, headers: { ...good.headers, 'Wechatpay-Serial': 'PUB_KEY_ID_UNKNOWN' } })).toBe('UNKNOWN_KEY');
    expect(await code(gw.notification(paidTxn('B_1_W0001'), nowS() - 301))).toBe('STALE_NOTIFICATION');
    expect(await code(gw.notification({ ...paidTxn('B_1_W0001'), mchid: '1900009999' }, nowS()))).toBe('WRONG_MERCHANT');
    // Signed by a certificate key but claiming another key's serial (a signature probe).
    const probe = gw.notification(paidTxn('B_1_W0001'), nowS(), 'TRANSACTION.SUCCESS', gw.certs[0]!.serial);
    expect(await code({ ...probe, headers: { ...probe.headers, 'Wechatpay-Serial': gw.certs[1]!.serial } })).toBe('BAD_SIGNATURE');
    const tampered = JSON.parse(good.body) as { resource: { ciphertext: string } };
    const ct = Buffer.from(tampered.resource.ciphertext, 'base64');
    ct[0] = ct[0]! ^ 1;
    tampered.resource.ciphertext = ct.toString('base64');
    const body = JSON.stringify(tampered);
    expect(await code({ headers: gw.signedHeaders(body, nowS()), body })).toBe('BAD_SIGNATURE');
  });

  it('a certificate past its expiry stops verifying; the certificates are fetched again before expiry', async () => {
    const before = gw.certificateDownloads;
    clock.advance(2 * 86_400 * 1000 + 1000); // the first certificate has expired
    const n = gw.notification(paidTxn('B_1_W0001'), nowS(), 'TRANSACTION.SUCCESS', gw.certs[0]!.serial);
    expect((await wc.verifyNotification(n)).ok).toBe(false);
    expect(gw.certificateDownloads).toBeGreaterThan(before);
    const n2 = gw.notification(paidTxn('B_1_W0001'), nowS(), 'TRANSACTION.SUCCESS', gw.certs[1]!.serial);
    expect((await wc.verifyNotification(n2)).ok).toBe(true);
  });

  it('takes a certificate WeChat issues while the hub runs (rotation); unknown serials cannot make it download on every request', async () => {
    clock.advance(11 * 60 * 1000); // past the 10-minute floor between two unplanned downloads
    const serial = '3C4D5E6F708192A3B4C5D6E7F809102132435465';
    const pair = rsaPair();
    gw.keysBySerial[serial] = pair;
    gw.certs.push({ serial, pem: certificate(pair.privateKeyPem, serial), expire: nowS() + 400 * 86_400 });
    const before = gw.certificateDownloads;
    const n = gw.notification(paidTxn('B_1_W0001'), nowS(), 'TRANSACTION.SUCCESS', serial);
    const r = await wc.verifyNotification(n);
    expect(r.ok && r.value).toMatchObject({ outTradeNo: 'B_1_W0001', status: 'paid' });
    expect(gw.certificateDownloads).toBe(before + 1);
    expect(wc.serials()).toContain(serial);
    // Forged notifications naming serials nobody issued: refused, and no download for each of them.
    for (let i = 0; i < 5; i++) {
      const f = gw.notification(paidTxn('B_1_W0001'), nowS(), 'TRANSACTION.SUCCESS', serial);
      const forged = { ...f, headers: { ...f.headers, 'Wechatpay-Serial': `7F${String(i).padStart(38, '0')}` } };
      const v = await wc.verifyNotification(forged);
      expect(!v.ok && v.error.code).toBe('UNKNOWN_KEY');
    }
    expect(gw.certificateDownloads).toBe(before + 1);
    // The answers the rotated key signs are believed too.
    gw.signer = serial;
    const q = await wc.query('B_1_W0001');
    expect(q.ok && q.value.status).toBe('paid');
    gw.signer = gw.pubKeyId;
  });

  it("keeps the channel's code and message for unsigned and signed errors", async () => {
    gw.nextStatus = { status: 429, body: { code: 'FREQUENCY_LIMITED', message: '频率超限' }, signed: false };
    const r = await wc.createOrder({ outTradeNo: 'B_1_W0003', amountFen: 100, subject: 'x', expiresAt: nowS() + 600 });
    expect(!r.ok && r.error.details).toMatchObject({ channelCode: 'FREQUENCY_LIMITED', channelMessage: '频率超限', httpStatus: 429 });
    expect(!r.ok && r.error.messageZh).toContain('请求过于频繁');
    gw.nextStatus = { status: 403, body: { code: 'NO_AUTH', message: '商户无权限' }, signed: true };
    const r2 = await wc.query('B_1_W0003');
    expect(!r2.ok && r2.error.details).toMatchObject({ channelCode: 'NO_AUTH', httpStatus: 403 });
  });

  it('refunds by out_refund_no, queries it, and takes a REFUND.SUCCESS notification', async () => {
    const r = await wc.refund({ outTradeNo: 'B_1_W0001', txnId: 't', outRefundNo: 'RFW_1', amountFen: 20000, totalFen: 20000, reason: '重复缴款退款' });
    expect(r.ok && r.value).toMatchObject({ status: 'processing', outRefundNo: 'RFW_1' });
    const q = await wc.refundQuery('B_1_W0001', 'RFW_1');
    expect(q.ok && q.value).toMatchObject({ status: 'success', amountFen: 20000 });
    const n = gw.notification(
      { mchid: '1900000001', out_trade_no: 'B_1_W0001', transaction_id: '42', out_refund_no: 'RFW_1', refund_id: '503', refund_status: 'SUCCESS', success_time: '2026-11-21T12:05:00+08:00', user_received_account: '支付用户零钱', amount: { total: 20000, refund: 20000, payer_total: 20000, payer_refund: 20000 } },
      nowS(),
      'REFUND.SUCCESS',
    );
    const v = await wc.verifyRefundNotification(n);
    expect(v.ok && v.value).toMatchObject({ outRefundNo: 'RFW_1', status: 'success', amountFen: 20000 });
  });

  it('reads the tradebill (gzip, SHA1-checked) the same way the library reads it', async () => {
    const st = await wc.statement('2026-11-21');
    expect(st.ok).toBe(true);
    const lib = Formatter.castCsvBill(gw.bill()) as { rows: Record<string, string>[] };
    const ours = parseWechatStatement(gw.bill().toString('utf8'));
    expect(ours.ok && ours.value.map((r) => r.txnId)).toEqual(lib.rows.map((r) => r['微信订单号']));
    expect(ours.ok && ours.value.map((r) => r.outTradeNo)).toEqual(lib.rows.map((r) => r['商户订单号']));
    expect(st.ok && st.value).toEqual(ours.ok && ours.value);
  });
});
