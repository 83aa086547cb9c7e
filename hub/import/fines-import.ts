// The hub's fines import: rows arrive as a stream (hub/import/read.ts), each is checked by the shared row rule
// (validateFineRow, protocol/fines-file.ts) and loaded into a staging table — COPY on PostgreSQL, batched
// inserts on PGlite — then repeated decision numbers are found in SQL, and the fines are applied from the
// staging table. Loading, checking and applying are one transaction: a bad row anywhere (the last one too)
// leaves the hub as it was, and the refusal names each row (and CSV/NDJSON line) with its reason.
// Memory is a few chunks whatever the file's size; the sequencer lock is taken only for the final apply.
import {
  badRowsFailure,
  MAX_ROW_ERRORS,
  validateFineRow,
  type FineRowError,
} from '../../protocol/fines-file.ts';
import { failure, FailureError, ok, type Result } from '../../protocol/result.ts';
import type { HubDb, HubQueryable } from '../db.ts';
import { lockSequencer, notifyFeed } from '../feed/order.ts';
import { importCsvByCopy } from './csv-copy.ts';
import { readFinesFile, sniffFormat, type FileRow } from './read.ts';
import { queueCloseEndedOrders } from '../pay/jobs.ts';

export interface ImportReport {
  /** Rows read. */
  received: number;
  /** Fines added or changed (a row equal to what the hub holds changes nothing). */
  changed: number;
}

export interface ImportOptions {
  nowS: () => number;
  /** Rows per COPY chunk or per INSERT on PGlite. */
  batch?: number;
  /** A region's decision number format, when configured. */
  decisionPattern?: RegExp;
}

const STAGING = 'fines_staging';
const COLUMNS = ['row_no', 'line', 'decision_no', 'region', 'plate', 'vin6', 'status', 'data'] as const;
type Staged = [number, number | null, string, string, string, string, string, string];

/** One value in COPY's text format: backslash, tab, newline and carriage return escaped; null as \N. */
function copyField(v: string | number | null): string {
  if (v === null) return '\\N';
  if (typeof v === 'number') return String(v);
  return v.replace(/[\\\t\n\r]/g, (c) =>
    c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r',
  );
}

/**
 * Applies the staged fines: a fine the hub knows is paid stays paid whatever a file says, and a fine the
 * authority holds with a revision (source_rev > 0, from the integration API) is left as it is: a file has
 * no revisions, so it cannot be newer (hub/integration/fines-upsert.ts has the same rule).
 */
const APPLY_SQL = `INSERT INTO fines AS f (decision_no, region, plate, vin6, status, data, rev, updated_at)
  SELECT decision_no, region, plate, vin6, status, data, nextval('feed_seq'), $1 FROM ${STAGING} ORDER BY row_no
  ON CONFLICT (decision_no) DO UPDATE SET
    region = EXCLUDED.region, plate = EXCLUDED.plate, vin6 = EXCLUDED.vin6,
    status = CASE WHEN f.status = 'paid' THEN 'paid' ELSE EXCLUDED.status END,
    data = CASE WHEN f.status = 'paid' THEN jsonb_set(EXCLUDED.data, '{status}', '"paid"') ELSE EXCLUDED.data END,
    rev = EXCLUDED.rev, updated_at = EXCLUDED.updated_at
  WHERE f.source_rev = 0 AND f.data IS DISTINCT FROM EXCLUDED.data
    AND NOT (f.status = 'paid' AND f.data = jsonb_set(EXCLUDED.data, '{status}', '"paid"'))`;

/**
 * Imports a fines file (CSV, JSON or NDJSON; see read.ts), all or nothing. A CSV file on PostgreSQL goes through
 * PostgreSQL's own CSV reader first (csv-copy.ts); any file that way cannot take whole, and every other file, is
 * streamed through the row rule here. Errors: as importFines.
 */
export async function importFinesFile(
  db: HubDb,
  file: string,
  opts: ImportOptions,
): Promise<Result<ImportReport>> {
  const format = await sniffFormat(file);
  if (format === 'csv' && db.kind === 'postgres') {
    const r = await importCsvByCopy(db, file, opts);
    if (!('handback' in r)) return r;
  }
  return importFines(db, readFinesFile(file, format), opts);
}

/**
 * Imports a stream of fine rows, all or nothing.
 * Errors: BAD_FILE (the file's own problems, thrown by the reader; or bad rows, with `details.errors` — at most
 * MAX_ROW_ERRORS of {row, line?, reason}, in row order — and `details.errorCount`).
 */
