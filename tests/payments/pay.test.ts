// The pay page, notifications and the scheduled query, end to end on the hub with the channel simulator.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generateSimulatorKeys, type SimulatorKeys } from '../../hub/channels/simulator.ts';
import { channelFromUserAgent } from '../../hub/pay/routes.ts';
import { makeOutTradeNo } from '../../hub/pay/service.ts';
import { publicKeyFromRaw } from '../../protocol/signing.ts';
import { ManualClock } from '../../protocol/time.ts';
import { verifyConfirmationToken } from '../../protocol/tokens.ts';
import { enrollDevice, sampleFine, STORAGES, TestDevice, type Json } from '../hub/helpers.ts';
import {
  ALIPAY_UA,
  PLAIN_UA,
  WECHAT_UA,
  openPayPage,
  startPayHub,
  stateSnapshot,
  type PayHubFixture,
} from './helpers.ts';

const T0 = Date.parse('2026-11-21T02:00:00Z');
let keys: SimulatorKeys;
let otherKeys: SimulatorKeys;
beforeAll(() => {
  keys = generateSimulatorKeys();
  otherKeys = generateSimulatorKeys();
});

it('picks the channel from the in-app browser', () => {
  expect(channelFromUserAgent(ALIPAY_UA)).toBe('alipay');
  expect(channelFromUserAgent(WECHAT_UA)).toBe('wechat');
  expect(channelFromUserAgent(PLAIN_UA)).toBeUndefined();
  // Letters, digits and underscore only: Alipay's out_trade_no alphabet.
  expect(makeOutTradeNo('B'.repeat(32), 'wechat')).toMatch(/^B{26}_W[0-9A-Z]{4}$/);
  expect(makeOutTradeNo('BK1-7', 'alipay')).toMatch(/^BK1_7_A[0-9A-Z]{4}$/);
});

