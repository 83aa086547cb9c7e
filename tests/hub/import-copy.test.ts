// The CSV import through PostgreSQL's own CSV reader (hub/import/csv-copy.ts). The row rule stays validateFineRow;
// SQL's SURELY_VALID may only pass rows the rule accepts, and the fine it builds must be the rule's own: held
// together here over generated rows, edge cases included. A file the fast way cannot take whole (a bad row, the
// last one too) goes the streamed way and imports nothing; a clean file with unusual rows goes in the fast way
// and stores exactly what the streamed import stores.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openHubDb, type HubDb } from '../../hub/db.ts';
import { importCsvByCopy, SURELY_VALID, SURELY_DATA } from '../../hub/import/csv-copy.ts';
import { importFines } from '../../hub/import/fines-import.ts';
import { readFinesFile } from '../../hub/import/read.ts';
import { createHubService } from '../../hub/service/index.ts';
import { csvRecordToRow, validateFineRow } from '../../protocol/fines-file.ts';
import { FINE_FIELDS } from '../../protocol/fines.ts';
import { tempDir } from '../kiosk/helpers.ts';
import { sampleFine } from './helpers.ts';

const url = process.env.DATABASE_URL;
const COLS = [...FINE_FIELDS];
const HEADER = COLS.join(',');
const csvField = (v: string): string => (/[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
const csvLine = (f: Record<string, unknown>): string =>
  COLS.map((k) => csvField(String(f[k] ?? ''))).join(',');
const no = (i: number): string => `3100${String(i).padStart(14, '0')}`;

/** Strings near each field's limits, and some that are nothing like it. */
const pick = <T>(...xs: T[]): fc.Arbitrary<T> => fc.constantFrom(...xs);
const anyText = fc.string({ unit: 'grapheme', maxLength: 40 });
const field = {
  decisionNo: fc.oneof(fc.stringMatching(/^[0-9A-Za-z]{0,34}$/), anyText, pick('a-1', 'Ａ1', ' 123')),
  region: fc.oneof(fc.stringMatching(/^[0-9]{5,7}$/), pick('31000a', '３１００００', '310000 ')),
  plate: fc.oneof(
    fc.string({ unit: 'grapheme', minLength: 0, maxLength: 18 }),
    pick('沪A12345', '😀😀😀😀😀😀😀😀', '😀'.repeat(9), 'A'),
  ),
  vehicleIdLast6: fc.oneof(fc.stringMatching(/^[0-9A-Za-z]{5,7}$/), pick('12345６', 'ab-def')),
  violationCode: fc.oneof(fc.string({ maxLength: 18 }), pick('😀'.repeat(8), '😀'.repeat(9))),
  description: fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 30 }),
    pick('违'.repeat(200), '违'.repeat(201), '😀'.repeat(100), '😀'.repeat(101)),
  ),
  descriptionEn: fc.oneof(fc.string({ maxLength: 10 }), pick('x'.repeat(300), 'x'.repeat(301), '')),
  place: fc.oneof(fc.string({ unit: 'grapheme', minLength: 0, maxLength: 30 }), pick('', ' ')),
  occurredAt: fc.oneof(
    fc
      .tuple(
        fc.integer({ min: 1890, max: 2110 }),
        fc.integer({ min: 0, max: 13 }),
        fc.integer({ min: 0, max: 32 }),
        fc.integer({ min: 0, max: 25 }),
        fc.integer({ min: 0, max: 61 }),
        fc.integer({ min: 0, max: 61 }),
        pick('Z', '+08:00', '-13:59', '+14:00', '+0800', '+08:60', '', '+99:00'),
      )
      .map(([y, m, d, h, mi, s, z]) => {
        const p = (n: number, w = 2): string => String(n).padStart(w, '0');
        return `${p(y, 4)}-${p(m)}-${p(d)}T${p(h)}:${p(mi)}:${p(s)}${z}`;
      }),
    pick(
      '2026-05-01T08:30+08:00',
      '2026-05-01 08:30:00+08:00',
      '2026-05-01T08:30:00.5Z',
      '2024-02-29T00:00:00Z',
    ),
  ),
  decidedOn: fc.oneof(
    fc
      .tuple(
        fc.integer({ min: 1890, max: 2110 }),
        fc.integer({ min: 0, max: 13 }),
        fc.integer({ min: 0, max: 32 }),
      )
      .map(
        ([y, m, d]) =>
          `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`,
      ),
    pick('2024-02-29', '2100-02-29', '2000-02-29', '1900-02-29', '2026-5-3', '2026-05-03 '),
  ),
  fineFen: fc.oneof(
    fc.nat().map(String),
    pick('-5', '+5', ' 5', '1.5', '1e3', '9'.repeat(15), '9'.repeat(16), '007'),
  ),
  points: fc.oneof(fc.integer({ min: -1, max: 13 }).map(String), pick(' 3', '03', '3.0')),
  status: pick('unpaid', 'paid', 'cancelled', 'Paid', ''),
};
const BASE: Record<string, string> = {
  decisionNo: '310000000000000001',
  region: '310000',
  plate: '沪A12345',
  vehicleIdLast6: 'ab12CD',
  violationCode: '1039',
  description: '违反禁令标志指示',
  descriptionEn: '',
  place: '延安高架路',
  occurredAt: '2026-05-01T08:30:00+08:00',
  decidedOn: '2026-05-03',
  fineFen: '20000',
  points: '3',
  status: 'unpaid',
};
/** A valid row with up to four of its fields replaced by generated ones. */
const rowArb = fc
  .tuple(fc.subarray(Object.keys(field), { maxLength: 4 }), fc.record(field))
  .map(([keys, gen]) => ({
    ...BASE,
    ...Object.fromEntries(keys.map((k) => [k, gen[k as keyof typeof gen]])),
  }));

