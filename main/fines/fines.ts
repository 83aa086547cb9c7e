// Fines: import from a JSON or CSV file (all or nothing), lookup by decision number or by plate plus the
// last 6 of the vehicle id, and bulk upsert for the hub's sync pull.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { Database } from '../../db/connection.ts';
import { decodeFinesFile, validateFineRows } from '../../protocol/fines-file.ts';
import { fineSchema, type Fine } from '../../protocol/fines.ts';
import { VIN6_RE } from '../../protocol/ids.ts';
import { normalizePlate, normalizeVin6 } from '../../protocol/plate.ts';
import { normalizeDecisionNo, plausibleDecisionNo } from '../../protocol/decision.ts';
import { billAmount } from '../../protocol/money.ts';
import { fail, ok, type Result } from '../../protocol/result.ts';
import { unixSeconds, type Clock } from '../../protocol/time.ts';
import { appendEvent } from '../outbox/outbox.ts';
import type { Settings } from '../settings/settings.ts';

export type { Fine };
export type FineView = Fine & { lateFeeFenToday: number; totalFenToday: number };

export interface ImportReport {
  imported: number;
  updated: number;
}

/** One bad row of an import: see protocol/fines-file.ts. */
export type { FineRowError as RowError } from '../../protocol/fines-file.ts';

/** Largest import file accepted (a city's fines fit easily; bounds memory on a bad file). */
export const MAX_IMPORT_BYTES = 256 * 1024 * 1024;

export interface FineRow {
  decision_no: string;
  region: string;
  plate: string;
  vin6: string;
  violation_code: string;
  description: string;
  description_en: string | null;
  place: string;
  occurred_at: string;
  decided_on: string;
  fine_fen: number;
  points: number;
  status: Fine['status'];
}

export function fineFromRow(r: FineRow): Fine {
  const f: Fine = {
    decisionNo: r.decision_no,
    region: r.region,
    plate: r.plate,
    vehicleIdLast6: r.vin6,
    violationCode: r.violation_code,
    description: r.description,
    place: r.place,
    occurredAt: r.occurred_at,
    decidedOn: r.decided_on,
    fineFen: r.fine_fen,
    points: r.points,
    status: r.status,
  };
  if (r.description_en !== null) f.descriptionEn = r.description_en;
  return f;
}

export { normalizePlate };

/** Built once: zod compiles a schema on first use, so a schema made per row would compile per row. */

const plateSchema = z
  .string()
  .transform(normalizePlate)
  .pipe(z.string().min(2, 'plate: at least 2 characters').max(16, 'plate: at most 16 characters'));
const vin6Schema = z
  .string()
  .transform(normalizeVin6)
  .pipe(z.string().regex(VIN6_RE, 'vin6: the last 6 letters or digits of the vehicle id'));

export interface FinesService {
  importFile(file: string): Result<ImportReport>;
  importRows(rows: unknown[], source: string): Result<ImportReport>;
  /** For the sync pull: validated fines, one transaction, no per-fine outbox event. */
  upsertMany(fines: Fine[]): ImportReport;
  findByDecisionNo(decisionNo: string): Result<FineView>;
  findByPlate(plate: string, vin6: string): Result<FineView[]>;
  /** The fine as stored, without validation (for other services). */
  get(decisionNo: string): Fine | undefined;
  count(): number;
  /** Late fee and total due on the Shanghai calendar day of `at` (Unix seconds). */
  view(fine: Fine, at?: number): FineView;
  /** Checks a decision number against the configured pattern. */
  checkDecisionNo(decisionNo: unknown): Result<string>;
}

