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
import { makeKey, startServiceHub } from './helpers.ts';

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
    const { key } = await makeKey(t, ['metrics:read'], 'prometheus');
    const metrics = await (
      await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${key}` } })
    ).text();
    expect(metrics).toContain('finekiosk_devices{state="online"} 0');
    expect(metrics).toContain('finekiosk_devices{state="enrolled"} 1');
    expect(metrics).toMatch(
      /finekiosk_http_requests_total\{method="POST",route="\/v1\/device\/health",status="200"\} 1/,
    );
    expect(metrics).toMatch(/finekiosk_sync_pulls_total\{outcome="ok"\} [1-9]/);
  });
});

describe.each(STORAGES)('/metrics access (%s)', (storage) => {
  let t: TestHub;
  beforeEach(async () => {
    t = await startServiceHub(storage);
  });
  afterEach(async () => {
    await t.close();
  });

  it('needs an API key with metrics:read or an operator session', async () => {
    const get = (headers: Record<string, string> = {}) => fetch(`${t.url}/metrics`, { headers });
    const none = await get();
    expect(none.status).toBe(401);
    expect(await none.text()).not.toContain('finekiosk_devices');
    expect((await get({ authorization: 'Bearer fk_nonsense' })).status).toBe(401);
    const other = await makeKey(t, ['fines:read', 'payments:read'], 'feed');
    const wrongScope = await get({ authorization: `Bearer ${other.key}` });
    expect(wrongScope.status).toBe(403);
    expect(((await wrongScope.json()) as Json).error.code).toBe('FORBIDDEN');
    const good = await makeKey(t, ['metrics:read'], 'prometheus');
    const ok = await get({ authorization: `Bearer ${good.key}` });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('finekiosk_devices{state="enrolled"} 0');
    expect((await runAdmin(t.hub, 'apikey.revoke', { id: good.id })).ok).toBe(true);
    expect((await get({ authorization: `Bearer ${good.key}` })).status).toBe(401);
    // A console operator (an auditor too) reads them with the session cookie.
    expect(
      (await runAdmin(t.hub, 'operator.add', { id: 'audit1', role: 'auditor', password: 'correct horse 1' }))
        .ok,
    ).toBe(true);
    const login = await fetch(`${t.url}/console/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'audit1', password: 'correct horse 1' }),
    });
    expect(login.status).toBe(200);
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    const bySession = await get({ cookie });
    expect(bySession.status).toBe(200);
    expect(await bySession.text()).toContain('finekiosk_devices');
    expect((await get({ cookie: 'fk_console=' + 'x'.repeat(43) })).status).toBe(401);
  });
});
