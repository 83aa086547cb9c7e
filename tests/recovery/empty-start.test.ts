// "Never a silent empty start" (issue 14): kiosk.db missing or empty beside device.key must be DB_MISSING.
// main/kiosk.ts dbIsMissingOrEmpty lets a 0-byte kiosk.db through whenever a kiosk.db-wal exists.
import { copyFileSync, existsSync, mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../main/cli.ts';
import { DB_FILE, openKiosk, type Kiosk } from '../../main/kiosk.ts';
import { enroll, SyncEngine, syncStatus } from '../../main/sync/engine.ts';
import { sampleFine, startTestHub, type TestHub } from '../hub/helpers.ts';

const NOS = ['110000000000000001', '110000000000000002', '110000000000000003'];

async function runCli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, { stdout: (t) => void (out += t), stderr: (t) => void (err += t), env: {} });
  return { code, out, err };
}

describe('kiosk.db emptied beside device.key', () => {
  let t: TestHub;
  let dir: string;
  let k: Kiosk | undefined;
  beforeEach(async () => {
    t = await startTestHub('pglite');
    dir = mkdtempSync(path.join(os.tmpdir(), 'atk14-empty-'));
  });
  afterEach(async () => {
    k?.close();
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const db = (): string => path.join(dir, DB_FILE);

  async function enrolledWithBills(): Promise<string[]> {
    k = openKiosk({ dataDir: dir });
    const code = await t.hub.devices.add({ name: 'Hall', region: '110000' });
    if (!code.ok) throw new Error('code');
    expect((await enroll(k, { hubUrl: t.url, code: code.value.code })).ok).toBe(true);
    await t.hub.fines.importRows(NOS.map((n) => sampleFine(n)));
    const engine = new SyncEngine(k, { network: false });
    expect((await engine.pullAll()).ok).toBe(true);
    const nos: string[] = [];
    for (const n of NOS.slice(0, 2)) {
      const b = k.bills.issue(n);
      if (!b.ok) throw new Error(b.error.message);
      nos.push(b.value.billNo);
    }
    expect((await engine.pushAll()).ok).toBe(true);
    return nos;
  }

  it('a 0-byte kiosk.db beside a left-over kiosk.db-wal is DB_MISSING, not an empty kiosk', async () => {
    await enrolledWithBills();
    k!.close();
    k = undefined;
    // A bad copy / power cut: the main file is 0 bytes; a -wal from some other moment is still there.
    for (const f of [db(), `${db()}-wal`, `${db()}-shm`]) if (existsSync(f)) unlinkSync(f);
    writeFileSync(db(), '');
    writeFileSync(`${db()}-wal`, Buffer.alloc(32));
    const st = await runCli(['sync', 'status', '--data', dir, '--json']);
    // Expected: code 3 and DB_MISSING. Actual: a brand-new empty database, "not enrolled", exit 0.
    expect({ code: st.code, out: st.out.slice(0, 200) }).toMatchObject({ code: 3 });
    expect(JSON.parse(st.out).error?.code).toBe('DB_MISSING');
  });

  it('device.key missing beside kiosk.db: a named code, and no new key left behind', async () => {
    await enrolledWithBills();
    k!.close();
    k = undefined;
    renameSync(path.join(dir, 'device.key'), path.join(dir, 'device.key.lost'));
    const st = await runCli(['sync', 'status', '--data', dir, '--json']);
    expect(st.out + st.err).not.toMatch(/Unexpected error|UNEXPECTED/);
    // The failed command must not have minted a new identity beside the old database.
    expect(existsSync(path.join(dir, 'device.key'))).toBe(false);
  });

  it('a 0-byte kiosk.db beside its own real -wal (power cut while the kiosk ran) does not open', async () => {
    k = openKiosk({ dataDir: dir });
    k.db.pragma('wal_autocheckpoint = 0');
    const before = await enrolledWithBills();
    // Crash image: the -wal as it is while the kiosk runs; the main file lost to 0 bytes.
    const wal = path.join(dir, 'crash.wal');
    copyFileSync(`${db()}-wal`, wal);
    k!.close();
    k = undefined;
    for (const f of [db(), `${db()}-wal`, `${db()}-shm`]) if (existsSync(f)) unlinkSync(f);
    writeFileSync(db(), '');
    copyFileSync(wal, `${db()}-wal`);
    let opened: Kiosk | undefined;
    try {
      opened = openKiosk({ dataDir: dir });
    } catch {
      return; // DB_MISSING: held.
    }
    k = opened;
    console.log(JSON.stringify({ status: syncStatus(k), bills: before }));
    expect.unreachable('opened an emptied kiosk.db beside device.key');
  });
  it('a failed `recover --hub` (hub unreachable) does not disarm DB_MISSING', async () => {
    await enrolledWithBills();
    k!.close();
    k = undefined;
    for (const f of [db(), `${db()}-wal`, `${db()}-shm`]) if (existsSync(f)) unlinkSync(f);
    const before = await runCli(['sync', 'status', '--data', dir, '--json']);
    expect(JSON.parse(before.out).error.code).toBe('DB_MISSING');
    const rec = await runCli(['recover', '--data', dir, '--hub', 'http://127.0.0.1:1', '--json']);
    expect(JSON.parse(rec.out).error.code).toBe('HUB_UNREACHABLE');
    // Expected: still DB_MISSING. Actual: the failed recover left a fresh kiosk.db, which now opens
    // silently as an empty kiosk (exit 0, queued 0, hub holds 0 of 0).
    const after = await runCli(['sync', 'status', '--data', dir, '--json']);
    expect(JSON.parse(after.out).error?.code).toBe('DB_MISSING');
  });
});
