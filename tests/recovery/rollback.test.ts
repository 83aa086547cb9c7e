// A kiosk whose database went back in time: a copy restored from the morning, a -wal lost, kiosk.db
// deleted beside device.key. It must notice (the hub holds more of its events), stop issuing, and
// recover from the hub with every bill, payment and number, never giving a bill number twice.
import { copyFileSync, existsSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../main/cli.ts';
import { DB_FILE, openKiosk, type Kiosk } from '../../main/kiosk.ts';
import { enroll, SyncEngine, syncStatus } from '../../main/sync/engine.ts';
import { recoverFromHub } from '../../main/sync/recovery.ts';
import { FailureError } from '../../protocol/result.ts';
import { sampleFine, STORAGES, startTestHub, type TestHub } from '../hub/helpers.ts';

const NOS = ['110000000000000001', '110000000000000002', '110000000000000003', '110000000000000004'];

async function runCli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, {
    stdout: (t) => void (out += t),
    stderr: (t) => void (err += t),
    env: {},
  });
  return { code, out, err };
}

describe.each(STORAGES)('kiosk database back in time, hub on %s', (storage) => {
  let t: TestHub;
  let dir: string;
  let kiosk: Kiosk | undefined;
  beforeEach(async () => {
    t = await startTestHub(storage);
    dir = mkdtempSync(path.join(os.tmpdir(), 'fk-rollback-'));
  });
  afterEach(async () => {
    kiosk?.close();
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const db = (): string => path.join(dir, DB_FILE);
  function reopen(): Kiosk {
    kiosk?.close();
    kiosk = openKiosk({ dataDir: dir });
    return kiosk;
  }
  function restore(copy: string): void {
    kiosk?.close();
    kiosk = undefined;
    for (const f of [db(), `${db()}-wal`, `${db()}-shm`]) if (existsSync(f)) unlinkSync(f);
    copyFileSync(copy, db());
  }
  async function setUp(): Promise<{ k: Kiosk; engine: SyncEngine }> {
    const k = reopen();
    const code = await t.hub.devices.add({ name: 'Hall', region: '110000' });
    if (!code.ok) throw new Error('code');
    expect((await enroll(k, { hubUrl: t.url, code: code.value.code })).ok).toBe(true);
    await t.hub.fines.importRows(NOS.map((n) => sampleFine(n)));
    const engine = new SyncEngine(k, { network: false });
    expect((await engine.pullAll()).ok).toBe(true);
    return { k, engine };
  }

  it('a morning copy restored: noticed at the next sync, refuses to issue, recovers every bill and payment', async () => {
    let { k, engine } = await setUp();
    const b1 = k.bills.issue(NOS[0]!);
    expect(b1.ok).toBe(true);
    expect((await engine.pushAll()).ok).toBe(true);
    k.close();
    const morning = path.join(dir, 'morning.db');
    copyFileSync(db(), morning);

    k = reopen();
    engine = new SyncEngine(k, { network: false });
    const b2 = k.bills.issue(NOS[1]!);
    const b3 = k.bills.issue(NOS[2]!);
    if (!b2.ok || !b3.ok) throw new Error('issue');
    expect((await engine.pushAll()).ok).toBe(true);
    const paid = await t.hub.payments.settle({
      billNo: b2.value.billNo,
      amountFen: b2.value.amountFen,
      channel: 'alipay',
      txnId: 'T2026000001',
      paidAt: b2.value.issuedAt + 60,
    });
    expect(paid.ok).toBe(true);
    expect((await engine.pullAll()).ok).toBe(true);
    expect((await engine.pushAll()).ok).toBe(true);
    const held = syncStatus(k).lastSeq;

    restore(morning);
    k = reopen();
    engine = new SyncEngine(k, { network: false });
    expect(syncStatus(k).lastSeq).toBeLessThan(held);
    // Not known yet: the first contact with the hub tells.
    expect((await engine.pullAll()).ok).toBe(true);
    const st = syncStatus(k);
    expect(st.rolledBack).toBe(true);
    expect(st.hubSeq).toBe(held);
    const refused = k.bills.issue(NOS[3]!);
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.error.code).toBe('DB_ROLLED_BACK');
    expect(k.bills.get(b2.value.billNo).ok).toBe(false);

    const r = await recoverFromHub(k, engine);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.chainOk).toBe(true);
    expect(r.value.hubEvents).toBe(held);
    expect(r.value.setAside).toBe(0);
    expect(k.outbox.verify()).toEqual({ events: held, ok: true });
    const again2 = k.bills.get(b2.value.billNo);
    expect(again2.ok && again2.value.status).toBe('paid');
    expect(again2.ok && again2.value.payment?.txnId).toBe('T2026000001');
    const again3 = k.bills.get(b3.value.billNo);
    expect(again3.ok && again3.value.token).toBe(b3.value.token);
    expect(syncStatus(k).rolledBack).toBe(false);

    const b4 = k.bills.issue(NOS[3]!);
    if (!b4.ok) throw new Error(b4.error.message);
    expect([b1, b2, b3].map((b) => b.ok && b.value.billNo)).not.toContain(b4.value.billNo);
    expect((await engine.pushAll()).ok).toBe(true);
    expect((await engine.pullAll()).ok).toBe(true);
    expect(syncStatus(k).queued).toBe(0);
    expect((await t.hub.verifyChains()).broken).toEqual([]);
    expect((await t.hub.bills.get(b4.value.billNo))?.token).toBe(b4.value.token);
  });

  it('a -wal lost after a power cut, then bills made offline: those are set aside and their numbers never reused', async () => {
    let { k, engine } = await setUp();
    expect(k.bills.issue(NOS[0]!).ok).toBe(true);
    expect((await engine.pushAll()).ok).toBe(true);
    k.close();
    k = reopen();
    engine = new SyncEngine(k, { network: false });
    // Commits after this point live only in the -wal until a checkpoint.
    k.db.pragma('wal_autocheckpoint = 0');
    const b2 = k.bills.issue(NOS[1]!);
    if (!b2.ok) throw new Error('issue');
    expect((await engine.pushAll()).ok).toBe(true);
    const lost = path.join(dir, 'without-wal.db');
    copyFileSync(db(), lost);
    restore(lost);

    k = reopen();
    engine = new SyncEngine(k, { network: false });
    expect(k.bills.get(b2.value.billNo).ok).toBe(false);
    // Offline, the restored kiosk issues again under the number the hub already holds.
    const again = k.bills.issue(NOS[2]!);
    if (!again.ok) throw new Error('issue');
    expect(again.value.billNo).toBe(b2.value.billNo);
    const push = await engine.pushAll();
    expect(push.ok).toBe(false);
    if (!push.ok) expect(push.error.code).toBe('CHAIN_BROKEN');
    expect(syncStatus(k).rolledBack).toBe(true);
    expect(k.bills.issue(NOS[3]!).ok).toBe(false);

    const r = await recoverFromHub(k, engine);
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.setAside).toBe(1);
    expect(syncStatus(k).setAside).toBe(1);
    const kept = k.bills.get(b2.value.billNo);
    expect(kept.ok && kept.value.decisionNo).toBe(NOS[1]);
    const next = k.bills.issue(NOS[3]!);
    if (!next.ok) throw new Error(next.error.message);
    expect(next.value.billNo).not.toBe(b2.value.billNo);
    expect((await engine.pushAll()).ok).toBe(true);
    expect((await t.hub.verifyChains()).broken).toEqual([]);
  });

  it('kiosk.db deleted or emptied beside device.key: no silent empty start; recover --hub rebuilds it', async () => {
    const { k, engine } = await setUp();
    const b1 = k.bills.issue(NOS[0]!);
    if (!b1.ok) throw new Error('issue');
    expect((await engine.pushAll()).ok).toBe(true);
    k.close();
    kiosk = undefined;
    for (const f of [db(), `${db()}-wal`, `${db()}-shm`]) if (existsSync(f)) unlinkSync(f);
    writeFileSync(db(), '');
    try {
      openKiosk({ dataDir: dir });
      expect.unreachable('opened an empty database beside an existing key');
    } catch (e) {
      expect(e instanceof FailureError && e.failure.code).toBe('DB_MISSING');
    }
    const status = await runCli(['sync', 'status', '--data', dir, '--json']);
    expect(status.code).toBe(3);
    expect(JSON.parse(status.out).error.code).toBe('DB_MISSING');
    unlinkSync(db());
    const noHub = await runCli(['recover', '--data', dir, '--json']);
    expect(JSON.parse(noHub.out).error.code).toBe('NOT_ENROLLED');
    const rec = await runCli(['recover', '--data', dir, '--hub', t.url, '--json']);
    expect(rec.code).toBe(0);
    expect(JSON.parse(rec.out)).toMatchObject({ hubEvents: 1, bills: 1, chainOk: true });
    const k2 = reopen();
    const got = k2.bills.get(b1.value.billNo);
    expect(got.ok && got.value.token).toBe(b1.value.token);
    expect(k2.fines.count()).toBe(NOS.length);
    const b2 = k2.bills.issue(NOS[1]!);
    expect(b2.ok && b2.value.billNo).not.toBe(b1.value.billNo);
  });

  it('device new retires the device deliberately (key and database kept aside)', async () => {
    const { k } = await setUp();
    const id = k.identity.deviceId;
    k.close();
    kiosk = undefined;
    expect((await runCli(['device', 'new', '--data', dir])).code).toBe(2);
    const r = await runCli(['device', 'new', '--yes', '--data', dir, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).moved).toContain('device.key');
    const k2 = reopen();
    expect(k2.identity.deviceId).not.toBe(id);
    expect(syncStatus(k2).enrolled).toBe(false);
  });
});
