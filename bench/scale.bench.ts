// National-scale benchmarks (issue 17). Sections run by FK_BENCH_SCALE (comma list; default all):
// - import: `hub fines import` of FK_BENCH_IMPORT_ROWS (1,000,000) CSV rows on PostgreSQL, in its own process
//   (peak RSS from the kernel's maxrss), beside a bare COPY of the same file into a plain table in the same run.
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
import { printSection } from './lib.ts';

const self = fileURLToPath(import.meta.url);
const ROWS = Number(process.env.FK_BENCH_IMPORT_ROWS ?? 1_000_000);
const SECTIONS = (process.env.FK_BENCH_SCALE ?? 'import').split(',');
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
  const { createHubService } = await import('../hub/service.ts');
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

export async function run(): Promise<void> {
  const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fk-scale-'));
  try {
    if (SECTIONS.includes('import')) await importBench(url, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'import-child') {
  await importChild(process.argv[3]!, process.argv[4]!, process.argv[5]!);
}
