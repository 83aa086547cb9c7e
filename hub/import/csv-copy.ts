// The fast way for a CSV fines file on PostgreSQL: PostgreSQL parses the file itself (`COPY ... FORMAT csv`) into
// a staging table of text columns, so no row passes through JavaScript on the way in. Profiling showed that
// parsing and checking each row in Node, not the database, made the streamed import about 40x slower than a
// bare COPY of the same file (docs/scale.md).
//
// The row rule stays the one of protocol/fines-file.ts (validateFineRow). SQL only sorts rows: SURELY_VALID is a
// narrower test (plain ASCII identifiers, whole numbers without signs, real calendar days, date-times with
// seconds and an offset, lengths counted the way zod counts them) that no row the rule
// refuses can pass (tests/hub/import-copy.test.ts holds the two together over generated rows). The rows it does
// not pass go through validateFineRow in Node; a clean file's rows all pass it.
//
// Anything unusual — a header the rule refuses, a CSV PostgreSQL cannot read (a blank line, a bad quote, bytes
// that are not UTF-8, a row with too many or too few fields), a bad row, a repeated decision number, a region's
// own decision-number pattern — hands the file to the streamed import (fines-import.ts), which checks every
// row and names each bad one; so a refusal reads the same whichever way the file went.
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { parse as parseCsvSync } from 'csv-parse/sync';
import { csvHeader, csvRecordToRow, validateFineRow } from '../../protocol/fines-file.ts';
import { ok, type Result } from '../../protocol/result.ts';
import type { HubDb, HubQueryable } from '../db.ts';
import { lockSequencer, notifyFeed } from '../feed/order.ts';
import { queueCloseEndedOrders } from '../pay/jobs.ts';
import type { ImportOptions, ImportReport } from './fines-import.ts';

const STAGING = 'fines_csv';
const ODD = 'fines_csv_odd';
const CHECKED = 'fines_csv_checked';
/** Rows of those SURELY_VALID does not pass, checked in Node per round trip. */
const ODD_BATCH = 2000;

/** Why the fast way gave the file back to the streamed import (for tests and logs). */
export type Handback = { handback: string };

const q = (name: string): string => `"${name}"`;

const DIGITS = '0123456789';
const ALNUM = DIGITS + 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Every character of `c` is in `set` (ltrim is plain C in PostgreSQL, far cheaper than its regex engine). */
const only = (c: string, set: string): string => `ltrim(${c}, '${set}') = ''`;

/**
 * `c` is surely between min and max UTF-16 code units long, the length zod counts: at least char_length, and
 * at most char_length plus a third of the bytes beyond one per character (only a 4-byte character, outside
 * the Basic Multilingual Plane, counts twice).
 */
const units = (c: string, min: number, max: number): string =>
  `char_length(${c}) >= ${min} AND char_length(${c}) + (octet_length(${c}) - char_length(${c})) / 3.0 <= ${max}`;

/** Characters `from`..`from+len-1` (1-based) of `c` are digits. */
const digitsAt = (c: string, from: number, len: number): string =>
  only(`substr(${c}, ${from}, ${len})`, DIGITS);

/**
 * `c` starts with a real calendar day YYYY-MM-DD of 1900–2099 (so the JavaScript Date reads it as written).
 * Written as a CASE so that no cast runs on a value that failed the character checks.
 */
function realDate(c: string): string {
  const y = `substr(${c}, 1, 4)::int`;
  const m = `substr(${c}, 6, 2)::int`;
  const d = `substr(${c}, 9, 2)::int`;
  return `(CASE WHEN substr(${c}, 5, 1) = '-' AND substr(${c}, 8, 1) = '-' AND ${digitsAt(c, 1, 4)}
      AND ${digitsAt(c, 6, 2)} AND ${digitsAt(c, 9, 2)} AND substr(${c}, 1, 2) IN ('19', '20')
    THEN ${m} BETWEEN 1 AND 12 AND ${d} >= 1 AND ${d} <= CASE WHEN ${m} IN (4, 6, 9, 11) THEN 30
      WHEN ${m} = 2 THEN CASE WHEN ${y} % 4 = 0 AND (${y} % 100 <> 0 OR ${y} % 400 = 0) THEN 29 ELSE 28 END
      ELSE 31 END
    ELSE false END)`;
}

