// The kiosk's sync engine against a real hub (PGlite, and PostgreSQL when DATABASE_URL is set).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openKiosk, type Kiosk } from '../../main/kiosk.ts';
import { backoffDelay, enroll, SyncEngine, syncStatus } from '../../main/sync/engine.ts';
import { ManualClock } from '../../protocol/time.ts';
import { sampleFine, STORAGES, startTestHub, type TestHub } from '../hub/helpers.ts';

describe('backoff', () => {
  it('is full jitter over an exponential ceiling, capped', () => {
    expect(backoffDelay(1, 100, 1000, () => 0.999)).toBe(99);
    expect(backoffDelay(3, 100, 1000, () => 0.5)).toBe(200);
    expect(backoffDelay(30, 100, 1000, () => 0.999)).toBe(999);
    expect(backoffDelay(5, 100, 1000, () => 0)).toBe(0);
  });
});

describe.each(STORAGES)('sync engine with a hub on %s', (storage) => {
  let t: TestHub;
  let dir: string;
  let kiosk: Kiosk;
  beforeEach(async () => {
    t = await startTestHub(storage);
    dir = mkdtempSync(path.join(os.tmpdir(), 'fk-sync-'));
    kiosk = openKiosk({ dataDir: dir });
  });
  afterEach(async () => {
    kiosk.close();
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function enrolled(region = '110000'): Promise<void> {
    const code = await t.hub.devices.add({ name: 'Hall', region });
    if (!code.ok) throw new Error();
    const r = await enroll(kiosk, { hubUrl: t.url, code: code.value.code });
    expect(r.ok).toBe(true);
  }

  it('enrolls, receives region fines, pushes bills, and learns of a payment made on the phone', async () => {
    await enrolled();
    expect(kiosk.trust.list()).toHaveLength(1);
    await t.hub.fines.importRows([
      sampleFine('110000000000000001'),
      sampleFine('110000000000000002'),
      sampleFine('320000000000000001', '320000'),
    ]);
    const engine = new SyncEngine(kiosk);
    expect((await engine.pullAll()).ok).toBe(true);
    expect(kiosk.fines.count()).toBe(2);
    const bill = kiosk.bills.issue('110000000000000001');
    expect(bill.ok).toBe(true);
    if (!bill.ok) return;
    const push = await engine.pushAll();
    expect(push.ok && push.value.pushed).toBeGreaterThan(0);
    expect(syncStatus(kiosk).queued).toBe(0);
    expect((await t.hub.bills.get(bill.value.billNo))?.status).toBe('live');
    const s = await t.hub.payments.settle({
      billNo: bill.value.billNo,
      amountFen: bill.value.amountFen,
      channel: 'wechat',
      txnId: 'WX1',
      paidAt: Math.floor(Date.now() / 1000),
    });
    expect(s.ok && s.value.status).toBe('settled');
    // The online kiosk is long-polling: it learns within a second.
    engine.start();
    // Waits for the state, not for a time: a slow machine only takes longer (the test's timeout bounds it).
    for (;;) {
      const b = kiosk.bills.get(bill.value.billNo);
      if (b.ok && b.value.status === 'paid') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await engine.stop();
    // The kiosk's own payment event goes back to the hub and changes nothing there.
    expect((await engine.pushAll()).ok).toBe(true);
    expect(syncStatus(kiosk).queued).toBe(0);
    expect((await t.hub.verifyChains()).broken).toEqual([]);
    expect((await t.hub.payments.forBill(bill.value.billNo)).map((p) => p.status)).toEqual(['settled']);
  });

  it('looks a fine up online and caches it', async () => {
    await enrolled('320000');
    await t.hub.fines.importRows([sampleFine('110000000000000005')]);
    const engine = new SyncEngine(kiosk);
    const r = await engine.lookup({ decisionNo: '110000000000000005' });
    expect(r.ok && r.value.length).toBe(1);
    expect(kiosk.fines.get('110000000000000005')?.decisionNo).toBe('110000000000000005');
  });

  it('says plainly when the clock is off by more than 5 minutes', async () => {
    await enrolled();
    await t.hub.fines.importRows([sampleFine('110000000000000001')]);
    kiosk.fines.upsertMany([sampleFine('110000000000000001') as never]);
    kiosk.bills.issue('110000000000000001');
    const clock = new ManualClock(Date.now() + 7 * 60_000);
    const engine = new SyncEngine(kiosk, { clock });
    const r = await engine.pushAll();
    expect(!r.ok && r.error.code).toBe('CLOCK_SKEW');
    const st = syncStatus(kiosk);
    expect(st.clockOffsetSeconds).toBeGreaterThan(400);
    expect(st.clockWarning).toMatch(/7 minute\(s\) ahead/);
    expect(st.lastError?.code).toBe('CLOCK_SKEW');
    expect(st.queued).toBeGreaterThan(0);
  });

  it('refuses a disabled device', async () => {
    await enrolled();
    await t.hub.devices.setEnabled(kiosk.identity.deviceId, false);
    const r = await new SyncEngine(kiosk).pullOnce();
    expect(!r.ok && r.error.code).toBe('DEVICE_DISABLED');
  });

  it('retries with backoff while the hub is down and at once when told the network is back', async () => {
    await enrolled();
    await t.hub.fines.importRows([sampleFine('110000000000000001')]);
    kiosk.fines.upsertMany([sampleFine('110000000000000001') as never]);
    kiosk.bills.issue('110000000000000001');
    let down = true;
    const delays: number[] = [];
    const engine = new SyncEngine(kiosk, {
      transport: async (url, init) => {
        if (down) throw new Error('ECONNREFUSED');
        return fetch(url, init);
      },
      random: () => 0.5,
      baseDelayMs: 100,
      maxDelayMs: 60_000,
      pullWaitSeconds: 1,
      sleep: (ms, signal) => {
        delays.push(ms);
        // Waits are only ended by now() (or stop): the test controls time.
        return new Promise((resolve) =>
          signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve()),
        );
      },
    });
    // Each step waits for what it expects to happen (never for a time), so a busy machine only takes longer.
    const until = async (cond: () => boolean) => {
      while (!cond()) await new Promise((r) => setTimeout(r, 5));
    };
    engine.start();
    await until(() => syncStatus(kiosk).lastError?.code === 'HUB_UNREACHABLE');
    await until(() => delays.length >= 2);
    engine.now();
    await until(() => delays.length >= 4);
    engine.now();
    await until(() => delays.length >= 6);
    // Backoff doubles (jitter fixed at 0.5 here): 50, 100, 200 ... for each loop.
    expect(delays.filter((d) => d >= 50).length).toBeGreaterThanOrEqual(4);
    expect(Math.max(...delays)).toBeGreaterThanOrEqual(100);
    down = false;
    engine.now();
    await until(() => syncStatus(kiosk).queued === 0);
    await engine.stop();
    // Started again after a stop, the loops wait instead of spinning.
    const before = delays.length;
    engine.start();
    await new Promise((r) => setTimeout(r, 100));
    expect(delays.length - before).toBeLessThanOrEqual(2);
    await engine.stop();
  });

  it('learns a rotated hub key and new config through pull, and trusts payments signed with the new key', async () => {
    await enrolled();
    await t.hub.fines.importRows([sampleFine('110000000000000003')]);
    const engine = new SyncEngine(kiosk);
    expect((await engine.pullAll()).ok).toBe(true);
    const rotated = await t.hub.keys.rotate();
    await t.hub.config.set('decisionPattern', '^[0-9]{18}$');
    expect((await engine.pullAll()).ok).toBe(true);
    expect(kiosk.trust.list().map((k) => k.keyId)).toContain(rotated.keyId);
    expect(kiosk.trust.list()).toHaveLength(2);
    expect(kiosk.settings.get('decisionPattern')).toBe('^[0-9]{18}$');
    const bill = kiosk.bills.issue('110000000000000003');
    if (!bill.ok) throw new Error(bill.error.message);
    expect((await engine.pushAll()).ok).toBe(true);
    const s = await t.hub.payments.settle({
      billNo: bill.value.billNo,
      amountFen: bill.value.amountFen,
      channel: 'alipay',
      txnId: 'AP9',
      paidAt: Math.floor(Date.now() / 1000),
    });
    expect(s.ok && s.value.claims?.keyId).toBe(rotated.keyId);
    expect((await engine.pullAll()).ok).toBe(true);
    const b = kiosk.bills.get(bill.value.billNo);
    expect(b.ok && b.value.status).toBe('paid');
  });
  it('verifies every answer of the hub through two key rotations, one change per page', async () => {
    await enrolled();
    await t.hub.fines.importRows([sampleFine('110000000000000004')]);
    const engine = new SyncEngine(kiosk, { pullLimit: 1 });
    expect((await engine.pullAll()).ok).toBe(true);
    // Two rotations while this kiosk does not pull, then a fine that comes before the announcements on
    // no page: the first pages are signed by a key this kiosk has not learned yet.
    const k2 = await t.hub.keys.rotate();
    const k3 = await t.hub.keys.rotate();
    await t.hub.fines.importRows([sampleFine('110000000000000005')]);
    const r = await engine.pullAll();
    expect(r.ok && r.value.applied).toBeGreaterThanOrEqual(5);
    expect(kiosk.trust.list().map((k) => [k.keyId, k.retiredAt !== null])).toEqual(
      expect.arrayContaining([
        [k2.keyId, true],
        [k3.keyId, false],
      ]),
    );
    expect(kiosk.fines.count()).toBe(2);
    expect(syncStatus(kiosk).refusedChanges).toEqual([]);
    // Pushes and lookups are signed too.
    expect(kiosk.bills.issue('110000000000000005').ok).toBe(true);
    expect((await engine.pushAll()).ok).toBe(true);
    expect((await engine.lookup({ decisionNo: '110000000000000004' })).ok).toBe(true);
  });
});
