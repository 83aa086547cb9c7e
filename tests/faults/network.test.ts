// Network faults between kiosks and hub: with requests and responses dropped, duplicated, reordered,
// delayed, reset and answered with 500s (seeded), thousands of events from several kiosks end up on the
// hub exactly once when the network heals; every queue empties and every chain verifies.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openKiosk, type Kiosk } from '../../main/kiosk.ts';
import { enroll, SyncEngine, syncStatus } from '../../main/sync/engine.ts';
import { STORAGES, sampleFine, startTestHub, type TestHub } from '../hub/helpers.ts';
import { mulberry32, startFaultProxy, type FaultProxy } from './network-proxy.ts';

const KIOSKS = 4;
const EVENTS_PER_KIOSK = 600;
const SEED = 20261121;

describe.each(STORAGES)('sync through a faulty network (hub on %s)', (storage) => {
  let t: TestHub;
  let proxy: FaultProxy;
  const dirs: string[] = [];
  const kiosks: Kiosk[] = [];
  beforeEach(async () => {
    t = await startTestHub(storage);
    proxy = await startFaultProxy(t.url, SEED);
  });
  afterEach(async () => {
    for (const k of kiosks.splice(0)) k.close();
    await proxy.close();
    await t.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('delivers every event exactly once', { timeout: 600_000 }, async () => {
    const fines = Array.from({ length: 40 }, (_, i) =>
      sampleFine(`11000000000000${String(i).padStart(4, '0')}`),
    );
    await t.hub.fines.importRows(fines);
    const engines: SyncEngine[] = [];
    for (let i = 0; i < KIOSKS; i++) {
      const dir = mkdtempSync(path.join(os.tmpdir(), `fk-net-${i}-`));
      dirs.push(dir);
      const k = openKiosk({ dataDir: dir });
      kiosks.push(k);
      const code = await t.hub.devices.add({ name: `kiosk ${i}`, region: '110000' });
      if (!code.ok) throw new Error();
      // Enrollment happens on a good network; the faults are for sync.
      expect((await enroll(k, { hubUrl: t.url, code: code.value.code })).ok).toBe(true);
      k.db.prepare('UPDATE sync_state SET hub_url = ? WHERE id = 1').run(proxy.url);
      k.fines.upsertMany(fines as never);
      const rnd = mulberry32(SEED + i);
      engines.push(
        new SyncEngine(k, {
          batchSize: 10,
          baseDelayMs: 5,
          maxDelayMs: 100,
          pullWaitSeconds: 1,
          idlePollMs: 20,
          requestTimeoutMs: 3000,
          random: rnd,
        }),
      );
    }
    for (const e of engines) e.start();
    // Kiosks keep working while the network misbehaves: bills, voids and print jobs.
    for (let round = 0; round < EVENTS_PER_KIOSK / 20; round++) {
      kiosks.forEach((k, i) => {
        k.db.transaction(() => {
          for (let j = 0; j < 20; j++) {
            k.outbox.append(
              'print.job',
              { jobId: `k${i}-${round}-${j}`, kind: 'bill', ref: `R${round}`, state: 'printed' },
              k.clock.now(),
            );
          }
        })();
        if (round % 5 === 0) k.bills.issue(fines[(round + i) % fines.length]!.decisionNo as string);
      });
      await new Promise((r) => setTimeout(r, 60));
    }
    // Keep the faults on until enough of each kind were injected: counted by the proxy, never by the
    // clock, so a slow machine only makes this phase longer (the test's own timeout bounds it).
    const injected = () => {
      const c = proxy.counts;
      return c.droppedRequests + c.droppedResponses + c.duplicated + c.resets + c.errors500;
    };
    while (injected() <= 50 || proxy.counts.duplicated === 0 || proxy.counts.droppedResponses === 0) {
      await new Promise((r) => setTimeout(r, 50));
    }
    proxy.heal();
    for (const e of engines) e.now();
    while (kiosks.some((k) => syncStatus(k).queued > 0)) {
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const e of engines) await e.stop();

    const c = proxy.counts;
    console.log('faults', JSON.stringify(c));
    expect(c.droppedRequests + c.droppedResponses + c.duplicated + c.resets + c.errors500).toBeGreaterThan(
      50,
    );
    expect(c.duplicated).toBeGreaterThan(0);
    expect(c.droppedResponses).toBeGreaterThan(0);
    for (const k of kiosks) {
      const st = syncStatus(k);
      expect(st.queued).toBe(0);
      expect(st.rejected).toEqual([]);
      expect(k.outbox.verify().ok).toBe(true);
      const held = await t.hub.eventsOf(k.identity.deviceId);
      // Exactly once: seqs 1..n with no gap and no repeat, each the kiosk's very event.
      expect(held.map((e) => e.seq)).toEqual(Array.from({ length: st.lastSeq }, (_, i) => i + 1));
      const local = k.outbox.list(0, 100_000);
      expect(held.map((e) => e.hash)).toEqual(local.map((e) => e.hash));
    }
    expect(await t.hub.verifyChains()).toMatchObject({ devices: KIOSKS, broken: [] });
    const n = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM events');
    expect(n.rows[0]!.n).toBe(kiosks.reduce((s, k) => s + syncStatus(k).lastSeq, 0));
    expect(n.rows[0]!.n).toBeGreaterThanOrEqual(KIOSKS * EVENTS_PER_KIOSK);
  });
});
