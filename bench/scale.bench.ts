// National-scale benchmarks (issue 17). Sections run by FK_BENCH_SCALE (comma list; default all):
// - import: `hub fines import` of FK_BENCH_IMPORT_ROWS (1,000,000) CSV rows on PostgreSQL, in its own process
//   (peak RSS from the kernel's maxrss), beside a bare COPY of the same file into a plain table in the same run.
// - kiosk: bill issue and fine lookups on an empty kiosk database, then on the same kiosk after FK_BENCH_KIOSK_BILLS
//   (1,000,000) bills and FK_BENCH_KIOSK_EVENTS (2,000,000) acknowledged outbox events were added; RSS of the
//   process that issued the bills (FK_BENCH_KIOSK_ISSUED, 100,000, bills issued through the service).
// The machine is shared with other work: figures carry the load average at the time.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { FINE_FIELDS } from '../protocol/fines.ts';
import { openKiosk } from '../main/kiosk.ts';
import { fmtMs, measure, printSection, type Stats } from './lib.ts';

const self = fileURLToPath(import.meta.url);
const ROWS = Number(process.env.FK_BENCH_IMPORT_ROWS ?? 1_000_000);
const SECTIONS = (process.env.FK_BENCH_SCALE ?? 'import,kiosk').split(',');
const COLS = FINE_FIELDS.filter((f) => f !== 'descriptionEn');

function load(): string {
  return os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' / ');
}

/** Writes n fines as CSV without holding them in memory. */
async function writeCsv(file: string, n: number): Promise<void> {
  const out = createWriteStream(file);
  const write = (s: string): Promise<void> =>
    new Promise((res) => (out.write(s) ? res() : out.once('drain', () => res())));
  await write(`${COLS.join(',')}\n`);
  let buf: string[] = [];
  for (let i = 0; i < n; i++) {
    buf.push(
      [
        `3100${String(i).padStart(14, '0')}`,
        '310000',
        `沪A${String(i % 100000).padStart(5, '0')}`,
        String(i % 1000000).padStart(6, '0'),
        '1039',
        '违反禁令标志指示',
        '延安高架路',
        '2026-05-01T08:30:00+08:00',
        '2026-05-03',
        '20000',
        '3',
        'unpaid',
      ].join(','),
    );
    if (buf.length === 5000) {
      await write(buf.join('\n') + '\n');
      buf = [];
    }
  }
  if (buf.length) await write(buf.join('\n') + '\n');
  await new Promise<void>((res) => out.end(res));
}

/** In a child process: the hub's import of FILE into SCHEMA; prints {ms, maxRssMb, result}. */
async function importChild(url: string, schema: string, file: string): Promise<void> {
  const { openHubDb } = await import('../hub/db.ts');
  const { createHubService } = await import('../hub/service/index.ts');
  const db = await openHubDb({ databaseUrl: url, schema, listen: false });
  const hub = createHubService({ db });
  const t = performance.now();
  const r = await hub.fines.importFile(file);
  const ms = performance.now() - t;
  await db.close();
  console.log(JSON.stringify({ ms, maxRssMb: process.resourceUsage().maxRSS / 1024, result: r }));
}

