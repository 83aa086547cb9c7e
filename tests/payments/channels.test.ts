// The Alipay and WeChat Pay v3 adapters against the channel simulator, on the wire.
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../protocol/time.ts';
import { AlipayAdapter } from '../../hub/channels/alipay.ts';
import { WechatAdapter, decryptResource, encryptResource } from '../../hub/channels/wechat.ts';
import { ChannelSimulator, generateSimulatorKeys, type SimulatorKeys } from '../../hub/channels/simulator.ts';
import type { RawNotification } from '../../hub/channels/types.ts';
import {
  parseShanghaiTimestamp,
  rawJsonMember,
  rfc3339Shanghai,
  shanghaiTimestamp,
  fenToYuan,
  yuanToFen,
} from '../../hub/channels/util.ts';

const T0 = Date.parse('2026-11-21T04:00:00Z'); // 12:00 in Shanghai

let keys: SimulatorKeys;
let otherKeys: SimulatorKeys;
let sim: ChannelSimulator;
let clock: ManualClock;
let capture: FastifyInstance;
let notifyBase: string;
const received: RawNotification[] = [];

beforeAll(async () => {
  keys = generateSimulatorKeys();
  otherKeys = generateSimulatorKeys();
  clock = new ManualClock(T0);
  sim = new ChannelSimulator({ clock, keys });
  await sim.start(0);
  capture = Fastify();
  capture.removeAllContentTypeParsers();
  capture.addContentTypeParser('*', { parseAs: 'string' }, (_r, b, done) => done(null, b));
  capture.post('/notify/:ch', async (req, reply) => {
    received.push({ headers: req.headers, body: String(req.body) });
    const ch = (req.params as { ch: string }).ch;
    return ch === 'alipay' ? reply.type('text/plain').send('success') : reply.code(204).send();
  });
  await capture.listen({ port: 0, host: '127.0.0.1' });
  const a = capture.server.address();
  notifyBase = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
});

afterAll(async () => {
  await sim.close();
  await capture.close();
});

function adapters(): { alipay: AlipayAdapter; wechat: WechatAdapter } {
  const cfg = sim.hubConfig();
  return {
    alipay: new AlipayAdapter(cfg.alipay, `${notifyBase}/notify/alipay`, clock),
    wechat: new WechatAdapter(cfg.wechat, `${notifyBase}/notify/wechat`, clock),
  };
}

const nowS = (): number => Math.floor(clock.now() / 1000);

describe('formats', () => {
  it('writes Shanghai timestamps, RFC 3339 with +08:00 and yuan strings', () => {
    const t = Date.parse('2026-11-21T04:05:06Z') / 1000;
    expect(shanghaiTimestamp(t)).toBe('2026-11-21 12:05:06');
    expect(parseShanghaiTimestamp('2026-11-21 12:05:06')).toBe(t);
    expect(rfc3339Shanghai(t)).toBe('2026-11-21T12:05:06+08:00');
    expect(fenToYuan(20000)).toBe('200.00');
    expect(fenToYuan(5)).toBe('0.05');
    expect(yuanToFen('200.00')).toBe(20000);
    expect(yuanToFen('0.1')).toBe(10);
    expect(yuanToFen('1e3')).toBeUndefined();
  });

  it('extracts the exact bytes of a JSON member', () => {
    const text = '{"a_response":{"x":"}{\\"","n":{"k":1}} ,"sign":"s"}';
    expect(rawJsonMember(text, 'a_response')).toBe('{"x":"}{\\"","n":{"k":1}}');
    expect(rawJsonMember(text, 'b')).toBeUndefined();
  });

  it('round-trips AES-256-GCM resources and refuses a flipped bit', () => {
    const r = encryptResource(keys.apiV3Key, '{"a":1}');
    expect(decryptResource(keys.apiV3Key, r)).toBe('{"a":1}');
    const b = Buffer.from(r.ciphertext, 'base64');
    b[1] = b[1]! ^ 0x80;
    expect(decryptResource(keys.apiV3Key, { ...r, ciphertext: b.toString('base64') })).toBeUndefined();
    expect(decryptResource(keys.apiV3Key, { ...r, associated_data: 'other' })).toBeUndefined();
  });
});

