// Crash safety: a child process issues and pays bills; we SIGKILL it at random moments, many rounds.
// After each restart every bill and payment it reported committed is there, nothing half-written is,
// the outbox has no gap and its chain verifies.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openKiosk } from '../../main/kiosk.ts';
import { generateKeyPair, privateKeyToPem, publicKeyToRaw } from '../../protocol/signing.ts';
import { fine, tempDir } from '../kiosk/helpers.ts';

const ROUNDS = 24;
const dir = tempDir('finekiosk-crash-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const worker = path.resolve('tests/faults/crash-worker.ts');

/** Runs the worker, kills it with SIGKILL `afterMs` after it is ready; returns the lines it printed. */
function round(env: NodeJS.ProcessEnv, afterMs: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', worker, dir], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      out += d;
      if (!timer && out.includes('READY\n')) timer = setTimeout(() => child.kill('SIGKILL'), afterMs);
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`worker ended by itself (${code}): ${err}`));
      else resolve(out.split('\n'));
    });
  });
}

describe('crash safety', () => {
  it(`keeps every committed bill and payment across ${ROUNDS} SIGKILLs, nothing half-written, chain intact`, async () => {
    const hub = generateKeyPair();
    const k0 = openKiosk({ dataDir: dir });
    const fines = Array.from({ length: 400 }, (_, i) =>
      fine({ decisionNo: `3101012026${String(100000 + i)}`, decidedOn: '2026-10-01' }),
    );
    expect(k0.fines.importRows(fines, 'crash').ok).toBe(true);
    expect(k0.trust.addHubKey('hub1', publicKeyToRaw(hub.publicKey)).ok).toBe(true);
    k0.close();
    const env = { ...process.env, CRASH_HUB_KEY: privateKeyToPem(hub.privateKey) };

    const bills = new Set<string>();
    const payments = new Map<string, string>();
    let lastEvents = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const lines = await round(env, 5 + Math.floor(Math.random() * 250));
      for (const l of lines) {
        const [kind, billNo, txn] = l.split(' ');
        if (kind === 'B') bills.add(billNo!);
        if (kind === 'P') payments.set(txn!, billNo!);
      }
      // Restart: open the data folder as the kiosk would after a power cut.
      const k = openKiosk({ dataDir: dir });
      try {
        expect(k.db.pragma('integrity_check', { simple: true })).toBe('ok');
        const chain = k.outbox.verify();
        expect(chain.ok, JSON.stringify(chain.firstBroken)).toBe(true);
        expect(chain.events).toBeGreaterThanOrEqual(lastEvents);
        lastEvents = chain.events;
        const gaps = k.db.prepare('SELECT max(seq) AS m, count(*) AS n FROM outbox').get() as {
          m: number;
          n: number;
        };
        expect(gaps.m).toBe(gaps.n);

        for (const b of bills) expect(k.bills.get(b).ok, b).toBe(true);
        for (const [txn, b] of payments) {
          const row = k.db.prepare('SELECT bill_no FROM payments WHERE txn_id = ?').get(txn) as {
            bill_no: string;
          };
          expect(row?.bill_no, txn).toBe(b);
          expect(k.bills.get(b)).toMatchObject({ ok: true, value: { status: 'paid' } });
        }
        // Nothing half-written: each row has its event and each event its row, one for one.
        const count = (sql: string): number => (k.db.prepare(sql).get() as { n: number }).n;
        expect(count("SELECT count(*) AS n FROM outbox WHERE type = 'bill.issued'")).toBe(
          count('SELECT count(*) AS n FROM bills'),
        );
        expect(count("SELECT count(*) AS n FROM outbox WHERE type = 'payment.confirmed'")).toBe(
          count('SELECT count(*) AS n FROM payments'),
        );
        expect(count("SELECT count(*) AS n FROM outbox WHERE type = 'bill.voided'")).toBe(
          count("SELECT count(*) AS n FROM bills WHERE status IN ('voided', 'expired')"),
        );
        expect(
          count(`SELECT count(*) AS n FROM bills b JOIN payments p ON p.bill_no = b.bill_no
                 JOIN fines f ON f.decision_no = b.decision_no WHERE b.status != 'paid' OR f.status != 'paid'`),
        ).toBe(0);
        expect(
          count(
            "SELECT count(*) AS n FROM (SELECT decision_no FROM bills WHERE status = 'live' GROUP BY decision_no HAVING count(*) > 1)",
          ),
        ).toBe(0);
        const issuedEvents = k.outbox
          .list(0, 1e9)
          .filter((e) => e.type === 'bill.issued')
          .map((e) => (JSON.parse(e.payload) as { billNo: string }).billNo);
        const rows = (
          k.db.prepare('SELECT bill_no FROM bills ORDER BY seq').all() as { bill_no: string }[]
        ).map((r) => r.bill_no);
        expect(issuedEvents).toEqual(rows);
      } finally {
        k.close();
      }
    }
    // The run did real work: many bills and payments survived the kills.
    expect(bills.size).toBeGreaterThan(ROUNDS);
    expect(payments.size).toBeGreaterThan(ROUNDS / 2);
  }, 120_000);
});
