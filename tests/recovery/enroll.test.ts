// Enrollment whose answer is lost on the way back: the hub created the device, the kiosk never heard.
// The same code from the same key is answered again; a half-enrolled device can be removed.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openKiosk, type Kiosk } from '../../main/kiosk.ts';
import { enroll, SyncEngine, syncStatus, type Transport } from '../../main/sync/engine.ts';
import { runAdmin } from '../../hub/admin.ts';
import { STORAGES, startTestHub, type TestHub } from '../hub/helpers.ts';

/** Delivers the request to the hub, then loses the answer (a dropped connection on the way back). */
const answerDropped: Transport = async (url, init) => {
  const res = await fetch(url, init);
  await res.text();
  throw new Error('connection reset by peer');
};

describe.each(STORAGES)('enrollment with its answer dropped, hub on %s', (storage) => {
  let t: TestHub;
  let dirs: string[];
  let kiosks: Kiosk[];
  beforeEach(async () => {
    t = await startTestHub(storage);
    dirs = [];
    kiosks = [];
  });
  afterEach(async () => {
    for (const k of kiosks) k.close();
    await t.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  function newKiosk(): Kiosk {
    const d = mkdtempSync(path.join(os.tmpdir(), 'fk-enroll-'));
    dirs.push(d);
    const k = openKiosk({ dataDir: d });
    kiosks.push(k);
    return k;
  }

  it('retrying the same code with the same key gets the same answer, and the queue drains', async () => {
    const k = newKiosk();
    // Events written before enrollment are pushed after it.
    k.db.transaction(() =>
      k.outbox.append('fines.imported', { count: 0, sha256: '0'.repeat(64), source: 'x' }, 1),
    )();
    const code = await t.hub.devices.add({ name: 'Hall 3', region: '110000' });
    if (!code.ok) throw new Error('code');
    const lost = await enroll(k, { hubUrl: t.url, code: code.value.code, transport: answerDropped });
    expect(lost.ok).toBe(false);
    expect((await t.hub.devices.get(k.identity.deviceId))?.name).toBe('Hall 3');
    const again = await enroll(k, { hubUrl: t.url, code: code.value.code });
    expect(again.ok).toBe(true);
    if (again.ok)
      expect(again.value).toMatchObject({ deviceId: k.identity.deviceId, name: 'Hall 3', region: '110000' });
    const engine = new SyncEngine(k, { network: false });
    expect((await engine.pushAll()).ok).toBe(true);
    expect(syncStatus(k).queued).toBe(0);
  });

  it('the used code from another key stays refused; a new code for the same key enrolls it again', async () => {
    const k = newKiosk();
    const thief = newKiosk();
    const code = await t.hub.devices.add({ name: 'Hall 4', region: '110000' });
    if (!code.ok) throw new Error('code');
    expect((await enroll(k, { hubUrl: t.url, code: code.value.code, transport: answerDropped })).ok).toBe(
      false,
    );
    const stolen = await enroll(thief, { hubUrl: t.url, code: code.value.code });
    expect(stolen.ok).toBe(false);
    if (!stolen.ok) expect(stolen.error.code).toBe('CODE_INVALID');
    const fresh = await t.hub.devices.add({ name: 'Hall 4b', region: '320000' });
    if (!fresh.ok) throw new Error('code');
    const r = await enroll(k, { hubUrl: t.url, code: fresh.value.code });
    expect(r.ok && r.value.region).toBe('320000');
  });

  it('hub device remove takes away a half-enrolled device, never one with events', async () => {
    const k = newKiosk();
    const code = await t.hub.devices.add({ name: 'Hall 5', region: '110000' });
    if (!code.ok) throw new Error('code');
    expect((await enroll(k, { hubUrl: t.url, code: code.value.code, transport: answerDropped })).ok).toBe(
      false,
    );
    const removed = await runAdmin(t.hub, 'device.remove', { id: k.identity.deviceId });
    expect(removed.ok).toBe(true);
    expect(await t.hub.devices.get(k.identity.deviceId)).toBeUndefined();
    const missing = await runAdmin(t.hub, 'device.remove', { id: k.identity.deviceId });
    expect(!missing.ok && missing.error.code).toBe('UNKNOWN_DEVICE');

    const busy = newKiosk();
    const c2 = await t.hub.devices.add({ name: 'Hall 6', region: '110000' });
    if (!c2.ok) throw new Error('code');
    expect((await enroll(busy, { hubUrl: t.url, code: c2.value.code })).ok).toBe(true);
    busy.db.transaction(() =>
      busy.outbox.append('fines.imported', { count: 0, sha256: '0'.repeat(64), source: 'x' }, 1),
    )();
    expect((await new SyncEngine(busy, { network: false }).pushAll()).ok).toBe(true);
    const refused = await runAdmin(t.hub, 'device.remove', { id: busy.identity.deviceId });
    expect(!refused.ok && refused.error.code).toBe('DEVICE_HAS_EVENTS');
  });
});
