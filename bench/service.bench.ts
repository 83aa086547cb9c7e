// The hub as a service, on the PostgreSQL at DATABASE_URL (a fresh schema, dropped after):
// - fines upsert through the API: FK_BENCH_API_ROWS (1,000,000) NDJSON lines streamed to
//   PUT /api/v1/fines/batches/:id, rows/s and the hub process's peak memory (VmHWM), beside a bare COPY of the
//   same rows into a table of the same columns in the same run;
// - payment feed read rate: pages of 1,000 events through GET /api/v1/events, events/s and per-page latency.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { fmtMs, measure, printSection } from './lib.ts';

const ROWS = Number(process.env.FK_BENCH_API_ROWS ?? 1_000_000);
const FEED_EVENTS = Number(process.env.FK_BENCH_FEED_EVENTS ?? 100_000);

function fine(i: number) {
  return {
    decisionNo: `11${String(i).padStart(16, '0')}`,
    region: '110000',
    plate: '京A12345',
    vehicleIdLast6: '123456',
    violationCode: '1039',
    description: '违反禁令标志指示',
    place: '长安街',
    occurredAt: '2026-05-01T08:30:00+08:00',
    decidedOn: '2026-05-03',
    fineFen: 20000,
    points: 3,
    status: 'unpaid',
  };
}

function* lines(n: number, map: (i: number) => string, per = 1000): Generator<string> {
  for (let i = 0; i < n; i += per) {
    let s = '';
    for (let j = i; j < Math.min(n, i + per); j++) s += map(j);
    yield s;
  }
}

export async function run(): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (!url) {
    printSection('hub service', [{ name: 'skipped', value: 'DATABASE_URL is not set' }]);
    return;
  }
  const schema = `bench_svc_${randomBytes(4).toString('hex')}`;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('./service-hub.child.ts', import.meta.url)), schema],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: process.env,
    },
  );
  const out = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, unknown>> =>
    JSON.parse(String((await out.next()).value)) as Record<string, unknown>;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    const { url: base } = (await next()) as { url: string };
    child.stdin!.write('fines:write,payments:read\n');
    const key = String((await next()).key);
    const auth = { authorization: `Bearer ${key}` };
    const hwm = (): number =>
      Number(/VmHWM:\s+([0-9]+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
    const rssBefore = hwm();

    // Fines upsert through the API, streamed.
    const t0 = performance.now();
    const res = await fetch(`${base}/api/v1/fines/batches/bench-1`, {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/x-ndjson' },
      body: Readable.toWeb(
        Readable.from(
          lines(ROWS, (i) => JSON.stringify({ op: 'upsert', revision: 1, fine: fine(i) }) + '\n'),
        ),
      ) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    const result = (await res.json()) as { applied: number; refused: number };
    const apiS = (performance.now() - t0) / 1000;
    const peak = hwm();

    // The baseline: a bare COPY of the same rows (same columns as fines) in the same database.
    await admin.query(
      `CREATE TABLE ${schema}.copy_fines (decision_no text PRIMARY KEY, region text, plate text, vin6 text, status text, data jsonb, rev bigint, updated_at bigint, source_rev bigint)`,
    );
    const t1 = performance.now();
    await pipeline(
      Readable.from(
        lines(ROWS, (i) => {
          const f = fine(i);
          return `${f.decisionNo}\t${f.region}\t${f.plate}\t${f.vehicleIdLast6}\t${f.status}\t${JSON.stringify(f).replace(/\\/g, '\\\\')}\t${i + 1}\t0\t1\n`;
        }),
      ),
      admin.query(copyFrom(`COPY ${schema}.copy_fines FROM STDIN`)),
    );
    const copyS = (performance.now() - t1) / 1000;
    printSection('hub service: fines upsert through the API (PostgreSQL)', [
      {
        name: `${ROWS.toLocaleString('en')} NDJSON rows streamed to PUT /api/v1/fines/batches`,
        value: `${Math.round(ROWS / apiS).toLocaleString('en')} rows/s (${apiS.toFixed(1)} s; applied ${result.applied}, refused ${result.refused})`,
        anchor: `bare COPY of the same rows: ${Math.round(ROWS / copyS).toLocaleString('en')} rows/s (${copyS.toFixed(1)} s)`,
      },
      {
        name: 'hub process peak memory (VmHWM)',
        value: `${peak.toFixed(0)} MB`,
        anchor: `${rssBefore.toFixed(0)} MB before the upload`,
      },
    ]);

    // Payment feed read rate.
    await admin.query(
      `INSERT INTO ${schema}.feed_events (pos, event_id, type, data, created_at)
       SELECT nextval('${schema}.feed_events_seq'), 'payment.settled:alipay:T' || g, 'payment.settled',
         jsonb_build_object('channel', 'alipay', 'txnId', 'T' || g, 'billNo', 'B-' || g, 'decisionNo', '11' || lpad(g::text, 16, '0'),
           'amountFen', 20000, 'paidAt', 1778378400, 'source', 'channel', 'deviceId', 'd1'), 1778378400
       FROM generate_series(1, $1) g`,
      [FEED_EVENTS],
    );
    let cursor = 0;
    let read = 0;
    const t2 = performance.now();
    const pages = await measure(
      Math.ceil(FEED_EVENTS / 1000),
      async () => {
        const r = (await (
          await fetch(`${base}/api/v1/events?after=${cursor}&limit=1000`, { headers: auth })
        ).json()) as {
          events: unknown[];
          cursor: number;
        };
        read += r.events.length;
        cursor = r.cursor;
      },
      0,
    );
    const feedS = (performance.now() - t2) / 1000;
    const one = await measure(
      200,
      () => fetch(`${base}/api/v1/events?after=0&limit=1`, { headers: auth }).then((r) => r.arrayBuffer()),
      20,
    );
    printSection('hub service: payment feed read (PostgreSQL)', [
      {
        name: `${read.toLocaleString('en')} events in pages of 1,000`,
        value: `${Math.round(read / feedS).toLocaleString('en')} events/s; page p50 ${fmtMs(pages.p50)}, p99 ${fmtMs(pages.p99)}`,
        anchor: `a one-event page (the request's own cost): p50 ${fmtMs(one.p50)}, p99 ${fmtMs(one.p99)}`,
      },
    ]);
  } finally {
    child.stdin!.write('quit\n');
    await new Promise((r) => child.once('exit', r));
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await admin.end();
  }
}
