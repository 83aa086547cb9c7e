// National-scale benchmarks (issue 17). Sections run by FK_BENCH_SCALE (comma list; default all):
// - import: `hub fines import` of FK_BENCH_IMPORT_ROWS (1,000,000) CSV rows on PostgreSQL, in its own process
//   (peak RSS from the kernel's maxrss), beside a bare COPY of the same file into a plain table in the same run.
// - kiosk: bill issue and fine lookups on an empty kiosk database, then on the same kiosk after FK_BENCH_KIOSK_BILLS
//   (1,000,000) bills and FK_BENCH_KIOSK_EVENTS (2,000,000) acknowledged outbox events were added; RSS of the
//   process that issued the bills (FK_BENCH_KIOSK_ISSUED, 100,000, bills issued through the service).
// - feed: settlements with no feed lock from FK_BENCH_FEED_PROCS (4) hub processes on one PostgreSQL, each with
//   FK_BENCH_FEED_CONC (8) at once, FK_BENCH_FEED_N (4,000) in all; beside bare one-row transactions from as many
//   processes in the same run; then a pull must hold every payment exactly once.
// Settlements with and without the lock take separate bills of the same run.
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
import type { HubDb, HubQueryable } from '../hub/db.ts';
import { fmtMs, measure, printSection, stats, type Stats } from './lib.ts';

const self = fileURLToPath(import.meta.url);
const ROWS = Number(process.env.FK_BENCH_IMPORT_ROWS ?? 1_000_000);
const SECTIONS = (process.env.FK_BENCH_SCALE ?? 'import,kiosk,feed').split(',');
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
          name: 'import (raw CSV COPYed to staging → checks in SQL, odd rows by the row rule → one-transaction apply)',
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

// ---- feed: settlements in parallel across hub processes ----

const FEED_PROCS = Number(process.env.FK_BENCH_FEED_PROCS ?? 4);
const FEED_CONC = Number(process.env.FK_BENCH_FEED_CONC ?? 8);
const FEED_N = Number(process.env.FK_BENCH_FEED_N ?? 4000);

type FeedMode = 'settle' | 'locked' | 'bare';

interface FeedChildOut {
  n: number;
  startMs: number;
  endMs: number;
  lat: number[];
}

/**
 * In a child process (one hub process): waits for a line on stdin, then settles its bills (or runs bare one-row
 * transactions) FEED_CONC at a time; prints {n, startMs, endMs, lat} (epoch ms, latencies in ms).
 */
async function feedChild(url: string, schema: string, mode: FeedMode, bills: string): Promise<void> {
  const { openHubDb } = await import('../hub/db.ts');
  const { createHubService } = await import('../hub/service/index.ts');
  const db = await openHubDb({ databaseUrl: url, schema, listen: false, poolSize: FEED_CONC + 2 });
  // 'locked': the previous design's serial point put back for comparison (every transaction takes one lock).
  const hubDb: HubDb =
    mode === 'locked'
      ? Object.assign(Object.create(db) as HubDb, {
          transaction: <T>(fn: (tx: HubQueryable) => Promise<T>): Promise<T> =>
            db.transaction(async (tx) => {
              await tx.query('SELECT pg_advisory_xact_lock(727002)');
              return fn(tx);
            }),
        })
      : db;
  const hub = createHubService({ db: hubDb });
  await hub.keys.current();
  const todo = bills.split(',');
  const paidAt = Math.floor(Date.now() / 1000);
  const lat: number[] = [];
  console.log('ready');
  await new Promise<void>((res) => process.stdin.once('data', () => res()));
  const startMs = Date.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < todo.length) {
      const billNo = todo[next++]!;
      const t = performance.now();
      if (mode === 'bare') {
        await db.transaction(async (tx) => {
          await tx.query('INSERT INTO bench_bare (k) VALUES ($1)', [billNo]);
        });
      } else {
        const r = await hub.payments.settle({
          channel: 'alipay',
          txnId: `T${billNo}`,
          billNo,
          amountFen: 20000,
          paidAt,
        });
        if (!r.ok || r.value.status !== 'settled') throw new Error(`settle ${billNo}: ${JSON.stringify(r)}`);
      }
      lat.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: FEED_CONC }, worker));
  const endMs = Date.now();
  await db.close();
  console.log(JSON.stringify({ n: todo.length, startMs, endMs, lat } satisfies FeedChildOut));
}

/** Starts FEED_PROCS children on their shares of `bills`, lets them go at once, and gathers what they print. */
async function feedRound(
  url: string,
  schema: string,
  mode: FeedMode,
  bills: string[],
): Promise<FeedChildOut[]> {
  const kids = Array.from({ length: FEED_PROCS }, (_, i) => {
    const share = bills.filter((_, j) => j % FEED_PROCS === i);
    const p = spawn(
      process.execPath,
      ['--import', 'tsx', self, 'feed-child', url, schema, mode, share.join(',')],
      {
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    let out = '';
    const ready = new Promise<void>((res) =>
      p.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('ready')) res();
      }),
    );
    const done = new Promise<FeedChildOut>((res, rej) =>
      p.on('close', (code) =>
        code === 0
          ? res(JSON.parse(out.trim().split('\n').pop()!) as FeedChildOut)
          : rej(new Error(`feed child exited ${code}`)),
      ),
    );
    return { p, ready, done };
  });
  await Promise.all(kids.map((k) => k.ready));
  for (const k of kids) k.p.stdin.end('go\n');
  return Promise.all(kids.map((k) => k.done));
}

function feedFigures(outs: FeedChildOut[]): { perS: number; lat: Stats } {
  const n = outs.reduce((a, o) => a + o.n, 0);
  const ms = Math.max(...outs.map((o) => o.endMs)) - Math.min(...outs.map((o) => o.startMs));
  return { perS: (n / ms) * 1000, lat: stats(outs.flatMap((o) => o.lat)) };
}