/** `c` is YYYY-MM-DDTHH:MM:SS then Z or ±HH:MM (offset hours up to 13), each part in range. */
function dateTime(c: string): string {
  const part = (from: number): string => `substr(${c}, ${from}, 2)::int`;
  const zone = `substr(${c}, 20)`;
  return `(CASE WHEN substr(${c}, 11, 1) = 'T' AND substr(${c}, 14, 1) = ':' AND substr(${c}, 17, 1) = ':'
      AND ${digitsAt(c, 12, 2)} AND ${digitsAt(c, 15, 2)} AND ${digitsAt(c, 18, 2)}
      AND (${zone} = 'Z' OR (char_length(${zone}) = 6 AND substr(${zone}, 1, 1) IN ('+', '-')
        AND substr(${zone}, 4, 1) = ':' AND ${digitsAt(zone, 2, 2)} AND ${digitsAt(zone, 5, 2)}))
    THEN ${part(12)} < 24 AND ${part(15)} < 60 AND ${part(18)} < 60
      AND (${zone} = 'Z' OR (substr(${zone}, 2, 2)::int <= 13 AND substr(${zone}, 5, 2)::int < 60))
    ELSE false END)`;
}

/**
 * Rows SQL can accept without Node: a strict subset of what validateFineRow accepts (the columns are the CSV's
 * text fields, NULL for an unquoted empty one).
 */
export const SURELY_VALID = `(
  char_length(${q('decisionNo')}) BETWEEN 1 AND 32 AND ${only(q('decisionNo'), ALNUM)}
  AND char_length(region) = 6 AND ${only('region', DIGITS)}
  AND char_length(${q('vehicleIdLast6')}) = 6 AND ${only(q('vehicleIdLast6'), ALNUM)}
  AND status IN ('unpaid', 'paid', 'cancelled')
  AND char_length(${q('fineFen')}) BETWEEN 1 AND 15 AND ${only(q('fineFen'), DIGITS)}
  AND points IN ('0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12')
  AND ${units('plate', 2, 16)} AND ${units(q('violationCode'), 1, 16)}
  AND ${units('description', 1, 200)} AND ${units('place', 1, 200)}
  AND (${q('descriptionEn')} IS NULL OR ${units(q('descriptionEn'), 0, 300)})
  AND char_length(${q('decidedOn')}) = 10 AND ${realDate(q('decidedOn'))}
  AND char_length(${q('occurredAt')}) IN (20, 25) AND ${realDate(q('occurredAt'))} AND ${dateTime(q('occurredAt'))}
)`;

/** The fine as validateFineRow returns it, built in SQL from a row `s` that passed SURELY_VALID. */
export const SURELY_DATA = `jsonb_build_object('decisionNo', s.${q('decisionNo')}, 'region', s.region, 'plate', s.plate,
    'vehicleIdLast6', s.${q('vehicleIdLast6')}, 'violationCode', s.${q('violationCode')},
    'description', s.description, 'place', s.place, 'occurredAt', s.${q('occurredAt')},
    'decidedOn', s.${q('decidedOn')}, 'fineFen', s.${q('fineFen')}::bigint, 'points', s.points::int,
    'status', s.status)
  || CASE WHEN coalesce(s.${q('descriptionEn')}, '') <> '' THEN jsonb_build_object('descriptionEn', s.${q('descriptionEn')})
     ELSE '{}'::jsonb END`;

/** The staged rows → fines, as the streamed import applies them (a fine the hub knows is paid stays paid). */
const APPLY_SQL = `INSERT INTO fines AS f (decision_no, region, plate, vin6, status, data, rev, pend, updated_at)
  SELECT s.${q('decisionNo')}, s.region, s.plate, upper(s.${q('vehicleIdLast6')}), s.status,
         coalesce(c.data, ${SURELY_DATA}), nextval('feed_seq'), 0, $1
  FROM ${STAGING} s LEFT JOIN ${CHECKED} c ON c.row_no = s.row_no
  ON CONFLICT (decision_no) DO UPDATE SET
    region = EXCLUDED.region, plate = EXCLUDED.plate, vin6 = EXCLUDED.vin6,
    status = CASE WHEN f.status = 'paid' THEN 'paid' ELSE EXCLUDED.status END,
    data = CASE WHEN f.status = 'paid' THEN jsonb_set(EXCLUDED.data, '{status}', '"paid"') ELSE EXCLUDED.data END,
    rev = EXCLUDED.rev, updated_at = EXCLUDED.updated_at
  WHERE f.data IS DISTINCT FROM EXCLUDED.data
    AND NOT (f.status = 'paid' AND f.data = jsonb_set(EXCLUDED.data, '{status}', '"paid"'))`;

