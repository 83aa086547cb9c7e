// The fines file format, read once for kiosk and hub (protocol/fines-file.ts), with csv-parse as the CSV
// reader: quoting, BOM, line numbers in errors, the sample file's shape; and the same files accepted by both.
import { readFileSync } from 'node:fs';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { openKiosk, type Kiosk } from '../../main/kiosk.ts';
import { decodeFinesFile, finesFromCsv, validateFineRows } from '../../protocol/fines-file.ts';
import { FINE_FIELDS } from '../../protocol/fines.ts';
import { STORAGES, sampleFine, startTestHub, type TestHub } from '../hub/helpers.ts';
import { tempDir } from '../kiosk/helpers.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const HEADER = FINE_FIELDS.filter((f) => f !== 'descriptionEn').join(',');
function csvLine(f: Record<string, unknown>): string {
  return FINE_FIELDS.filter((k) => k !== 'descriptionEn')
    .map((k) => {
      const v = String(f[k]);
      return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
    })
    .join(',');
}

describe('finesFromCsv', () => {
  it('reads quoted fields, "" escapes, CRLF, embedded newlines and a BOM, with each row’s first line', () => {
    const a = sampleFine('110000000000000001', '110000', { place: 'x, "y"\nz' });
    const b = sampleFine('110000000000000002');
    const r = finesFromCsv(`\uFEFF${HEADER}\r\n${csvLine(a)}\r\n\r\n${csvLine(b)}\r\n`);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.lines).toEqual([2, 5]);
    expect(r.value.rows[0]).toMatchObject({ place: 'x, "y"\nz', fineFen: 20000, points: 3 });
    expect(validateFineRows(r.value).ok).toBe(true);
  });

  it('refuses broken quoting with its line, and a header with unknown or missing columns', () => {
    expect(finesFromCsv(`${HEADER}\n"open,1\n`)).toMatchObject({ ok: false, error: { code: 'BAD_FILE' } });
    const stray = finesFromCsv(`${HEADER}\n"x"y,1\n`);
    expect(stray).toMatchObject({ ok: false, error: { code: 'BAD_FILE', details: { line: 2 } } });
    expect(finesFromCsv('decisionNo,colour\n1,red\n')).toMatchObject({
      ok: false,
      error: { code: 'BAD_FILE' },
    });
    expect(finesFromCsv('decisionNo\n1\n')).toMatchObject({ ok: false, error: { code: 'BAD_FILE' } });
  });

  it('a short row and a fine that is not a whole number are listed with row and line, nothing accepted', () => {
    const good = csvLine(sampleFine('110000000000000001'));
    const r = finesFromCsv(
      `${HEADER}\n${good}\n110000000000000002,110000\n${good.replace('20000', '200.5')}\n`,
    );
    if (!r.ok) throw new Error('parsed');
    const v = validateFineRows(r.value);
    expect(v).toMatchObject({ ok: false, error: { code: 'BAD_FILE', details: { errorCount: 2 } } });
    if (v.ok) return;
    expect((v.error.details as { errors: unknown[] }).errors).toMatchObject([
      { row: 2, line: 3 },
      { row: 3, line: 4 },
    ]);
  });

  it('reads back any fields written the RFC 4180 way, with LF or CRLF', () => {
    const field = fc.string({ unit: fc.constantFrom('a', ',', '"', '\n', ' ', '中', '1'), maxLength: 8 });
    fc.assert(
      fc.property(
        fc.array(field, { minLength: 1, maxLength: 5 }),
        fc.constantFrom('\n', '\r\n'),
        (places, eol) => {
          const fines = places.map((p, i) =>
            sampleFine(`1100000000000000${String(i).padStart(2, '0')}`, '110000', { place: p }),
          );
          const r = finesFromCsv([HEADER, ...fines.map(csvLine)].join(eol) + eol);
          expect(r.ok).toBe(true);
          if (r.ok) expect(r.value.rows.map((x) => (x as { place: string }).place)).toEqual(places);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('decodeFinesFile', () => {
  it('reads the sample file’s { fines: [...] } shape and a JSON array with a BOM', () => {
    const sample = decodeFinesFile(
      readFileSync(path.resolve('samples/fines.sample.json')),
      'fines.sample.json',
    );
    expect(sample.ok && sample.value.rows.length).toBeGreaterThan(0);
    const bom = decodeFinesFile(enc(`\uFEFF${JSON.stringify([sampleFine('110000000000000001')])}`), 'f.json');
    expect(bom.ok && bom.value.rows).toHaveLength(1);
  });

  it('refuses text that is not UTF-8 and JSON that is no list of fines', () => {
    expect(decodeFinesFile(Uint8Array.of(0xff, 0xfe, 0x00), 'f.json')).toMatchObject({ ok: false });
    expect(decodeFinesFile(enc('{"a":1}'), 'f.json')).toMatchObject({
      ok: false,
      error: { code: 'BAD_FILE' },
    });
  });

  it('refuses a decision number twice in one file', () => {
    const r = validateFineRows({
      rows: [sampleFine('110000000000000001'), sampleFine('110000000000000001')],
    });
    expect(r).toMatchObject({ ok: false, error: { code: 'BAD_FILE', details: { errorCount: 1 } } });
  });
});

describe.each(STORAGES)('kiosk and hub (%s) accept the same files', (storage) => {
  let t: TestHub | undefined;
  let k: Kiosk | undefined;
  afterEach(async () => {
    k?.close();
    await t?.close();
  });

  it('the sample file, a BOM JSON file and a CSV file import on both', async () => {
    t = await startTestHub(storage);
    const dir = tempDir();
    k = openKiosk({ dataDir: path.join(dir, 'kiosk') });
    const bomJson = path.join(dir, 'bom.json');
    writeFileSync(bomJson, `\uFEFF${JSON.stringify([sampleFine('110000000000000101')])}`);
    const csv = path.join(dir, 'fines.csv');
    writeFileSync(csv, `${HEADER}\n${csvLine(sampleFine('110000000000000102'))}\n`);
    for (const file of [path.resolve('samples/fines.sample.json'), bomJson, csv]) {
      expect(k.fines.importFile(file).ok, file).toBe(true);
      expect((await t.hub.fines.importFile(file)).ok, file).toBe(true);
    }
    expect(await t.hub.fines.count()).toBe(k.fines.count());
  });
});