describe.skipIf(!url)('CSV import through PostgreSQL COPY', () => {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  let db: HubDb;
  let raw: pg.Client;
  beforeAll(async () => {
    db = await openHubDb({ databaseUrl: url!, schema, listen: false });
    raw = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
    await raw.connect();
    await raw.query(`CREATE TABLE probe (row_no integer, ${COLS.map((c) => `"${c}" text`).join(', ')})`);
  });
  afterAll(async () => {
    await raw.end();
    await db.close();
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query(`DROP SCHEMA ${schema} CASCADE`);
    await c.end();
  });

  it('SQL passes only rows the row rule accepts, and builds the same fine', async () => {
    let passed = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(rowArb, { minLength: 1, maxLength: 30 }), async (rows) => {
        await raw.query('TRUNCATE probe');
        // Strings as COPY leaves them: an empty field is NULL, and PostgreSQL text holds no NUL.
        const clean = rows.map((r) =>
          Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.replace(/\0/g, '')])),
        );
        await raw.query(`INSERT INTO probe SELECT * FROM jsonb_populate_recordset(NULL::probe, $1::jsonb)`, [
          JSON.stringify(
            clean.map((r, i) => ({
              row_no: i,
              ...Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === '' ? null : v])),
            })),
          ),
        ]);
        const r = await raw.query<{ row_no: number; ok: boolean | null; data: unknown }>(
          `SELECT row_no, ${SURELY_VALID} AS ok, CASE WHEN ${SURELY_VALID} THEN ${SURELY_DATA} END AS data
           FROM probe s ORDER BY row_no`,
        );
        for (const x of r.rows) {
          const row = clean[x.row_no]!;
          const v = validateFineRow(
            csvRecordToRow(
              COLS,
              COLS.map((c) => row[c] ?? ''),
            ).row,
          );
          if (x.ok !== true) continue;
          passed++;
          expect(v, JSON.stringify(row)).toHaveProperty('fine');
          if ('fine' in v) expect(x.data).toEqual(v.fine);
        }
      }),
      { numRuns: 60 },
    );
    // The generators must reach the fast way too, or the property says nothing.
    expect(passed).toBeGreaterThan(0);
    const sample = sampleFine(no(1), '310000') as Record<string, string | number>;
    const row = Object.fromEntries(COLS.map((c) => [c, sample[c] === undefined ? null : String(sample[c])]));
    await raw.query('TRUNCATE probe');
    await raw.query(`INSERT INTO probe SELECT * FROM jsonb_populate_record(NULL::probe, $1::jsonb)`, [
      JSON.stringify({ row_no: 0, ...row }),
    ]);
    const ok = await raw.query<{ ok: boolean }>(`SELECT ${SURELY_VALID} AS ok FROM probe s`);
    expect(ok.rows[0]?.ok).toBe(true);
  });

  it('a clean file with unusual rows goes in the fast way and stores what the streamed import stores', async () => {
    const fines = Array.from(
      { length: 300 },
      (_, i) => sampleFine(no(i), '310000') as Record<string, unknown>,
    );
    // Valid, but not for SQL: a date-time without seconds, a quoted comma and line break, an astral character.
    fines[7] = { ...fines[7], occurredAt: '2026-05-01T08:30+08:00' };
    fines[8] = { ...fines[8], place: '延安高架路, 近"成都北路"\n出口' };
    fines[9] = { ...fines[9], description: '违反禁令标志指示😀', descriptionEn: 'no entry' };
    const file = path.join(tempDir(), 'fines.csv');
    writeFileSync(file, `\uFEFF${HEADER}\r\n${fines.map(csvLine).join('\r\n')}\r\n`);
    const fast = await importCsvByCopy(db, file, { nowS: () => 1000 });
    expect(fast).toEqual({ ok: true, value: { received: 300, changed: 300 } });
    const stored = await raw.query<{ data: unknown }>('SELECT data FROM fines ORDER BY decision_no');
    // The streamed way, into another schema, must store the same fines.
    const other = `t_${randomBytes(6).toString('hex')}`;
    const db2 = await openHubDb({ databaseUrl: url!, schema: other, listen: false });
    try {
      expect(await importFines(db2, readFinesFile(file), { nowS: () => 1000 })).toEqual(fast);
      const streamed = await db2.query<{ data: unknown }>('SELECT data FROM fines ORDER BY decision_no');
      expect(stored.rows).toEqual(streamed.rows);
    } finally {
      await db2.close();
      await raw.query(`DROP SCHEMA ${other} CASCADE`);
    }
    // The same file again changes nothing.
    expect(await importCsvByCopy(db, file, { nowS: () => 2000 })).toEqual({
      ok: true,
      value: { received: 300, changed: 0 },
    });
  });

  it('a bad last row is handed to the streamed import: nothing imported, the row and line named', async () => {
    const hub = createHubService({ db });
    const before = await hub.fines.count();
    const lines = Array.from({ length: 500 }, (_, i) => csvLine(sampleFine(no(10_000 + i), '310000')));
    lines.push(csvLine(sampleFine(no(20_000), '310000', { decidedOn: '2026-02-30' })));
    const file = path.join(tempDir(), 'fines.csv');
    writeFileSync(file, `${HEADER}\n${lines.join('\n')}\n`);
    expect(await importCsvByCopy(db, file, { nowS: () => 1 })).toHaveProperty('handback');
    const r = await hub.fines.importFile(file);
    expect(r).toMatchObject({
      ok: false,
      error: { code: 'BAD_FILE', details: { errorCount: 1, errors: [{ row: 501, line: 502 }] } },
    });
    expect(await hub.fines.count()).toBe(before);
    // Too many fields in one row: PostgreSQL refuses the COPY, the streamed import names the row.
    lines[lines.length - 1] = csvLine(sampleFine(no(20_000), '310000')) + ',extra';
    writeFileSync(file, `${HEADER}\n${lines.join('\n')}\n`);
    expect(await hub.fines.importFile(file)).toMatchObject({
      ok: false,
      error: { code: 'BAD_FILE', details: { errors: [{ row: 501, line: 502 }] } },
    });
    expect(await hub.fines.count()).toBe(before);
  });
});