describe.each(STORAGES)('pay on %s', (storage) => {
  // One hub per storage (starting PGlite is the slow part); each test starts from no open orders,
  // no unresolved refunds, an empty simulator and the feed's current cursor.
  let f: PayHubFixture;
  let clock: ManualClock;
  let dev: TestDevice;
  let startCursor = 0;
  let n = 0;
  const decision = (): string => `1100000000000${String(++n).padStart(5, '0')}`;

  beforeAll(async () => {
    clock = new ManualClock(T0);
    f = await startPayHub(storage, clock, keys);
    dev = new TestDevice('kiosk0pay', clock);
    await enrollDevice({ db: f.db, hub: f.hub, app: f.app, url: f.url, close: async () => undefined }, dev);
  });
  afterAll(async () => {
    await f.close();
  });
  beforeEach(async () => {
    f.sim.orders.clear();
    await f.db.query("UPDATE pay_orders SET status = 'closed' WHERE status = 'open'");
    await f.db.query('UPDATE pay_refunds SET resolved_at = 0 WHERE resolved_at IS NULL');
    for (;;) {
      const r = (await dev.request(f.url, 'GET', `/v1/sync/pull?cursor=${startCursor}&wait=0`)).json;
      if (r.cursor === startCursor) break;
      startCursor = r.cursor;
    }
  });

  async function newBill(
    amountFen = 20000,
  ): Promise<{ billNo: string; token: string; url: string; decisionNo: string }> {
    const decisionNo = decision();
    await f.hub.fines.importRows([sampleFine(decisionNo, '110000', { fineFen: amountFen, decidedOn: '2026-11-20' })]);
    const b = dev.issueBill(decisionNo, amountFen);
    return { billNo: b.billNo, token: b.token, url: `${f.url}/p/${b.token}`, decisionNo };
  }

  async function pull(cursor = startCursor): Promise<Json> {
    return (await dev.request(f.url, 'GET', `/v1/sync/pull?cursor=${cursor}&wait=0`)).json;
  }

  async function hubKeys(): Promise<(id: string) => ReturnType<typeof publicKeyFromRaw>> {
    const list = await f.hub.keys.list();
    return (id) => {
      const k = list.find((x) => x.keyId === id);
      return k ? publicKeyFromRaw(k.publicKey) : undefined;
    };
  }

  for (const [channel, ua] of [
    ['alipay', ALIPAY_UA],
    ['wechat', WECHAT_UA],
  ] as const) {
    it(`takes a ${channel} payment for a bill issued offline and publishes the confirmation`, async () => {
      const bill = await newBill();
      expect(await f.hub.bills.get(bill.billNo)).toBeUndefined();
      const page = await openPayPage(bill.url, ua);
      expect(page.status).toBe(200);
      expect(page.payUrl).toBeDefined();
      // The hub recorded the bill it had not seen, and the order expires with the bill.
      const hb = await f.hub.bills.get(bill.billNo);
      expect(hb?.status).toBe('live');
      const order = f.sim.order(channel, page.outTradeNo!)!;
      expect(order.amountFen).toBe(20000);
      expect(order.expiresAt).toBe(hb!.expiresAt);
      expect(order.outTradeNo.startsWith(`${bill.billNo.replace(/-/g, '_')}_`)).toBe(true);
      // The payer opens the channel's page and pays.
      const sp = await fetch(page.payUrl!);
      expect(sp.status).toBe(200);
      clock.advance(90_000);
      const paid = await f.sim.pay(channel, page.outTradeNo!);
      expect(paid.ok).toBe(true);
      expect(paid.deliveries[0]!.status).toBe(channel === 'alipay' ? 200 : 204);
      expect((await f.hub.bills.get(bill.billNo))?.status).toBe('paid');
      const fine = await f.hub.fines.byDecisionNo(bill.decisionNo);
      expect(fine?.status).toBe('paid');
      // The kiosk's pull feed carries the signed confirmation.
      const feed = await pull();
      const change = feed.changes.find((c: Json) => c.kind === 'payment');
      expect(change.billNo).toBe(bill.billNo);
      const v = verifyConfirmationToken(change.token, await hubKeys());
      expect(v.ok && v.value).toMatchObject({
        billNo: bill.billNo,
        amountFen: 20000,
        channel,
        txnId: paid.txnId,
        paidAt: Math.floor(clock.now() / 1000),
      });
      // Back on the pay page: paid, with the confirmation as QR and text; no new order.
      const after = await openPayPage(bill.url, ua);
      expect(after.status).toBe(200);
      expect(after.html).toContain(`data-token="${change.token}"`);
      expect(after.html).toContain('<svg');
      expect(f.sim.orders.size).toBe(1);
      const st = (await (await fetch(`${bill.url}/status`)).json()) as Json;
      expect(st).toEqual({ status: 'paid', confirmation: change.token });
      // A token that merely names the bill reads nothing.
      const i = bill.token.length - 10;
      const other = bill.token.slice(0, i) + (bill.token[i] === 'A' ? 'B' : 'A') + bill.token.slice(i + 1);
      expect((await fetch(`${f.url}/p/${other}/status`)).status).toBe(404);
    });
  }

  it('offers both channels to any other browser and creates no order until one is chosen', async () => {
    const bill = await newBill();
    const page = await openPayPage(bill.url, PLAIN_UA);
    expect(page.status).toBe(200);
    expect(page.html).toContain('data-channel="alipay"');
    expect(page.html).toContain('data-channel="wechat"');
    expect(page.payUrl).toBeUndefined();
    expect(f.sim.orders.size).toBe(0);
    const chosen = await openPayPage(`${bill.url}?channel=wechat`, PLAIN_UA);
    expect(chosen.payUrl).toBeDefined();
    expect(f.sim.order('wechat', chosen.outTradeNo!)).toBeDefined();
  });

  it('reuses the open order when the same bill is scanned again, even at once', async () => {
    const bill = await newBill();
    const pages = await Promise.all([1, 2, 3].map(() => openPayPage(bill.url, WECHAT_UA)));
    const again = await openPayPage(bill.url, WECHAT_UA);
    const otns = new Set([...pages, again].map((p) => p.outTradeNo));
    expect(otns.size).toBe(1);
    expect([...f.sim.orders.values()].filter((o) => o.channel === 'wechat').length).toBe(1);
    expect((await f.pay.orders(bill.billNo)).length).toBe(1);
    // Channel codes live about 2 hours: after 90 minutes the same order's code is fetched again.
    const urlAt = Number((await f.pay.orders(bill.billNo))[0]!.url_at);
    clock.advance(91 * 60_000);
    const later = await openPayPage(bill.url, WECHAT_UA);
    expect(later.outTradeNo).toBe(again.outTradeNo);
    const rows = await f.pay.orders(bill.billNo);
    expect(rows.length).toBe(1);
    expect(Number(rows[0]!.url_at)).toBe(urlAt + 91 * 60);
  });

  it('refuses an expired bill with a clear page and opens no order; the channel order expires with the bill', async () => {
    const bill = await newBill();
    const page = await openPayPage(bill.url, ALIPAY_UA);
    expect(page.payUrl).toBeDefined();
    clock.advance(4 * 3600 * 1000);
    // The payer comes back at the 4-hour mark: the channel refuses, the hub shows "expired".
    const late = await f.sim.pay('alipay', page.outTradeNo!);
    expect(late.ok).toBe(false);
    const exp = await openPayPage(bill.url, WECHAT_UA);
    expect(exp.status).toBe(410);
    expect(exp.html).toContain('id="expired"');
    expect(f.sim.orders.size).toBe(1);
    // A bill never scanned before its 4 hours: no order is created at all.
    const clock2Bill = await newBill();
    clock.advance(4 * 3600 * 1000);
    const never = await openPayPage(clock2Bill.url, ALIPAY_UA);
    expect(never.status).toBe(410);
    expect(f.sim.orders.size).toBe(1);
    expect(await f.pay.orders(clock2Bill.billNo)).toEqual([]);
    // The scheduled query closes the expired order on our side.
    const s = await f.pay.sweep();
    expect(s.closed).toBe(1);
    expect((await f.pay.orders(bill.billNo))[0]!.status).toBe('closed');
    expect((await f.hub.bills.get(bill.billNo))?.status).toBe('live');
  });

  it('shows a voided bill as voided and opens no order', async () => {
    const bill = await newBill();
    await openPayPage(bill.url, PLAIN_UA); // the hub learns of the bill
    const v = await f.hub.bills.void(bill.billNo, 'reissued');
    expect(v.ok).toBe(true);
    const page = await openPayPage(bill.url, ALIPAY_UA);
    expect(page.status).toBe(410);
    expect(page.html).toContain('id="voided"');
    expect(f.sim.orders.size).toBe(0);
  });

  it('opens no order for a fine paid or cancelled another way', async () => {
    const bill = await newBill();
    await f.hub.fines.importRows([sampleFine(bill.decisionNo, '110000', { status: 'paid' })]);
    const page = await openPayPage(bill.url, ALIPAY_UA);
    expect(page.status).toBe(410);
    expect(page.html).toContain('data-code="FINE_NOT_PAYABLE"');
    expect(f.sim.orders.size).toBe(0);
  });

  it('refuses a token from an unknown device or with a bad signature, and records nothing', async () => {
    const stranger = new TestDevice('stranger01', clock);
    const b = stranger.issueBill(decision(), 100);
    const page = await openPayPage(`${f.url}/p/${b.token}`, ALIPAY_UA);
    expect(page.status).toBe(400);
    expect(page.html).toContain('data-code="UNKNOWN_KEY"');
    const bill = await newBill();
    const forged = bill.token.replace('.20000.', '.100.');
    const p2 = await openPayPage(`${f.url}/p/${forged}`, ALIPAY_UA);
    expect(p2.status).toBe(400);
    expect(p2.html).toContain('data-code="BAD_SIGNATURE"');
    expect((await openPayPage(`${f.url}/p/nonsense`, ALIPAY_UA)).status).toBe(404);
    expect(await f.hub.bills.get(b.billNo)).toBeUndefined();
    expect(await f.hub.bills.get(bill.billNo)).toBeUndefined();
    expect(f.sim.orders.size).toBe(0);
  });

  it('refuses forged notifications, changing nothing, and a duplicate changes nothing the second time', async () => {
    const a = await newBill(5000);
    const w = await newBill(5000);
    const pa = await openPayPage(a.url, ALIPAY_UA);
    const pw = await openPayPage(w.url, WECHAT_UA);
    await f.sim.pay('alipay', pa.outTradeNo!, { notify: 'none' });
    await f.sim.pay('wechat', pw.outTradeNo!, { notify: 'none' });
    const oa = f.sim.order('alipay', pa.outTradeNo!)!;
    const ow = f.sim.order('wechat', pw.outTradeNo!)!;
    const before = await stateSnapshot(f.db);
    const post = async (n: { url: string; headers: Record<string, string>; body: string }) => {
      const r = await fetch(n.url, { method: 'POST', headers: n.headers, body: n.body });
      return { status: r.status, body: await r.text() };
    };
    const forgedA = [
      f.sim.buildNotification(oa, { afterSign: (p) => (p.trade_status = 'TRADE_SUCCESS ') }),
      f.sim.buildNotification(oa, { signingKeyPem: otherKeys.alipayPlatform.privateKeyPem }),
      f.sim.buildNotification(oa, { amountFen: 1 }),
      f.sim.buildNotification(oa, { appId: '2021009999999999' }),
    ];
    for (const n of forgedA) expect(await post(n)).toEqual({ status: 200, body: 'failure' });
    const forgedW = [
      f.sim.buildNotification(ow, { signingKeyPem: otherKeys.wechatPlatform.privateKeyPem }),
      f.sim.buildNotification(ow, { amountFen: 4999 }),
      f.sim.buildNotification(ow, { mchid: '1900009999' }),
      f.sim.buildNotification(ow, { tamperCiphertext: true }),
      f.sim.buildNotification(ow, { timestampOffset: -600 }),
      f.sim.buildNotification(ow, { apiV3Key: otherKeys.apiV3Key }),
    ];
    for (const n of forgedW) expect((await post(n)).status).toBe(400);
    expect(await stateSnapshot(f.db)).toBe(before);
    expect((await f.hub.bills.get(a.billNo))?.status).toBe('live');

    // The genuine ones, each delivered twice.
    expect(await post(f.sim.buildNotification(oa))).toEqual({ status: 200, body: 'success' });
    expect((await post(f.sim.buildNotification(ow))).status).toBe(204);
    const once = await stateSnapshot(f.db);
    expect(once).not.toBe(before);
    expect(await post(f.sim.buildNotification(oa))).toEqual({ status: 200, body: 'success' });
    expect((await post(f.sim.buildNotification(ow))).status).toBe(204);
    expect(await stateSnapshot(f.db)).toBe(once);
    const feed = await pull();
    expect(feed.changes.filter((c: Json) => c.kind === 'payment').length).toBe(2);
    expect(await f.pay.refunds()).toEqual([]);
  });

  it('settles duplicates sent by the channel itself once', async () => {
    const bill = await newBill();
    const p = await openPayPage(bill.url, ALIPAY_UA);
    const r = await f.sim.pay('alipay', p.outTradeNo!, { duplicates: 2 });
    expect(r.deliveries.map((d) => d.body)).toEqual(['success', 'success', 'success']);
    expect((await f.hub.payments.forBill(bill.billNo)).length).toBe(1);
    expect((await pull()).changes.filter((c: Json) => c.kind === 'payment').length).toBe(1);
  });

  it('settles a lost notification by the scheduled query, and a late one changes nothing', async () => {
    const bill = await newBill();
    const p = await openPayPage(bill.url, WECHAT_UA);
    const paid = await f.sim.pay('wechat', p.outTradeNo!, { notify: 'hold' });
    expect((await f.hub.bills.get(bill.billNo))?.status).toBe('live');
    // Not yet due for a query.
    expect((await f.pay.sweep()).checked).toBe(0);
    clock.advance(61_000);
    const s = await f.pay.sweep();
    expect(s).toMatchObject({ checked: 1, settled: 1 });
    expect((await f.hub.bills.get(bill.billNo))?.status).toBe('paid');
    const feed = await pull();
    const change = feed.changes.find((c: Json) => c.kind === 'payment');
    const v = verifyConfirmationToken(change.token, await hubKeys());
    expect(v.ok && v.value.txnId).toBe(paid.txnId);
    // The notification arrives after all: accepted, nothing changes.
    const snap = await stateSnapshot(f.db);
    const late = await f.sim.deliverHeld();
    expect(late[0]!.status).toBe(204);
    expect(await stateSnapshot(f.db)).toBe(snap);
    // A settled order is not queried again.
    clock.advance(120_000);
    expect((await f.pay.sweep()).checked).toBe(0);
  });

  it('settles an Alipay payment found by the query and leaves unscanned orders open', async () => {
    const a = await newBill();
    const b = await newBill();
    const pa = await openPayPage(a.url, ALIPAY_UA);
    await openPayPage(b.url, ALIPAY_UA);
    await f.sim.pay('alipay', pa.outTradeNo!, { notify: 'none' });
    clock.advance(61_000);
    const s = await f.pay.sweep();
    expect(s).toMatchObject({ checked: 2, settled: 1, closed: 0 });
    expect((await f.hub.bills.get(a.billNo))?.status).toBe('paid');
    expect((await f.hub.bills.get(b.billNo))?.status).toBe('live');
  });

  it('flags a second successful payment of one bill for refund instead of keeping it', async () => {
    const bill = await newBill();
    const pa = await openPayPage(bill.url, ALIPAY_UA);
    const pw = await openPayPage(bill.url, WECHAT_UA);
    expect(pa.outTradeNo).not.toBe(pw.outTradeNo);
    // Paid in Alipay (notification delayed), then again in WeChat.
    const first = await f.sim.pay('alipay', pa.outTradeNo!, { notify: 'hold' });
    const second = await f.sim.pay('wechat', pw.outTradeNo!);
    expect(second.ok).toBe(true);
    await f.sim.deliverHeld();
    const ps = await f.hub.payments.forBill(bill.billNo);
    expect(ps.map((p) => p.status).sort()).toEqual(['refund', 'settled']);
    const refunds = await f.pay.refunds();
    expect(refunds).toEqual([
      expect.objectContaining({
        channel: 'alipay',
        txnId: first.txnId,
        billNo: bill.billNo,
        amountFen: 20000,
      }),
    ]);
    expect((await pull()).changes.filter((c: Json) => c.kind === 'payment').length).toBe(1);
  });

  it('closes the other open order once the bill is paid; money taken on it anyway is flagged for refund', async () => {
    const bill = await newBill();
    const pa = await openPayPage(bill.url, ALIPAY_UA);
    const pw = await openPayPage(bill.url, WECHAT_UA);
    await f.sim.pay('alipay', pa.outTradeNo!);
    let orders = await f.pay.orders(bill.billNo);
    expect(orders.find((o) => o.channel === 'alipay')!.status).toBe('paid');
    // The notification only queued the closing; the background job does it.
    await f.pay.whenIdle();
    orders = await f.pay.orders(bill.billNo);
    expect(orders.find((o) => o.channel === 'wechat')!.status).toBe('closed');
    expect((await f.sim.pay('wechat', pw.outTradeNo!)).ok).toBe(false);

    // An Alipay code never scanned: close finds no trade at Alipay, so it is cancelled
    // (alipay.trade.cancel); the payer's later scan is refused and no money needs paying back.
    const bill2 = await newBill();
    const qa = await openPayPage(bill2.url, ALIPAY_UA);
    const qw = await openPayPage(bill2.url, WECHAT_UA);
    await f.sim.pay('wechat', qw.outTradeNo!);
    await f.pay.whenIdle();
    orders = await f.pay.orders(bill2.billNo);
    expect(orders.find((o) => o.channel === 'alipay')!.status).toBe('closed');
    const late = await f.sim.pay('alipay', qa.outTradeNo!);
    expect(late.ok).toBe(false);
    expect((await f.pay.refunds()).filter((r) => r.billNo === bill2.billNo)).toEqual([]);
    expect((await f.hub.bills.get(bill2.billNo))?.status).toBe('paid');
  });
});
