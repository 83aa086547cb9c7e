// The restore drill of an officer device: a day of tickets (500, a crash, some pushed, some not), the
// device's database restored from the morning's copy, recovery from the hub, then sync. Every pushed
// ticket is on the hub once, and no decision number is ever issued twice: not those the hub holds, not
// those printed after the last push and lost with the database (the recovery closes every open block
// and asks the hub for a fresh one), not those of a block the hub handed out after the morning copy.
// Officer devices write tickets in their own processes (tests/officer/worker.ts), killed mid-way.
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../main/cli.ts';
import { DB_FILE } from '../../main/kiosk.ts';
import { enableStandalone, heldBlockIds } from '../../main/officer/numbers.ts';
import { refillNumbers } from '../../main/officer/refill.ts';
import { SyncEngine, syncStatus } from '../../main/sync/engine.ts';
import { STANDALONE_RECOVERY_STEP } from '../../main/sync/recovery.ts';
import { systemClock } from '../../protocol/time.ts';
import { openDevice, removeDir, tempDir, type Device } from '../officer/helpers.ts';
import { enrollDevice, startTestHub } from '../officer/hubfixture.ts';

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'officer', 'worker.ts');

let hub: Awaited<ReturnType<typeof startTestHub>>;
const opened: Device[] = [];
const dirs: string[] = [];
beforeAll(async () => {
  hub = await startTestHub(systemClock);
});
afterAll(async () => {
  for (const d of opened) d.close();
  for (const d of dirs) removeDir(d);
  await hub?.close();
  if (hub) removeDir(hub.dir);
});

const open = (dir: string): Device => {
  const d = openDevice(dir, systemClock as never);
  opened.push(d);
  return d;
};

/** Runs the worker; with killAfter, SIGKILLs it once that many tickets have committed. */
function runWorker(dir: string, count: number, killAfter?: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER, dir, String(count)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const numbers: string[] = [];
    let buf = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buf += chunk;
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) {
        if (l.startsWith('ERR')) reject(new Error(`worker: ${l}`));
        else if (l) numbers.push(l);
      }
      if (killAfter !== undefined && numbers.length >= killAfter) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('exit', () => resolve(numbers));
  });
}

const ticketNumbers = (d: Device): string[] =>
  (
    d.kiosk.db.prepare('SELECT decision_no FROM tickets ORDER BY rowid').all() as { decision_no: string }[]
  ).map((r) => r.decision_no);

function restore(dir: string, copy: string): void {
  const db = path.join(dir, DB_FILE);
  for (const f of [db, `${db}-wal`, `${db}-shm`]) if (existsSync(f)) unlinkSync(f);
  copyFileSync(copy, db);
}

async function hubTickets(deviceId: string): Promise<string[]> {
  const r = await hub.db.query<{ no: string }>(
    "SELECT payload::jsonb -> 'fine' ->> 'decisionNo' AS no FROM events WHERE device_id = $1 AND type = 'ticket.issued'",
    [deviceId],
  );
  return r.rows.map((x) => x.no);
}

