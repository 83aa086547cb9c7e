// Kiosk benchmarks: issuing a bill end to end (find the fine, late fee, sign, durable commit with its
// outbox event) beside a bare durable better-sqlite3 insert; lookup among 1,000,000 cached fines.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { openDatabase } from '../db/connection.ts';
import { openKiosk } from '../main/kiosk.ts';
import { fmtMs, measure, printSection, stats, type Stats } from './lib.ts';

const BILLS = 10_000;
const WARMUP = 200;
const FINES = 1_000_000;
const LOOKUPS = 20_000;

const ms = (s: Stats): string => `p50 ${fmtMs(s.p50)}, p99 ${fmtMs(s.p99)} (n=${s.n}, max ${fmtMs(s.max)})`;

function fineNo(i: number): string {
  return `3101012026${String(i).padStart(6, '0')}`;
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'finekiosk-bench-'));
  try {
    // Baseline: one durable single-row insert, WAL + synchronous=FULL, same disk.
    const bare = openDatabase(path.join(dir, 'bare.db'));
    bare.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT NOT NULL, b INTEGER NOT NULL) STRICT');
    const ins = bare.prepare('INSERT INTO t (a, b) VALUES (?, ?)');

    const kiosk = openKiosk({ dataDir: path.join(dir, 'kiosk'), hubBase: 'https://hub.example' });
    const rows = Array.from({ length: BILLS + WARMUP }, (_, i) => ({
      decisionNo: fineNo(i),
      region: '310101',
      plate: `沪A${String(i % 100000).padStart(5, '0')}`,
      vehicleIdLast6: 'A1B2C3',
      violationCode: '1625',
      description: '驾驶机动车违反道路交通信号灯通行',
      place: '上海市黄浦区人民大道',
      occurredAt: '2026-10-01T08:00:00+08:00',
      decidedOn: '2026-10-05',
      fineFen: 20000,
      points: 6,
      status: 'unpaid' as const,
    }));
    const imp = kiosk.fines.importRows(rows, 'bench');
    if (!imp.ok) throw new Error(imp.error.message);
    const issue = (no: string): void => {
      const r = kiosk.bills.issue(no);
      if (!r.ok) throw new Error(r.error.message);
    };
    for (let i = 0; i < WARMUP; i++) {
      ins.run('warmup', i);
      issue(fineNo(BILLS + i));
    }
    // Interleaved, one of each in turn: both see the same disk, checkpoints and machine load.
    const bareMs: number[] = [];
    const issueMs: number[] = [];
    for (let i = 0; i < BILLS; i++) {
      let t = performance.now();
      ins.run(`row-${i}`, i);
      bareMs.push(performance.now() - t);
      t = performance.now();
      issue(fineNo(i));
      issueMs.push(performance.now() - t);
    }
    bare.close();
    const bareStats = stats(bareMs);
    const issueStats = stats(issueMs);
    const chain = kiosk.outbox.verify();
    printSection('bill issue, end to end (find fine, late fee, sign, durable commit + outbox event)', [
      {
        name: 'bill issue',
        value: ms(issueStats),
        anchor: `bare durable single-row insert, same run: ${ms(bareStats)}`,
      },
      {
        name: 'p99 bill issue / p99 bare insert',
        value: `${(issueStats.p99 / bareStats.p99).toFixed(2)}x (p50 ${(issueStats.p50 / bareStats.p50).toFixed(2)}x)`,
        anchor: 'aim: p99 within 2x',
      },
      { name: 'outbox after the run', value: `${chain.events} events, chain ${chain.ok ? 'ok' : 'BROKEN'}` },
    ]);

    // 1,000,000 fines, bulk-loaded in one transaction through one prepared statement.
    const db = kiosk.db;
    const load = db.prepare(`INSERT INTO fines (decision_no, region, plate, vin6, violation_code, description,
      description_en, place, occurred_at, decided_on, fine_fen, points, status, updated_at)
      VALUES (?, '310101', ?, ?, '1625', '驾驶机动车违反道路交通信号灯通行', NULL, '上海市黄浦区人民大道',
      '2026-10-01T08:00:00+08:00', ?, ?, 6, 'unpaid', 0)`);
    const t0 = performance.now();
    db.transaction(() => {
      for (let i = BILLS + WARMUP; i < FINES; i++) {
        load.run(
          fineNo(i),
          `沪B${String(i % 100000).padStart(5, '0')}`,
          'Z9Y8X7',
          i % 2 ? '2026-10-01' : '2026-11-20',
          5000 + (i % 200) * 100,
        );
      }
    })();
    const loadMs = performance.now() - t0;
    const count = kiosk.fines.count();
    const pick = (i: number): string => fineNo(Math.floor(((i + 7919) * 104_729) % FINES));
    const findStats = await measure(LOOKUPS, (i) => {
      const r = kiosk.fines.findByDecisionNo(pick(Math.abs(i)));
      if (!r.ok) throw new Error(r.error.message);
    });
    const raw = db.prepare('SELECT * FROM fines WHERE decision_no = ?');
    const rawStats = await measure(LOOKUPS, (i) => {
      if (!raw.get(pick(Math.abs(i)))) throw new Error('missing');
    });
    printSection(`find by decision number among ${count.toLocaleString('en-US')} fines`, [
      {
        name: 'bulk load',
        value: `${(FINES - BILLS - WARMUP).toLocaleString('en-US')} fines in ${(loadMs / 1000).toFixed(2)} s (${Math.round(((FINES - BILLS - WARMUP) / loadMs) * 1000).toLocaleString('en-US')}/s), one transaction`,
      },
      {
        name: 'fines.findByDecisionNo (validate, lookup, late fee)',
        value: ms(findStats),
        anchor: 'aim: p99 under 1 ms',
      },
      { name: 'bare prepared SELECT by primary key', value: ms(rawStats) },
    ]);
    kiosk.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