describe('Alipay adapter', () => {
  it('precreates with time_expire and the amount, queries, and sees the payment', async () => {
    const { alipay } = adapters();
    const expiresAt = nowS() + 4 * 3600;
    const created = await alipay.createOrder({
      outTradeNo: 'B1_A01',
      amountFen: 20000,
      subject: '交通罚款',
      expiresAt,
    });
    expect(created.ok).toBe(true);
    const o = sim.order('alipay', 'B1_A01')!;
    expect(o.amountFen).toBe(20000);
    expect(o.expiresAt).toBe(expiresAt);
    expect(o.notifyUrl).toBe(`${notifyBase}/notify/alipay`);
    // Not scanned yet: Alipay does not know the trade.
    const q0 = await alipay.query('B1_A01');
    expect(q0.ok && q0.value.status).toBe('notfound');
    const paid = await sim.pay('alipay', 'B1_A01');
    expect(paid.ok).toBe(true);
    expect(paid.deliveries[0]!.body).toBe('success');
    const q = await alipay.query('B1_A01');
    expect(q.ok && q.value).toMatchObject({
      status: 'paid',
      amountFen: 20000,
      txnId: paid.txnId,
      paidAt: nowS(),
    });
    // The notification that reached the merchant verifies.
    const n = alipay.verifyNotification(received.at(-1)!);
    expect(n.ok && n.value).toMatchObject({
      outTradeNo: 'B1_A01',
      status: 'paid',
      amountFen: 20000,
      txnId: paid.txnId,
    });
    // A paid trade cannot be closed.
    const c = await alipay.close('B1_A01');
    expect(c.ok).toBe(false);
  });

  it('closes an open order so it cannot be paid', async () => {
    const { alipay } = adapters();
    await alipay.createOrder({ outTradeNo: 'B1_A02', amountFen: 100, subject: 'x', expiresAt: nowS() + 60 });
    sim.abandon('alipay', 'B1_A02');
    expect((await alipay.query('B1_A02')).ok).toBe(true);
    expect((await alipay.close('B1_A02')).ok).toBe(true);
    const q = await alipay.query('B1_A02');
    expect(q.ok && q.value.status).toBe('closed');
    expect((await sim.pay('alipay', 'B1_A02')).ok).toBe(false);
  });

  it('is refused by the gateway when signed with the wrong app key', async () => {
    const cfg = sim.hubConfig();
    const bad = new AlipayAdapter(
      { ...cfg.alipay, appPrivateKeyPem: otherKeys.alipayApp.privateKeyPem },
      'http://x/n',
      clock,
    );
    const r = await bad.createOrder({
      outTradeNo: 'B1_A03',
      amountFen: 100,
      subject: 'x',
      expiresAt: nowS() + 60,
    });
    expect(!r.ok && r.error.code).toBe('CHANNEL_ERROR');
    expect(sim.order('alipay', 'B1_A03')).toBeUndefined();
  });

  it('refuses a gateway answer not signed by Alipay', async () => {
    const cfg = sim.hubConfig();
    const bad = new AlipayAdapter(
      { ...cfg.alipay, alipayPublicKeyPem: otherKeys.alipayPlatform.publicKeyPem },
      'http://x/n',
      clock,
    );
    const r = await bad.query('B1_A01');
    expect(!r.ok && r.error.code).toBe('BAD_SIGNATURE');
  });

  it('refuses forged notifications', async () => {
    const { alipay } = adapters();
    await alipay.createOrder({
      outTradeNo: 'B1_A04',
      amountFen: 5000,
      subject: 'x',
      expiresAt: nowS() + 600,
    });
    await sim.pay('alipay', 'B1_A04', { notify: 'none' });
    const o = sim.order('alipay', 'B1_A04')!;
    const good = sim.buildNotification(o);
    expect(alipay.verifyNotification(good).ok).toBe(true);
    const code = (n: RawNotification): string | undefined => {
      const r = alipay.verifyNotification(n);
      return r.ok ? undefined : r.error.code;
    };
    expect(await code(sim.buildNotification(o, { afterSign: (p) => (p.total_amount = '0.01') }))).toBe(
      'BAD_SIGNATURE',
    );
    expect(await code(sim.buildNotification(o, { signingKeyPem: otherKeys.alipayPlatform.privateKeyPem }))).toBe(
      'BAD_SIGNATURE',
    );
    expect(await code(sim.buildNotification(o, { appId: '2021009999999999' }))).toBe('WRONG_MERCHANT');
    expect(await code({ headers: {}, body: good.body.replace('sign_type=RSA2', 'sign_type=RSA') })).toBe(
      'MALFORMED',
    );
    expect(await code({ headers: {}, body: good.body + '&trade_no=1' })).toBe('MALFORMED');
    // Properly signed but not a success state: verified, yet not paid.
    const waiting = alipay.verifyNotification(sim.buildNotification(o, { status: 'WAIT_BUYER_PAY' }));
    expect(waiting.ok && waiting.value.status).toBe('open');
    const finished = alipay.verifyNotification(sim.buildNotification(o, { status: 'TRADE_FINISHED' }));
    expect(finished.ok && finished.value.status).toBe('paid');
    // A wrong amount is signed correctly by the channel: the adapter reports it for the order check.
    const wrongAmount = alipay.verifyNotification(sim.buildNotification(o, { amountFen: 1 }));
    expect(wrongAmount.ok && wrongAmount.value.amountFen).toBe(1);
    expect(alipay.ack(true).body).toBe('success');
  });
});