async function runChild(args: string[]): Promise<{ ms: number; maxRssMb: number; result: unknown }> {
  const p = spawn(process.execPath, ['--import', 'tsx', self, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((res) => p.on('close', res));
  if (code !== 0) throw new Error(`import child exited ${code}`);
  return JSON.parse(out.trim().split('\n').pop()!) as { ms: number; maxRssMb: number; result: unknown };
}

async function importBench(url: string, dir: string): Promise<void> {
  const file = path.join(dir, 'fines.csv');
  await writeCsv(file, ROWS);
  const schema = `bench_${randomBytes(5).toString('hex')}`;
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    // Baseline: a bare COPY of the same file into a plain table of text columns (no checks, no feed, no index).
    await c.query(`CREATE SCHEMA ${schema}`);
    await c.query(`CREATE TABLE ${schema}.bare (${COLS.map((k) => `"${k}" text`).join(', ')})`);
    const loadBefore = load();
    const tb = performance.now();
    await pipeline(
      createReadStream(file),
      c.query(copyFrom(`COPY ${schema}.bare FROM STDIN WITH (FORMAT csv, HEADER true)`)),
    );
    const bareMs = performance.now() - tb;
    const child = await runChild(['import-child', url, schema, file]);
    const r = child.result as { ok: boolean; value?: { received: number; changed: number } };
    if (!r.ok || r.value?.received !== ROWS)
      throw new Error(`import failed: ${JSON.stringify(r).slice(0, 300)}`);
    printSection(
      `hub fines import of ${ROWS.toLocaleString('en-US')} CSV rows on PostgreSQL (load average ${loadBefore} before, 2 shared cores)`,
      [
        {
          name: 'import (stream → COPY to staging → checks → one-transaction apply)',
          value: `${(child.ms / 1000).toFixed(1)} s (${Math.round((ROWS / child.ms) * 1000).toLocaleString('en-US')} rows/s), ${(child.ms / bareMs).toFixed(2)}x the bare COPY`,
          anchor: `bare COPY of the same file: ${(bareMs / 1000).toFixed(1)} s; aim within 2x`,
        },
        {
          name: 'import process peak RSS',
          value: `${child.maxRssMb.toFixed(0)} MB`,
          anchor: 'aim under 300 MB; last round 1,894 MB (whole file in memory)',
        },
      ],
    );
  } finally {
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await c.end();
  }
}

const KIOSK_BILLS = Number(process.env.FK_BENCH_KIOSK_BILLS ?? 1_000_000);
const KIOSK_EVENTS = Number(process.env.FK_BENCH_KIOSK_EVENTS ?? 2_000_000);
const KIOSK_ISSUED = Number(process.env.FK_BENCH_KIOSK_ISSUED ?? 100_000);
const N_OPS = 2000;

function kioskFine(i: number): Record<string, unknown> {
  return {
    decisionNo: `3101012027${String(i).padStart(8, '0')}`,
    region: '310101',
    plate: `沪B${String(i % 100000).padStart(5, '0')}`,
    vehicleIdLast6: 'A1B2C3',
    violationCode: '1625',
    description: '驾驶机动车违反道路交通信号灯通行',
    place: '上海市黄浦区人民大道',
    occurredAt: '2026-10-01T08:00:00+08:00',
    decidedOn: '2026-10-05',
    fineFen: 20000,
    points: 6,
    status: 'unpaid',
  };
}

async function kioskBench(dir: string): Promise<void> {
  const loadBefore = load();
  const fines = KIOSK_ISSUED + 4 * N_OPS + 1000;
  const kiosk = openKiosk({ dataDir: path.join(dir, 'kiosk'), hubBase: 'https://hub.example' });
  try {
    const imp = kiosk.fines.importRows(
      Array.from({ length: fines }, (_, i) => kioskFine(i)),
      'bench',
    );
    if (!imp.ok) throw new Error(imp.error.message);
    let next = 0;
    const issue = (): void => {
      const r = kiosk.bills.issue(String(kioskFine(next++).decisionNo));
      if (!r.ok) throw new Error(r.error.message);
    };
    const lookup = (i: number): void => {
      const r = kiosk.fines.findByDecisionNo(String(kioskFine(Math.abs(i) % fines).decisionNo));
      if (!r.ok) throw new Error(r.error.message);
    };
    const byPlate = (i: number): void => {
      const f = kioskFine(Math.abs(i) % fines);
      const r = kiosk.fines.findByPlate(String(f.plate), 'A1B2C3');
      if (!r.ok) throw new Error(r.error.message);
    };
    const round = async (): Promise<{ issue: Stats; lookup: Stats; plate: Stats }> => ({
      issue: await measure(N_OPS, issue, 100),
      lookup: await measure(N_OPS, lookup, 100),
      plate: await measure(N_OPS, byPlate, 100),
    });
    const empty = await round();
    // Bills issued through the service, as a kiosk does over months: the process's memory after them.
    const ti = performance.now();
    while (next < KIOSK_ISSUED + 2 * N_OPS) issue();
    const issuedMs = performance.now() - ti;
    const rssAfterIssued = process.memoryUsage().rss / 1024 / 1024;
    // Years of history added in bulk: closed bills over the same fines and acknowledged outbox events.
    const db = kiosk.db;
    const tf = performance.now();
    const base = (db.prepare('SELECT max(seq) AS n FROM bills').get() as { n: number }).n;
    const insBill = db.prepare(
      `INSERT INTO bills (bill_no, seq, decision_no, fine_fen, late_fee_fen, amount_fen, issued_at, expires_at, token, status, closed_at)
       VALUES (?, ?, ?, 20000, 0, 20000, ?, ?, 'b1.fill', 'expired', ?)`,
    );
    const fillBills = db.transaction((from: number, to: number) => {
      for (let i = from; i < to; i++) {
        const at = 1_700_000_000 + i;
        insBill.run(
          `FILL-${i}`,
          base + 1 + i,
          String(kioskFine(i % fines).decisionNo),
          at,
          at + 14400,
          at + 14400,
        );
      }
    });
    for (let i = 0; i < KIOSK_BILLS; i += 50_000) fillBills(i, Math.min(KIOSK_BILLS, i + 50_000));
    // The filled events are older history below the real ones (negative seqs), acknowledged by the hub; the
    // chain head that the next bill links to is unchanged.
    const insEvent = db.prepare(
      `INSERT INTO outbox (seq, event_id, type, at, payload, prev_hash, hash, pushed) VALUES (?, ?, 'bill.expired', ?, '{}', ?, ?, 1)`,
    );
    const fillEvents = db.transaction((from: number, to: number) => {
      for (let i = from; i < to; i++) {
        const h = String(i).padStart(64, '0');
        insEvent.run(-1 - i, `fill-${i}`, 1_700_000_000_000 + i, h, h);
      }
    });
    for (let i = 0; i < KIOSK_EVENTS; i += 50_000) fillEvents(i, Math.min(KIOSK_EVENTS, i + 50_000));
    db.exec('ANALYZE');
    const fillMs = performance.now() - tf;
    const full = await round();
    const ratio = (a: Stats, b: Stats): string => `${(a.p99 / b.p99).toFixed(2)}x`;
    const counts = db
      .prepare('SELECT (SELECT count(*) FROM bills) AS b, (SELECT count(*) FROM outbox) AS e')
      .get() as {
      b: number;
      e: number;
    };
    printSection(
      `kiosk with ${counts.b.toLocaleString('en-US')} bills and ${counts.e.toLocaleString('en-US')} outbox events beside the same kiosk empty (load average ${loadBefore} before, 2 shared cores)`,
      [
        {
          name: 'bill issue (full)',
          value: `p50 ${fmtMs(full.issue.p50)}, p99 ${fmtMs(full.issue.p99)}; p99 ${ratio(full.issue, empty.issue)} empty`,
          anchor: `empty: p50 ${fmtMs(empty.issue.p50)}, p99 ${fmtMs(empty.issue.p99)}; aim within 1.5x`,
        },
        {
          name: 'lookup by decision number (full)',
          value: `p50 ${fmtMs(full.lookup.p50)}, p99 ${fmtMs(full.lookup.p99)}; p99 ${ratio(full.lookup, empty.lookup)} empty`,
          anchor: `empty: p50 ${fmtMs(empty.lookup.p50)}, p99 ${fmtMs(empty.lookup.p99)}; aim within 1.5x`,
        },
        {
          name: 'lookup by plate + vehicle id (full)',
          value: `p50 ${fmtMs(full.plate.p50)}, p99 ${fmtMs(full.plate.p99)}; p99 ${ratio(full.plate, empty.plate)} empty`,
          anchor: `empty: p50 ${fmtMs(empty.plate.p50)}, p99 ${fmtMs(empty.plate.p99)}; aim within 1.5x`,
        },
        {
          name: `process RSS after ${(KIOSK_ISSUED + 2 * N_OPS).toLocaleString('en-US')} bills issued through the service`,
          value: `${rssAfterIssued.toFixed(0)} MB (issued in ${(issuedMs / 1000).toFixed(1)} s)`,
          anchor: 'aim under 200 MB (this process also holds the benchmark)',
        },
        { name: 'bulk fill of the history', value: `${(fillMs / 1000).toFixed(1)} s` },
      ],
    );
  } finally {
    kiosk.close();
  }
}

export async function run(): Promise<void> {
  const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fk-scale-'));
  try {
    if (SECTIONS.includes('import')) await importBench(url, dir);
    if (SECTIONS.includes('kiosk')) await kioskBench(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'import-child') {
  await importChild(process.argv[3]!, process.argv[4]!, process.argv[5]!);
}
