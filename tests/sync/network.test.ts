// "Retries at once when the network returns": the watcher of the machine's addresses, and the engine
// it wakes out of a long backoff.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openKiosk, type Kiosk } from '../../main/kiosk.ts';
import { enroll, SyncEngine, syncStatus } from '../../main/sync/engine.ts';
import { machineAddresses, NetworkWatcher } from '../../main/sync/network.ts';
import { sampleFine, startTestHub, type TestHub } from '../hub/helpers.ts';

describe('network watcher', () => {
  it('fires when an address appears, not when one goes or nothing changes', () => {
    let addrs: string[] = [];
    let fired = 0;
    const w = new NetworkWatcher(
      () => fired++,
      () => addrs,
    );
    expect(w.check()).toBe(false);
    addrs = ['192.0.2.10'];
    expect(w.check()).toBe(true);
    expect(w.check()).toBe(false);
    addrs = ['192.0.2.10', '2001:db8::10'];
    expect(w.check()).toBe(true);
    addrs = ['2001:db8::10'];
    expect(w.check()).toBe(false);
    expect(fired).toBe(2);
  });

  it('reads the machine addresses without the loopback ones', () => {
    expect(machineAddresses()).not.toContain('127.0.0.1');
    expect(machineAddresses()).not.toContain('::1');
  });
});

describe('sync engine and the network returning', () => {
  let t: TestHub;
  let dir: string;
  let kiosk: Kiosk;
  beforeEach(async () => {
    t = await startTestHub('pglite');
    dir = mkdtempSync(path.join(os.tmpdir(), 'fk-net-'));
    kiosk = openKiosk({ dataDir: dir });
  });
  afterEach(async () => {
    kiosk.close();
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('pushes the queue at once when an address appears, though its backoff has hours left', async () => {
    const code = await t.hub.devices.add({ name: 'Hall', region: '110000' });
    if (!code.ok) throw new Error(code.error.message);
    expect((await enroll(kiosk, { hubUrl: t.url, code: code.value.code })).ok).toBe(true);
    kiosk.fines.upsertMany([sampleFine('110000000000000001') as never]);
    expect(kiosk.bills.issue('110000000000000001').ok).toBe(true);

    let up = false;
    let addresses: string[] = [];
    const engine = new SyncEngine(kiosk, {
      transport: async (url, init) => {
        if (!up) throw new Error('ENETUNREACH');
        return fetch(url, init);
      },
      // Every backoff would last hours: only a wake-up can end it in this test.
      baseDelayMs: 3_600_000,
      maxDelayMs: 3_600_000,
      random: () => 0.99,
      pullWaitSeconds: 1,
      network: () => addresses,
      networkCheckMs: 20,
    });
    engine.start();
    try {
      const until = async (cond: () => boolean): Promise<boolean> => {
        for (let i = 0; i < 150 && !cond(); i++) await new Promise((r) => setTimeout(r, 20));
        return cond();
      };
      expect(await until(() => syncStatus(kiosk).lastError?.code === 'HUB_UNREACHABLE')).toBe(true);
      expect(syncStatus(kiosk).queued).toBeGreaterThan(0);
      // The cable goes back in: the link comes up and the machine gets an address.
      up = true;
      addresses = ['192.0.2.10'];
      expect(await until(() => syncStatus(kiosk).queued === 0)).toBe(true);
    } finally {
      await engine.stop();
    }
  });
});