export async function importFines(
  db: HubDb,
  source: AsyncIterable<FileRow>,
  opts: ImportOptions,
): Promise<Result<ImportReport>> {
  const batch = opts.batch ?? (db.kind === 'postgres' ? 1000 : 2000);
  const rowErrors: FineRowError[] = [];
  let rowErrorCount = 0;
  let received = 0;
  const note = (r: FileRow, reason: string): void => {
    rowErrorCount++;
    if (rowErrors.length < MAX_ROW_ERRORS)
      rowErrors.push(r.line === undefined ? { row: r.row, reason } : { row: r.row, line: r.line, reason });
  };
  /** The source's rows that pass the row rule, as staging tuples; the others are noted. */
  async function* staged(): AsyncGenerator<Staged> {
    for await (const r of source) {
      received++;
      if (r.problem) {
        note(r, r.problem);
        continue;
      }
      const v = validateFineRow(r.value, opts.decisionPattern);
      if ('reason' in v) {
        note(r, v.reason);
        continue;
      }
      const f = v.fine;
      yield [
        r.row,
        r.line ?? null,
        f.decisionNo,
        f.region,
        f.plate,
        f.vehicleIdLast6.toUpperCase(),
        f.status,
        JSON.stringify(f),
      ];
    }
  }
  try {
    return await db.transaction(async (tx) => {
      await tx.query(
        `CREATE TEMP TABLE ${STAGING} (row_no integer NOT NULL, line integer, decision_no text NOT NULL,
           region text NOT NULL, plate text NOT NULL, vin6 text NOT NULL, status text NOT NULL, data jsonb NOT NULL)
         ON COMMIT DROP`,
      );
      await load(tx, staged(), batch);
      if (received === 0) throw new FailureError(failure('BAD_FILE', 'the file holds no fines'));
      const dups = await duplicates(tx);
      const errorCount = rowErrorCount + dups.count;
      if (errorCount > 0) {
        const all = [...rowErrors, ...dups.errors].sort((a, b) => a.row - b.row).slice(0, MAX_ROW_ERRORS);
        const refused = badRowsFailure(all, errorCount);
        if (!refused.ok) throw new FailureError(refused.error);
      }
      // A bulk writer: the apply takes its feed positions itself, holding the sequencer lock (hub/feed/order.ts).
      // Settlements never wait for it; only the positions of their changes wait until the import commits.
      await lockSequencer(tx);
      const r = await tx.query(APPLY_SQL, [opts.nowS()]);
      if (r.rowCount > 0) {
        // Fines the file marks paid or cancelled: the open channel orders of their bills are closed.
        await queueCloseEndedOrders(tx, opts.nowS());
        await notifyFeed(tx);
      }
      return ok({ received, changed: r.rowCount });
    });
  } catch (e) {
    if (e instanceof FailureError) return { ok: false, error: e.failure };
    throw e;
  }
}

/** Streams staged tuples into the staging table: COPY where the database has it, multi-row INSERTs otherwise. */
async function load(tx: HubQueryable, rows: AsyncIterable<Staged>, batch: number): Promise<void> {
  if (tx.copyFrom) {
    const lines = async function* (): AsyncGenerator<string> {
      let buf: string[] = [];
      for await (const t of rows) {
        buf.push(t.map(copyField).join('\t'));
        if (buf.length >= batch) {
          yield buf.join('\n') + '\n';
          buf = [];
        }
      }
      if (buf.length) yield buf.join('\n') + '\n';
    };
    await tx.copyFrom(`COPY ${STAGING} (${COLUMNS.join(', ')}) FROM STDIN`, lines());
    return;
  }
  let cols: unknown[][] = COLUMNS.map(() => []);
  let n = 0;
  const flush = async (): Promise<void> => {
    if (n === 0) return;
    await tx.query(
      `INSERT INTO ${STAGING} (${COLUMNS.join(', ')})
       SELECT * FROM unnest($1::int[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::jsonb[])`,
      cols,
    );
    cols = COLUMNS.map(() => []);
    n = 0;
  };
  for await (const t of rows) {
    t.forEach((v, i) => cols[i]!.push(v));
    if (++n >= batch) await flush();
  }
  await flush();
}

/** Rows whose decision number an earlier row already has: the count and the first MAX_ROW_ERRORS, in row order. */
async function duplicates(tx: HubQueryable): Promise<{ count: number; errors: FineRowError[] }> {
  const c = await tx.query<{ n: number }>(
    `SELECT (count(*) - count(DISTINCT decision_no))::int AS n FROM ${STAGING}`,
  );
  const count = Number(c.rows[0]?.n ?? 0);
  if (count === 0) return { count, errors: [] };
  const r = await tx.query<{ row_no: number; line: number | null; decision_no: string; first_row: number }>(
    `SELECT row_no, line, decision_no, first_row FROM (
       SELECT row_no, line, decision_no, min(row_no) OVER (PARTITION BY decision_no) AS first_row FROM ${STAGING}
     ) s WHERE row_no <> first_row ORDER BY row_no LIMIT ${MAX_ROW_ERRORS}`,
  );
  return {
    count,
    errors: r.rows.map((x) => ({
      row: x.row_no,
      ...(x.line !== null ? { line: x.line } : {}),
      reason: `decisionNo ${x.decision_no} repeats row ${x.first_row}`,
    })),
  };
}
