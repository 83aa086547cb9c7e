// A day offline: tickets written with the network down, a crash in the middle, then sync. And two officer
// devices writing tickets at the same time. Devices run as separate processes (tests/officer/worker.ts).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refillNumbers } from '../../main/officer/refill.ts';
import { SyncEngine } from '../../main/sync/engine.ts';
import { verifyChain } from '../../main/outbox/outbox.ts';
import { systemClock } from '../../protocol/time.ts';
import { openDevice, removeDir, tempDir, type Device } from './helpers.ts';
import { enrollDevice, startTestHub } from './hubfixture.ts';

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'worker.ts');

// Real time here: the devices run as separate processes with their own clocks, and the hub refuses skew.
let hub: Awaited<ReturnType<typeof startTestHub>>;
const opened: Device[] = [];
const device = (): Device => {
  const d = openDevice(tempDir(), systemClock as never);
  opened.push(d);
  return d;
};

beforeAll(async () => {
  hub = await startTestHub(systemClock);
});
afterAll(async () => {
  for (const d of opened) {
    d.close();
    removeDir(d.dir);
  }
  await hub?.close();
  if (hub) removeDir(hub.dir);
});

/** Runs the worker; with killAfter, SIGKILLs it once that many tickets have committed. */
function runWorker(
  dir: string,
  count: number,
  killAfter?: number,
): Promise<{ numbers: string[]; killed: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER, dir, String(count)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const numbers: string[] = [];
    let buf = '';
    let killed = false;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buf += chunk;
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) {
        if (l.startsWith('ERR')) reject(new Error(`worker: ${l}`));
        else if (l) numbers.push(l);
      }
      if (killAfter !== undefined && !killed && numbers.length >= killAfter) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('exit', () => resolve({ numbers, killed }));
  });
}

const ticketNumbers = (d: Device): string[] =>
  (
    d.kiosk.db.prepare('SELECT decision_no FROM tickets ORDER BY rowid').all() as { decision_no: string }[]
  ).map((r) => r.decision_no);

const ticketEvents = (d: Device): string[] =>
  d.kiosk.outbox
    .list(0, 100_000)
    .filter((e) => e.type === 'ticket.issued')
    .map((e) => (JSON.parse(e.payload) as { fine: { decisionNo: string } }).fine.decisionNo);

async function hubCount(sql: string, params: unknown[]): Promise<number> {
  const r = await hub.db.query<{ n: number }>(sql, params);
  return Number(r.rows[0]!.n);
}

describe('officer devices offline', () => {
  it('a day offline: 500 tickets, a crash in the middle, then sync; a kiosk finds every one', async () => {
    const officer = device();
    const kiosk = device();
    await enrollDevice(hub, officer);
    await enrollDevice(hub, kiosk);
    // Numbers are fetched ahead of time, while online.
    for (let i = 0; i < 2; i++) expect((await refillNumbers(officer.kiosk, { force: true })).ok).toBe(true);
    expect(officer.tickets.numbers().remaining).toBe(1000);
    officer.close();

    // The network goes down; the device writes tickets in its own process and is killed mid-way.
    const first = await runWorker(officer.dir, 500, 230);
    expect(first.killed).toBe(true);
    // Reopen after the crash: what the worker reported is all there, and maybe one more it had no time to print.
    let d = openDevice(officer.dir, systemClock as never);
    opened.push(d);
    const afterCrash = ticketNumbers(d);
    expect(afterCrash.length).toBeGreaterThanOrEqual(first.numbers.length);
    expect(afterCrash.slice(0, first.numbers.length)).toEqual(first.numbers);
    expect(verifyChain(d.kiosk.db).ok).toBe(true);
    const offline = new SyncEngine(d.kiosk, {
      transport: async () => {
        throw new Error('network is down');
      },
    });
    const failed = await offline.pushAll();
    expect(!failed.ok && failed.error.code).toBe('HUB_UNREACHABLE');
    d.close();

    const rest = 500 - afterCrash.length;
    const second = await runWorker(officer.dir, rest);
    expect(second.numbers).toHaveLength(rest);

    d = openDevice(officer.dir, systemClock as never);
    opened.push(d);
    const all = ticketNumbers(d);
    expect(all).toHaveLength(500);
    expect(new Set(all).size).toBe(500);
    const events = ticketEvents(d);
    expect(events).toEqual(all);
    expect(verifyChain(d.kiosk.db).ok).toBe(true);
    expect(d.tickets.numbers().remaining).toBe(500);

    // The network is back: push twice (a repeat changes nothing).
    const online = new SyncEngine(d.kiosk);
    const pushed = await online.pushAll();
    expect(pushed.ok).toBe(true);
    expect((await online.pushAll()).ok).toBe(true);
    const id = d.kiosk.identity.deviceId;
    expect(
      await hubCount("SELECT count(*) AS n FROM events WHERE device_id = $1 AND type = 'ticket.issued'", [
        id,
      ]),
    ).toBe(500);
    expect(
      await hubCount(
        'SELECT count(DISTINCT decision_no) AS n FROM fines WHERE decision_no = ANY($1::text[])',
        [all],
      ),
    ).toBe(500);
    expect(await hubCount('SELECT count(*) AS n FROM bills WHERE device_id = $1', [id])).toBe(500);

    // Another kiosk of the region pulls, and finds each ticket by its decision number.
    const pulled = await new SyncEngine(kiosk.kiosk).pullAll();
    expect(pulled.ok).toBe(true);
    for (const no of all) {
      const f = kiosk.kiosk.fines.findByDecisionNo(no);
      expect(f.ok && f.value.status).toBe('unpaid');
    }
  }, 120_000);

  it('two officer devices writing at the same time never share a number', async () => {
    const a = device();
    const b = device();
    await enrollDevice(hub, a);
    await enrollDevice(hub, b);
    // Both ask at once, several times.
    const asks = await Promise.all([a, b, a, b].map((d) => refillNumbers(d.kiosk, { force: true })));
    expect(asks.filter((r) => !r.ok)).toEqual([]);
    a.close();
    b.close();
    const [ra, rb] = await Promise.all([runWorker(a.dir, 300), runWorker(b.dir, 300)]);
    expect(ra.numbers).toHaveLength(300);
    expect(rb.numbers).toHaveLength(300);
    const union = new Set([...ra.numbers, ...rb.numbers]);
    expect(union.size).toBe(600);
    for (const n of union) expect(n).toMatch(/^[0-9]{18}$/);
  }, 60_000);
});