describe('WeChat Pay v3 adapter', () => {
  it('creates a Native order, queries by out_trade_no and sees the payment', async () => {
    const { wechat } = adapters();
    const expiresAt = nowS() + 4 * 3600;
    const created = await wechat.createOrder({
      outTradeNo: 'B1-W01',
      amountFen: 20000,
      subject: '交通罚款',
      expiresAt,
    });
    expect(created.ok).toBe(true);
    expect(sim.order('wechat', 'B1-W01')).toMatchObject({ amountFen: 20000, expiresAt });
    const q0 = await wechat.query('B1-W01');
    expect(q0.ok && q0.value.status).toBe('open');
    const nf = await wechat.query('B1-NONE');
    expect(nf.ok && nf.value.status).toBe('notfound');
    const paid = await sim.pay('wechat', 'B1-W01');
    expect(paid.deliveries[0]!.status).toBe(204);
    const q = await wechat.query('B1-W01');
    expect(q.ok && q.value).toMatchObject({ status: 'paid', amountFen: 20000, txnId: paid.txnId });
    const n = await wechat.verifyNotification(received.at(-1)!);
    expect(n.ok && n.value).toMatchObject({
      outTradeNo: 'B1-W01',
      status: 'paid',
      amountFen: 20000,
      txnId: paid.txnId,
      paidAt: nowS(),
    });
  });

  it('closes an open order and reports a failed attempt', async () => {
    const { wechat } = adapters();
    await wechat.createOrder({ outTradeNo: 'B1-W02', amountFen: 100, subject: 'x', expiresAt: nowS() + 60 });
    sim.fail('wechat', 'B1-W02');
    const q = await wechat.query('B1-W02');
    expect(q.ok && q.value.status).toBe('failed');
    expect((await wechat.close('B1-W02')).ok).toBe(true);
    const q2 = await wechat.query('B1-W02');
    expect(q2.ok && q2.value.status).toBe('closed');
  });

  it('an order expires with its time_expire', async () => {
    const { wechat } = adapters();
    await wechat.createOrder({ outTradeNo: 'B1-W03', amountFen: 100, subject: 'x', expiresAt: nowS() + 60 });
    clock.advance(61_000);
    expect((await sim.pay('wechat', 'B1-W03')).ok).toBe(false);
    const q = await wechat.query('B1-W03');
    expect(q.ok && q.value.status).toBe('closed');
  });

  it('is refused with a wrong merchant key, and refuses answers signed by another key', async () => {
    const cfg = sim.hubConfig();
    const badReq = new WechatAdapter(
      { ...cfg.wechat, merchantPrivateKeyPem: otherKeys.wechatMerchant.privateKeyPem },
      'http://x/n',
      clock,
    );
    const r = await badReq.createOrder({
      outTradeNo: 'B1-W04',
      amountFen: 100,
      subject: 'x',
      expiresAt: nowS() + 60,
    });
    expect(!r.ok && r.error.code).toBe('CHANNEL_ERROR');
    const badAns = new WechatAdapter(
      {
        ...cfg.wechat,
        platformKeys: [{ serial: 'PUB_KEY_ID_0000000000000000000000000001', publicKeyPem: otherKeys.wechatPubKey.publicKeyPem }],
        downloadCertificates: false,
      },
      'http://x/n',
      clock,
    );
    const r2 = await badAns.query('B1-W01');
    expect(!r2.ok && r2.error.code).toBe('BAD_SIGNATURE');
  });

  it('refuses forged, tampered and stale notifications', async () => {
    const { wechat } = adapters();
    await wechat.createOrder({
      outTradeNo: 'B1-W05',
      amountFen: 5000,
      subject: 'x',
      expiresAt: nowS() + 600,
    });
    await sim.pay('wechat', 'B1-W05', { notify: 'none' });
    const o = sim.order('wechat', 'B1-W05')!;
    const code = async (n: RawNotification): Promise<string | undefined> => {
      const r = await wechat.verifyNotification(n);
      return r.ok ? undefined : r.error.code;
    };
    const good = sim.buildNotification(o);
    expect(await code(good)).toBeUndefined();
    expect(await code({ headers: good.headers, body: good.body.replace('TRANSACTION.SUCCESS', 'TRANSACTION.SUCCESs') }),
    ).toBe('BAD_SIGNATURE');
    expect(await code(sim.buildNotification(o, { signingKeyPem: otherKeys.wechatPubKey.privateKeyPem }))).toBe(
      'BAD_SIGNATURE',
    );
    expect(await code(sim.buildNotification(o, { tamperCiphertext: true }))).toBe('BAD_SIGNATURE');
    expect(await code(sim.buildNotification(o, { apiV3Key: otherKeys.apiV3Key }))).toBe('BAD_SIGNATURE');
    expect(await code(sim.buildNotification(o, { mchid: '1900009999' }))).toBe('WRONG_MERCHANT');
    expect(await code(sim.buildNotification(o, { serial: 'PUB_KEY_ID_OTHER' }))).toBe('UNKNOWN_KEY');
    expect(await code(sim.buildNotification(o, { timestampOffset: -301 }))).toBe('STALE_NOTIFICATION');
    expect(await code(sim.buildNotification(o, { timestampOffset: 301 }))).toBe('STALE_NOTIFICATION');
    expect(await code(sim.buildNotification(o, { timestampOffset: -299 }))).toBeUndefined();
    const { 'Wechatpay-Signature': _s, ...noSig } = good.headers;
    expect(await code({ headers: noSig, body: good.body })).toBe('MALFORMED');
    const notPaid = await wechat.verifyNotification(sim.buildNotification(o, { status: 'NOTPAY' }));
    expect(notPaid.ok && notPaid.value.status).toBe('open');
    const refund = await wechat.verifyNotification(sim.buildNotification(o, { status: 'REFUND' }));
    expect(refund.ok && refund.value.status).toBe('failed');
    expect(wechat.ack(false, 'x').status).toBe(400);
  });
});
