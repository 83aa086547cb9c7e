// A real kiosk reports its health with its sync; the hub shows it online with its app version, queue
// depth, printer and clock offset, and offline once it has stopped reporting for OFFLINE_AFTER_S.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runAdmin } from '../../hub/admin.ts';
import { openKiosk, type Kiosk } from '../../main/kiosk.ts';
import { enroll, SyncEngine } from '../../main/sync/engine.ts';
import { OFFLINE_AFTER_S } from '../../protocol/health.ts';
import { ManualClock } from '../../protocol/time.ts';
import { sampleFine, STORAGES, type Json, type TestHub } from '../hub/helpers.ts';
import { startServiceHub } from './helpers.ts';

describe.each(STORAGES)('device health (%s)', (storage) => {
  let t: TestHub;
  let dir: string;
  let kiosk: Kiosk;
  let hubClock: ManualClock;
  beforeEach(async () => {
    hubClock = new ManualClock(Date.now());
    t = await startServiceHub(storage, { clock: hubClock });
    dir = mkdtempSync(path.join(os.tmpdir(), 'fk-health-'));
    kiosk = openKiosk({ dataDir: dir });
  });
  afterEach(async () => {
    kiosk.close();
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is reported with the sync and goes offline when the kiosk stops', async () => {
    const code = await t.hub.devices.add({ name: 'Hall 2', region: '110000' });
    if (!code.ok) throw new Error();
    expect((await enroll(kiosk, { hubUrl: t.url, code: code.value.code })).ok).toBe(true);
    await t.hub.fines.importRows([sampleFine('110000000000000001')]);
    const engine = new SyncEngine(kiosk, { network: false });
    expect((await engine.pullAll()).ok).toBe(true);
    expect(kiosk.bills.issue('110000000000000001').ok).toBe(true);
    await engine.reportHealthIfDue();
    const list = async () => ((await runAdmin(t.hub, 'device.health', {})) as { value: Json[] }).value;
    const [d] = await list();
    expect(d).toMatchObject({
      id: kiosk.identity.deviceId,
      online: true,
      appVersion: expect.stringMatching(/^[0-9]+\.[0-9]+\.[0-9]+/),
      queueDepth: 1,
      printer: 'unknown',
      region: '110000',
    });
    expect(typeof d.clockOffsetSeconds).toBe('number');
    // Within the interval nothing more is sent.
    await t.db.query('DELETE FROM device_health');
    await engine.reportHealthIfDue();
    expect((await list())[0].appVersion).toBeNull();
    hubClock.advance((OFFLINE_AFTER_S + 1) * 1000);
    expect((await list())[0].online).toBe(false);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toContain('finekiosk_devices{state="online"} 0');
    expect(metrics).toContain('finekiosk_devices{state="enrolled"} 1');
    expect(metrics).toMatch(
      /finekiosk_http_requests_total\{method="POST",route="\/v1\/device\/health",status="200"\} 1/,
    );
    expect(metrics).toMatch(/finekiosk_sync_pulls_total\{outcome="ok"\} [1-9]/);
  });
});