async function feedBench(url: string): Promise<void> {
  const { openHubDb } = await import('../hub/db.ts');
  const { createHubService } = await import('../hub/service/index.ts');
  const { sequenceFeed } = await import('../hub/feed/order.ts');
  const { generateKeyPair, publicKeyToRaw } = await import('../protocol/signing.ts');
  const { makeBillToken } = await import('../protocol/tokens.ts');
  const schema = `bench_${randomBytes(5).toString('hex')}`;
  const db = await openHubDb({ databaseUrl: url, schema, listen: false, poolSize: 8 });
  try {
    const hub = createHubService({ db });
    await hub.keys.current();
    const kp = generateKeyPair();
    const deviceId = 'benchfeed01';
    const code = await hub.devices.add({ name: 'bench', region: '310101' });
    if (!code.ok) throw new Error(code.error.message);
    const en = await hub.enroll({ code: code.value.code, publicKey: publicKeyToRaw(kp.publicKey), deviceId });
    if (!en.ok) throw new Error(en.error.message);
    const decision = (i: number): string => `31010120269${String(i).padStart(7, '0')}`;
    const imp = await hub.fines.importRows(
      Array.from({ length: 2 * FEED_N }, (_, i) => ({
        decisionNo: decision(i),
        region: '310101',
        plate: '沪A12345',
        vehicleIdLast6: 'A1B2C3',
        violationCode: '1625',
        description: '驾驶机动车违反道路交通信号灯通行',
        place: '上海市黄浦区人民大道',
        occurredAt: '2026-10-01T08:00:00+08:00',
        decidedOn: '2026-10-05',
        fineFen: 20000,
        points: 6,
        status: 'unpaid',
      })),
    );
    if (!imp.ok) throw new Error(imp.error.message);
    const now = Math.floor(Date.now() / 1000);
    const bills: string[] = [];
    let i = 0;
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        while (i < 2 * FEED_N) {
          const k = i++;
          const claims = {
            billNo: `${deviceId.toUpperCase()}-${k + 1}`,
            decisionNo: decision(k),
            amountFen: 20000,
            issuedAt: now - 60,
            expiresAt: now - 60 + 14400,
            deviceId,
          };
          const known = await hub.bills.ensureKnown(claims, makeBillToken(claims, kp.privateKey));
          if (!known.ok) throw new Error(known.error.message);
          bills.push(claims.billNo);
        }
      }),
    );
    await db.query('CREATE TABLE bench_bare (k text PRIMARY KEY)');
    const loadBefore = load();
    bills.sort((a, b) => Number(a.split('-')[1]) - Number(b.split('-')[1]));
    const bare = feedFigures(await feedRound(url, schema, 'bare', bills.slice(0, FEED_N)));
    const settled = feedFigures(await feedRound(url, schema, 'settle', bills.slice(0, FEED_N)));
    const locked = feedFigures(await feedRound(url, schema, 'locked', bills.slice(FEED_N)));
    // Every payment reaches the issuing kiosk's pull exactly once.
    await sequenceFeed(db);
    const seen = await db.query<{ n: number; d: number }>(
      "SELECT count(*)::int AS n, count(DISTINCT data->>'billNo')::int AS d FROM changes WHERE kind = 'payment' AND pos IS NOT NULL",
    );
    const row = seen.rows[0];
    if (row?.n !== 2 * FEED_N || row.d !== 2 * FEED_N)
      throw new Error(`feed holds ${JSON.stringify(row)} payments of ${FEED_N}`);
    printSection(
      `change feed without a lock: ${FEED_N.toLocaleString('en-US')} settlements from ${FEED_PROCS} hub processes, ${FEED_CONC} at once each, one PostgreSQL (load average ${loadBefore} before, 2 shared cores)`,
      [
        {
          name: 'settlements per second (verify bill, sign confirmation, bill + fine + feed rows)',
          value: `${Math.round(settled.perS).toLocaleString('en-US')}/s; latency p50 ${fmtMs(settled.lat.p50)}, p99 ${fmtMs(settled.lat.p99)}`,
          anchor: `bare one-row transactions, same processes and concurrency: ${Math.round(bare.perS).toLocaleString('en-US')}/s (p50 ${fmtMs(bare.lat.p50)}, p99 ${fmtMs(bare.lat.p99)})), ${(bare.perS / settled.perS).toFixed(1)}x the settlement's rate; aim ≥ 3,000/s and within 5x`,
        },
        {
          name: 'the same settlements with one lock around every transaction (the previous design)',
          value: `${Math.round(locked.perS).toLocaleString('en-US')}/s; latency p50 ${fmtMs(locked.lat.p50)}, p99 ${fmtMs(locked.lat.p99)}`,
          anchor: `without the lock: ${(settled.perS / locked.perS).toFixed(2)}x as many per second`,
        },
        {
          name: 'payments in the feed after the run',
          value: `${(2 * FEED_N).toLocaleString('en-US')}, each once`,
        },
      ],
    );
  } finally {
    await db.close();
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await c.end();
  }
}

export async function run(): Promise<void> {
  const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fk-scale-'));
  try {
    if (SECTIONS.includes('import')) await importBench(url, dir);
    if (SECTIONS.includes('kiosk')) await kioskBench(dir);
    if (SECTIONS.includes('feed')) await feedBench(url);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'feed-child') {
  await feedChild(process.argv[3]!, process.argv[4]!, process.argv[5] as FeedMode, process.argv[6]!);
}
if (process.argv[2] === 'import-child') {
  await importChild(process.argv[3]!, process.argv[4]!, process.argv[5]!);
}