describe('an officer device restored from the morning copy', () => {
  it('a day of 500 tickets, a crash, the morning copy back: recover, sync; every ticket once, no number twice', async () => {
    const dir = tempDir('fk-drill-');
    dirs.push(dir);
    let d = open(dir);
    await enrollDevice(hub, d);
    const deviceId = d.kiosk.identity.deviceId;
    expect((await refillNumbers(d.kiosk, { force: true })).ok).toBe(true);
    d.close();
    const morning = path.join(tempDir('fk-drill-copy-'), 'morning.db');
    dirs.push(path.dirname(morning));
    copyFileSync(path.join(dir, DB_FILE), morning);

    // The day: tickets, a sync at noon, a block fetched after the morning copy, a crash mid-way, a sync,
    // and the last tickets printed but never pushed before the disk is lost.
    const day: string[] = [];
    day.push(...(await runWorker(dir, 300)));
    d = open(dir);
    expect((await new SyncEngine(d.kiosk).pushAll()).ok).toBe(true);
    expect((await refillNumbers(d.kiosk, { force: true })).ok).toBe(true);
    d.close();
    day.push(...(await runWorker(dir, 400, 150)));
    d = open(dir);
    const afterCrash = ticketNumbers(d);
    expect(afterCrash.length).toBeGreaterThanOrEqual(day.length);
    day.push(...afterCrash.slice(day.length));
    expect((await new SyncEngine(d.kiosk).pushAll()).ok).toBe(true);
    d.close();
    const printedNotPushed = await runWorker(dir, 500 - day.length);
    day.push(...printedNotPushed);
    expect(day).toHaveLength(500);
    expect(new Set(day).size).toBe(500);
    const pushed = day.slice(0, day.length - printedNotPushed.length);
    expect((await hubTickets(deviceId)).sort()).toEqual([...pushed].sort());

    // The disk is lost; the morning copy goes back. The first contact with the hub tells.
    restore(dir, morning);
    d = open(dir);
    expect(ticketNumbers(d)).toEqual([]);
    expect((await new SyncEngine(d.kiosk).pullAll()).ok).toBe(true);
    expect(syncStatus(d.kiosk).rolledBack).toBe(true);
    const refused = d.tickets.issue({ plate: '沪A12345', code: '1625', place: '路口1', officerId: '0312' });
    expect(!refused.ok && refused.error.code).toBe('DB_ROLLED_BACK');
    d.close();

    let out = '';
    const code = await main(['recover', '--data', dir, '--json'], {
      stdout: (t) => void (out += t),
      stderr: () => undefined,
      env: {},
    });
    expect(code).toBe(0);
    const report = JSON.parse(out) as Record<string, number>;
    expect(report).toMatchObject({ tickets: pushed.length, chainOk: true, numbersLeft: 500 });
    expect(report.abandonedBlocks).toBeGreaterThanOrEqual(1);
    d = open(dir);
    expect(new Set(ticketNumbers(d))).toEqual(new Set(pushed));
    d.close();

    // The rest of the day, then sync.
    const later = await runWorker(dir, 120);
    expect(later).toHaveLength(120);
    const everIssued = [...day, ...later];
    expect(new Set(everIssued).size).toBe(everIssued.length);
    d = open(dir);
    expect((await new SyncEngine(d.kiosk).pushAll()).ok).toBe(true);
    const onHub = await hubTickets(deviceId);
    expect(onHub).toHaveLength(pushed.length + later.length);
    expect(new Set(onHub)).toEqual(new Set([...pushed, ...later]));
    const fines = await hub.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM fines WHERE decision_no = ANY($1::text[])',
      [onHub],
    );
    expect(fines.rows[0]!.n).toBe(onHub.length);
    expect((await hub.hub.verifyChains()).broken).toEqual([]);
  }, 600_000);

  it('a block request the copy still waited on is refused once its numbers are used; the device asks anew', async () => {
    const dir = tempDir('fk-drill-pending-');
    dirs.push(dir);
    let d = open(dir);
    await enrollDevice(hub, d);
    // The hub hands out a block; its answer is lost on the way back.
    const lost = await refillNumbers(d.kiosk, {
      force: true,
      fetch: async (...args: Parameters<typeof fetch>) => {
        await fetch(...args);
        throw new Error('connection reset');
      },
    });
    expect(!lost.ok && lost.error.code).toBe('HUB_UNREACHABLE');
    d.close();
    const copy = path.join(tempDir('fk-drill-copy-'), 'copy.db');
    dirs.push(path.dirname(copy));
    copyFileSync(path.join(dir, DB_FILE), copy);

    // Asked again, the same request gets the same block (a lost answer costs nothing), which is used.
    d = open(dir);
    expect((await refillNumbers(d.kiosk, { force: true })).ok).toBe(true);
    const [first] = heldBlockIds(d.kiosk.db);
    const issued = d.tickets.issue({ plate: '沪A12345', code: '1625', place: '路口1', officerId: '0312' });
    if (!issued.ok) throw new Error(issued.error.message);
    expect((await new SyncEngine(d.kiosk).pushAll()).ok).toBe(true);
    d.close();

    // The copy goes back (not noticed yet: asking for numbers comes first) and asks with the old request.
    restore(dir, copy);
    d = open(dir);
    const again = await refillNumbers(d.kiosk, { force: true });
    expect(again.ok).toBe(true);
    const held = heldBlockIds(d.kiosk.db);
    expect(held).toHaveLength(1);
    expect(held).not.toContain(first);
    const next = d.tickets.issue({ plate: '沪B8K3L2', code: '1039', place: '路口2', officerId: '0312' });
    if (!next.ok) throw new Error(next.error.message);
    expect(next.value.decisionNo).not.toBe(issued.value.decisionNo);
  }, 120_000);

  it('stand-alone numbers jump past any the lost records may have used', async () => {
    const dir = tempDir('fk-drill-standalone-');
    dirs.push(dir);
    let d = open(dir);
    await enrollDevice(hub, d);
    d.close();
    // The copy is made before the stand-alone sequence was turned on.
    const copy = path.join(tempDir('fk-drill-copy-'), 'copy.db');
    dirs.push(path.dirname(copy));
    copyFileSync(path.join(dir, DB_FILE), copy);
    d = open(dir);
    enableStandalone(d.kiosk.db, d.kiosk.identity.deviceId, '310100', Date.now());
    d.close();
    const before = await runWorker(dir, 3);
    d = open(dir);
    expect((await new SyncEngine(d.kiosk).pushAll()).ok).toBe(true);
    d.close();
    const lost = await runWorker(dir, 2);
    restore(dir, copy);
    let out = '';
    expect(
      await main(['recover', '--data', dir, '--json'], {
        stdout: (t) => void (out += t),
        stderr: () => undefined,
        env: {},
      }),
    ).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ tickets: 3, standaloneNext: STANDALONE_RECOVERY_STEP + 1 });
    const after = await runWorker(dir, 2);
    expect(after.map((n) => Number(n.slice(-8)))).toEqual([
      STANDALONE_RECOVERY_STEP + 1,
      STANDALONE_RECOVERY_STEP + 2,
    ]);
    expect(new Set([...before, ...lost, ...after]).size).toBe(7);
  }, 120_000);
});