/** The file's header row, checked (protocol/fines-file.ts); undefined when the rule refuses it or it cannot be read. */
async function readHeader(file: string): Promise<string[] | undefined> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const text = buf.subarray(0, bytesRead).toString('utf8');
    const firstLine = /^[^\r\n]*/.exec(text.replace(/^\uFEFF/, ''))?.[0] ?? '';
    if (firstLine.includes('"')) return undefined; // a quoted header: let the streamed reader judge it
    const rec = (parseCsvSync(firstLine, { relax_column_count: true }) as string[][])[0];
    if (!rec) return undefined;
    const h = csvHeader(rec);
    return h.ok ? h.value : undefined;
  } catch {
    return undefined;
  } finally {
    await fh.close();
  }
}

class Handed extends Error {
  constructor(readonly why: string) {
    super(why);
  }
}

/**
 * Imports a CSV fines file through PostgreSQL's own CSV reader, all or nothing, in one transaction.
 * Returns the import's report, or a Handback (nothing changed) when the file must go the streamed way instead.
 * PostgreSQL only (`tx.copyFrom`).
 */
export async function importCsvByCopy(
  db: HubDb,
  file: string,
  opts: ImportOptions,
): Promise<Result<ImportReport> | Handback> {
  if (opts.decisionPattern) return { handback: 'a region decision-number pattern is checked in Node' };
  const header = await readHeader(file);
  if (!header) return { handback: 'header' };
  try {
    return await db.transaction(async (tx) => {
      if (!tx.copyFrom) throw new Handed('no COPY on this database');
      const cols = [...header, ...(header.includes('descriptionEn') ? [] : ['descriptionEn'])];
      await tx.query(
        `CREATE TEMP TABLE ${STAGING} (row_no integer GENERATED ALWAYS AS IDENTITY,
           ${cols.map((c) => `${q(c)} text`).join(', ')}) ON COMMIT DROP`,
      );
      let received: number;
      try {
        received = await tx.copyFrom(
          `COPY ${STAGING} (${header.map(q).join(', ')}) FROM STDIN WITH (FORMAT csv, HEADER true)`,
          createReadStream(file, { highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer>,
        );
      } catch (e) {
        throw new Handed(`COPY: ${(e as Error).message}`);
      }
      if (received === 0) throw new Handed('no rows');
      // Repeated decision numbers are reported by the streamed import, with both rows.
      const dup = await tx.query<{ n: number }>(
        `SELECT (count(*) - count(DISTINCT ${q('decisionNo')}))::int AS n FROM ${STAGING}`,
      );
      if (Number(dup.rows[0]?.n ?? 0) > 0) throw new Handed('repeated decision numbers');
      await tx.query(
        `CREATE TEMP TABLE ${ODD} ON COMMIT DROP AS SELECT * FROM ${STAGING} WHERE ${SURELY_VALID} IS NOT TRUE`,
      );
      await tx.query(
        `CREATE TEMP TABLE ${CHECKED} (row_no integer PRIMARY KEY, data jsonb NOT NULL) ON COMMIT DROP`,
      );
      await checkOdd(tx, header);
      await lockSequencer(tx);
      const r = await tx.query(APPLY_SQL, [opts.nowS()]);
      if (r.rowCount > 0) {
        // As the streamed import: fines the file marks paid or cancelled close their bills' open channel orders.
        await queueCloseEndedOrders(tx, opts.nowS());
        await notifyFeed(tx);
      }
      return ok({ received, changed: r.rowCount });
    });
  } catch (e) {
    if (e instanceof Handed) return { handback: e.why };
    throw e;
  }
}

/** The rows SQL did not pass, through the row rule in Node; the first bad one hands the file back. */
async function checkOdd(tx: HubQueryable, header: string[]): Promise<void> {
  await tx.query(`CREATE INDEX ON ${ODD} (row_no)`);
  let after = 0;
  for (;;) {
    const r = await tx.query<Record<string, string | null> & { row_no: number }>(
      `SELECT * FROM ${ODD} WHERE row_no > $1 ORDER BY row_no LIMIT ${ODD_BATCH}`,
      [after],
    );
    if (r.rows.length === 0) return;
    const nos: number[] = [];
    const data: string[] = [];
    for (const row of r.rows) {
      // COPY reads an unquoted empty field as NULL; csv-parse, which the rule was written against, as ''.
      const fields = header.map((h) => row[h] ?? '');
      const rec = csvRecordToRow(header, fields);
      if (rec.problem) throw new Handed(`row ${row.row_no}`);
      const v = validateFineRow(rec.row);
      if ('reason' in v) throw new Handed(`row ${row.row_no}`);
      nos.push(Number(row.row_no));
      data.push(JSON.stringify(v.fine));
    }
    await tx.query(`INSERT INTO ${CHECKED} (row_no, data) SELECT * FROM unnest($1::int[], $2::jsonb[])`, [
      nos,
      data,
    ]);
    after = nos.at(-1)!;
  }
}
