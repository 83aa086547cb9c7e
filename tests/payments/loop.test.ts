// The full loop on the simulator: a kiosk issues a bill, the phone opens its QR URL in Alipay's or
// WeChat's browser and pays, the notification reaches the hub, the online kiosk sees the payment
// through the long poll within 2 seconds and prints the receipt; an offline kiosk takes the
// confirmation scanned from the phone and later sync agrees with the hub.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generateSimulatorKeys, type SimulatorKeys } from '../../hub/channels/simulator.ts';
import { openKiosk, type Kiosk } from '../../main/kiosk.ts';
import { enroll, SyncEngine } from '../../main/sync/engine.ts';
import { encodeReceipt } from '../../printer/documents/index.ts';
import { getProfile } from '../../printer/profiles.ts';
import { interpretBytes } from '../../printer/virtual/interpreter.ts';
import { ManualClock } from '../../protocol/time.ts';
import { sampleFine, STORAGES } from '../hub/helpers.ts';
import { ALIPAY_UA, WECHAT_UA, openPayPage, startPayHub, type PayHubFixture } from './helpers.ts';

const T0 = Date.parse('2026-11-21T02:00:00Z');
let keys: SimulatorKeys;
beforeAll(() => {
  keys = generateSimulatorKeys();
});

describe.each(STORAGES)('full payment loop on %s', (storage) => {
  // One hub per storage; a fresh kiosk (own data folder, own enrollment, own fine) per test.
  let f: PayHubFixture;
  let clock: ManualClock;
  let dir: string;
  let kiosk: Kiosk;
  let engine: SyncEngine | undefined;
  let decisionNo = '';
  let n = 0;

  beforeAll(async () => {
    clock = new ManualClock(T0);
    // The scheduled query runs every second of real time; orders are due 60 s of the test clock apart.
    f = await startPayHub(storage, clock, keys, { sweepIntervalSeconds: 1 });
  });
  afterAll(async () => {
    await f.close();
  });
  beforeEach(async () => {
    decisionNo = `11000000000001234${++n}`;
    await f.hub.fines.importRows([sampleFine(decisionNo, '110000', { decidedOn: '2026-11-20' })]);
    dir = mkdtempSync(path.join(os.tmpdir(), 'fk-payloop-'));
    kiosk = openKiosk({ dataDir: dir, clock });
    const code = await f.hub.devices.add({ name: `Hall ${n}`, region: '110000' });
    if (!code.ok) throw new Error('device add');
    const e = await enroll(kiosk, { hubUrl: f.url, code: code.value.code });
    expect(e.ok).toBe(true);
  });
  afterEach(async () => {
    await engine?.stop();
    engine = undefined;
    kiosk.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function waitFor(cond: () => boolean, ms: number): Promise<number> {
    const t0 = performance.now();
    while (!cond()) {
      if (performance.now() - t0 > ms) throw new Error(`not within ${ms} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return performance.now() - t0;
  }

  function receiptLines(billNo: string): string {
    const b = kiosk.bills.get(billNo);
    if (!b.ok || !b.value.payment) throw new Error('no payment on the bill');
    const bytes = encodeReceipt(
      { billNo, decisionNo: b.value.decisionNo, deviceId: b.value.deviceId, ...b.value.payment },
      getProfile('generic-80')!,
    );
    return interpretBytes(bytes)
      .flatMap((p) => [...p.lines, ...p.kanjiSegments])
      .join('\n');
  }

  for (const [channel, ua] of [
    ['alipay', ALIPAY_UA],
    ['wechat', WECHAT_UA],
  ] as const) {
    it(`online: ${channel} payment is seen by the kiosk within 2 seconds, and the receipt prints`, async () => {
      engine = new SyncEngine(kiosk, { pullWaitSeconds: 10, idlePollMs: 50 });
      expect((await engine.pullAll()).ok).toBe(true);
      const issued = kiosk.bills.issue(decisionNo);
      if (!issued.ok) throw new Error(issued.error.message);
      const bill = issued.value;
      expect(bill.url).toBe(`${f.url}/p/${bill.token}`);
      engine.start();

      // The phone opens the printed QR in the channel's app and goes on to pay.
      const page = await openPayPage(bill.url, ua);
      expect(page.status).toBe(200);
      const channelPage = await fetch(page.payUrl!);
      expect(await channelPage.text()).toContain('data-state="open"');
      const res = await fetch(
        `${f.sim.baseUrl}/sim/api/orders/${channel}/${encodeURIComponent(page.outTradeNo!)}/pay`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
        },
      );
      expect(res.status).toBe(200);
      const paid = (await res.json()) as { txnId: string };
      await waitFor(() => {
        const b = kiosk.bills.get(bill.billNo);
        return b.ok && b.value.status === 'paid';
      }, 25_000);
      const after = kiosk.bills.get(bill.billNo);
      expect(after.ok && after.value.payment).toMatchObject({
        channel,
        txnId: paid.txnId,
        amountFen: bill.amountFen,
      });
      const receipt = receiptLines(bill.billNo);
      expect(receipt).toContain(paid.txnId);
      expect(receipt).toContain(bill.billNo);
    });
  }

  it('online, notification lost: the scheduled query settles it and the kiosk sees it', async () => {
    engine = new SyncEngine(kiosk, { pullWaitSeconds: 10, idlePollMs: 50 });
    expect((await engine.pullAll()).ok).toBe(true);
    const issued = kiosk.bills.issue(decisionNo);
    if (!issued.ok) throw new Error(issued.error.message);
    const bill = issued.value;
    engine.start();
    const page = await openPayPage(bill.url, ALIPAY_UA);
    const paid = await f.sim.pay('alipay', page.outTradeNo!, { notify: 'none' });
    expect(paid.ok).toBe(true);
    clock.advance(61_000);
    await waitFor(() => {
      const b = kiosk.bills.get(bill.billNo);
      return b.ok && b.value.status === 'paid';
    }, 5000);
    const after = kiosk.bills.get(bill.billNo);
    expect(after.ok && after.value.payment?.txnId).toBe(paid.txnId);
  });

  it('offline: the kiosk accepts the confirmation scanned from the phone, and later sync agrees', async () => {
    engine = new SyncEngine(kiosk, { pullWaitSeconds: 0 });
    expect((await engine.pullAll()).ok).toBe(true);
    const issued = kiosk.bills.issue(decisionNo);
    if (!issued.ok) throw new Error(issued.error.message);
    const bill = issued.value;
    // The kiosk is cut off; the phone pays.
    const page = await openPayPage(bill.url, WECHAT_UA);
    const paid = await f.sim.pay('wechat', page.outTradeNo!);
    expect(paid.ok).toBe(true);
    const result = await openPayPage(bill.url, WECHAT_UA);
    const token = /data-token="([^"]+)"/.exec(result.html)?.[1];
    expect(token).toMatch(/^c1\./);
    // Scanned at the kiosk from the phone's screen.
    const c = kiosk.payments.confirm(token!);
    expect(c.ok && c.value).toMatchObject({ billNo: bill.billNo, channel: 'wechat', txnId: paid.txnId });
    const again = kiosk.payments.confirm(token!);
    expect(again.ok).toBe(false);
    // Network back: push and pull agree, nothing is paid twice.
    expect((await engine.pushAll()).ok).toBe(true);
    expect((await engine.pullAll()).ok).toBe(true);
    const b = kiosk.bills.get(bill.billNo);
    expect(b.ok && b.value.status).toBe('paid');
    expect(kiosk.payments.listSince(0).filter((p) => p.billNo === bill.billNo).length).toBe(1);
    const hubPayments = await f.hub.payments.forBill(bill.billNo);
    expect(hubPayments.map((p) => [p.txnId, p.status])).toEqual([[paid.txnId, 'settled']]);
    expect((await f.hub.bills.get(bill.billNo))?.status).toBe('paid');
    expect(receiptLines(bill.billNo)).toContain(paid.txnId);
  });
});