export function createFinesService(db: Database, clock: Clock, settings: Settings): FinesService {
  const byNo = db.prepare<[string], FineRow>('SELECT * FROM fines WHERE decision_no = ?');
  const byPlate = db.prepare<[string, string], FineRow>(
    'SELECT * FROM fines WHERE plate = ? AND vin6 = ? ORDER BY decided_on, decision_no',
  );
  const statusOf = db.prepare<[string], { status: Fine['status'] }>(
    'SELECT status FROM fines WHERE decision_no = ?',
  );
  const upsert = db.prepare(`
    INSERT INTO fines (decision_no, region, plate, vin6, violation_code, description, description_en, place,
                       occurred_at, decided_on, fine_fen, points, status, updated_at)
    VALUES (@decision_no, @region, @plate, @vin6, @violation_code, @description, @description_en, @place,
            @occurred_at, @decided_on, @fine_fen, @points, @status, @updated_at)
    ON CONFLICT (decision_no) DO UPDATE SET
      region = excluded.region, plate = excluded.plate, vin6 = excluded.vin6,
      violation_code = excluded.violation_code, description = excluded.description,
      description_en = excluded.description_en, place = excluded.place, occurred_at = excluded.occurred_at,
      decided_on = excluded.decided_on, fine_fen = excluded.fine_fen, points = excluded.points,
      -- A fine paid here stays paid whatever an older list says.
      status = CASE WHEN fines.status = 'paid' THEN 'paid' ELSE excluded.status END,
      updated_at = excluded.updated_at`);
  const liveBillsOf = db.prepare<[string], { bill_no: string }>(
    "SELECT bill_no FROM bills WHERE decision_no = ? AND status = 'live'",
  );
  const voidBill = db.prepare<[number, string]>(
    "UPDATE bills SET status = 'voided', void_reason = 'hub', closed_at = ? WHERE bill_no = ?",
  );
  const countStmt = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM fines');

  const view = (fine: Fine, at = unixSeconds(clock)): FineView => {
    const a = billAmount(fine, at);
    return {
      ...fine,
      lateFeeFenToday: fine.status === 'unpaid' ? a.lateFeeFen : 0,
      totalFenToday: fine.status === 'unpaid' ? a.amountFen : 0,
    };
  };

  const checkDecisionNo = (no: unknown): Result<string> => {
    if (typeof no !== 'string') return fail('MALFORMED', 'decision number must be text');
    const s = normalizeDecisionNo(no);
    const re = settings.decisionPattern();
    if (!plausibleDecisionNo(s, re)) {
      return fail('MALFORMED', `decision number does not match the pattern ${re.source}`);
    }
    return ok(s);
  };

  /** Writes validated fines; a cancelled fine loses its live bill (voided, with its event). */
  const write = (fines: Fine[], now: number): ImportReport => {
    let imported = 0;
    let updated = 0;
    for (const f of fines) {
      const before = statusOf.get(f.decisionNo);
      if (before) updated++;
      else imported++;
      upsert.run({
        decision_no: f.decisionNo,
        region: f.region,
        plate: normalizePlate(f.plate),
        vin6: f.vehicleIdLast6.toUpperCase(),
        violation_code: f.violationCode,
        description: f.description,
        description_en: f.descriptionEn ?? null,
        place: f.place,
        occurred_at: f.occurredAt,
        decided_on: f.decidedOn,
        fine_fen: f.fineFen,
        points: f.points,
        status: f.status,
        updated_at: now,
      });
      // A withdrawn fine loses its live bill. A fine the hub reports paid keeps it: the payment itself
      // arrives in the same pull and closes the bill as paid, whichever comes first.
      if (before && before.status !== 'paid' && f.status === 'cancelled') {
        for (const b of liveBillsOf.all(f.decisionNo)) {
          voidBill.run(now, b.bill_no);
          appendEvent(db, 'bill.voided', { billNo: b.bill_no, reason: 'hub', at: now }, clock.now());
        }
      }
    }
    return { imported, updated };
  };

  const validateRows = (
    rows: unknown[],
    lines?: number[],
    problems?: (string | undefined)[],
  ): Result<Fine[]> => validateFineRows({ rows, lines, problems }, settings.decisionPattern());

  const importValidated = (fines: Fine[], sha256: string, source: string): ImportReport => {
    const now = unixSeconds(clock);
    return db
      .transaction(() => {
        const report = write(fines, now);
        appendEvent(
          db,
          'fines.imported',
          { count: fines.length, sha256, source: source.slice(0, 200) },
          clock.now(),
        );
        return report;
      })
      .immediate();
  };

  const importRows = (
    rows: unknown[],
    source: string,
    sha?: string,
    csv?: { lines: number[]; problems: (string | undefined)[] },
  ): Result<ImportReport> => {
    if (!Array.isArray(rows)) return fail('BAD_FILE', 'expected a list of fines');
    if (rows.length === 0) return fail('BAD_FILE', 'the file holds no fines');
    const v = validateRows(rows, csv?.lines, csv?.problems);
    if (!v.ok) return v;
    const sha256 = sha ?? createHash('sha256').update(JSON.stringify(rows)).digest('hex');
    return ok(importValidated(v.value, sha256, source));
  };

  const importFile = (file: string): Result<ImportReport> => {
    let bytes: Buffer;
    try {
      if (statSync(file).size > MAX_IMPORT_BYTES)
        return fail('TOO_LARGE', `${file} is over ${MAX_IMPORT_BYTES} bytes`);
      bytes = readFileSync(file);
    } catch (e) {
      return fail(
        'BAD_FILE',
        `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
    if (bytes.length > MAX_IMPORT_BYTES)
      return fail('TOO_LARGE', `${file} is over ${MAX_IMPORT_BYTES} bytes`);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const decoded = decodeFinesFile(bytes, file);
    if (!decoded.ok) return decoded;
    const { rows, lines, problems } = decoded.value;
    return importRows(rows, path.basename(file), sha256, lines && problems ? { lines, problems } : undefined);
  };

  return {
    importFile,
    importRows: (rows, source) => importRows(rows, source),
    upsertMany: (fines) => {
      const checked = fines.map((f) => fineSchema.parse(f));
      const now = unixSeconds(clock);
      return db.transaction(() => write(checked, now)).immediate();
    },
    findByDecisionNo: (no) => {
      const c = checkDecisionNo(no);
      if (!c.ok) return c;
      const row = byNo.get(c.value);
      if (!row) return fail('FINE_NOT_FOUND', c.value);
      return ok(view(fineFromRow(row)));
    },
    findByPlate: (plate, vin6) => {
      const p = plateSchema.safeParse(plate);
      if (!p.success) return fail('MALFORMED', p.error.issues[0]?.message ?? 'bad plate');
      const v = vin6Schema.safeParse(vin6);
      if (!v.success) return fail('MALFORMED', v.error.issues[0]?.message ?? 'bad vin6');
      const rows = byPlate.all(p.data, v.data.toUpperCase());
      if (rows.length === 0) return fail('FINE_NOT_FOUND');
      const at = unixSeconds(clock);
      return ok(rows.map((r) => view(fineFromRow(r), at)));
    },
    get: (no) => {
      const row = byNo.get(no);
      return row ? fineFromRow(row) : undefined;
    },
    count: () => countStmt.get()!.n,
    view,
    checkDecisionNo,
  };
}
