// The hub's streaming fines import (hub/import): files of every accepted shape read as streams, staged (COPY on
// PostgreSQL, batched inserts on PGlite), checked, applied in one transaction. A bad row anywhere — the last
// one too — imports nothing, and the refusal names the row, its line and the reason.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FINE_FIELDS } from '../../protocol/fines.ts';
import { importFines } from '../../hub/import/fines-import.ts';
import { readFinesFile } from '../../hub/import/read.ts';
import { STORAGES, sampleFine, startTestHub, type TestHub } from './helpers.ts';
import { tempDir } from '../kiosk/helpers.ts';

const HEADER = FINE_FIELDS.filter((f) => f !== 'descriptionEn').join(',');
const csvLine = (f: Record<string, unknown>): string =>
  FINE_FIELDS.filter((k) => k !== 'descriptionEn')
    .map((k) => {
      const v = String(f[k] ?? '');
      return /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
    })
    .join(',');
const no = (i: number): string => `1100000${String(i).padStart(11, '0')}`;

describe.each(STORAGES)('hub fines import (%s)', (storage) => {
  let t: TestHub | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('a CSV file whose last row is bad imports nothing and names the row and line', async () => {
    t = await startTestHub(storage);
    const dir = tempDir();
    const file = path.join(dir, 'fines.csv');
    const rows = Array.from({ length: 2500 }, (_, i) => csvLine(sampleFine(no(i))));
    // A blank line in the middle moves the line numbers: the refusal must still name the right line.
    rows.splice(1000, 0, '');
    rows.push(csvLine(sampleFine(no(9999), '110000', { fineFen: -5 })));
    writeFileSync(file, `${HEADER}\n${rows.join('\n')}\n`);
    const r = await t.hub.fines.importFile(file);
    expect(r).toMatchObject({
      ok: false,
      error: { code: 'BAD_FILE', details: { errorCount: 1, errors: [{ row: 2501, line: 2503 }] } },
    });
    expect(await t.hub.fines.count()).toBe(0);
    // The same file without the bad row goes in whole.
    writeFileSync(file, `${HEADER}\n${rows.slice(0, -1).join('\n')}\n`);
    expect(await t.hub.fines.importFile(file)).toEqual({
      ok: true,
      value: { received: 2500, changed: 2500 },
    });
    expect(await t.hub.fines.count()).toBe(2500);
    // Again: nothing changes.
    expect(await t.hub.fines.importFile(file)).toEqual({ ok: true, value: { received: 2500, changed: 0 } });
  });

  it('a decision number twice is found in the staging table, with both rows named', async () => {
    t = await startTestHub(storage);
    const file = path.join(tempDir(), 'fines.json');
    const fines = Array.from({ length: 30 }, (_, i) => sampleFine(no(i)));
    fines.push(sampleFine(no(3)), { ...sampleFine(no(40)), extra: 1 });
    writeFileSync(file, JSON.stringify(fines));
    const r = await t.hub.fines.importFile(file);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const d = r.error.details as { errorCount: number; errors: { row: number; reason: string }[] };
    expect(d.errorCount).toBe(2);
    expect(d.errors[0]).toEqual({ row: 31, reason: `decisionNo ${no(3)} repeats row 4` });
    expect(d.errors[1]!.row).toBe(32);
    expect(await t.hub.fines.count()).toBe(0);
  });

  it('reads a JSON array, an object with "fines", NDJSON and a BOM the same way', async () => {
    t = await startTestHub(storage);
    const dir = tempDir();
    const a = path.join(dir, 'a.json');
    writeFileSync(a, `\uFEFF${JSON.stringify([sampleFine(no(1)), sampleFine(no(2))])}`);
    const b = path.join(dir, 'b');
    writeFileSync(b, JSON.stringify({ note: 'x', fines: [sampleFine(no(3))], after: [1] }));
    const c = path.join(dir, 'c.ndjson');
    writeFileSync(c, `${JSON.stringify(sampleFine(no(4)))}\n\n${JSON.stringify(sampleFine(no(5)))}\n`);
    for (const f of [a, b, c]) expect((await t.hub.fines.importFile(f)).ok, f).toBe(true);
    expect(await t.hub.fines.count()).toBe(5);
    expect(await t.hub.fines.byDecisionNo(no(3))).toMatchObject({ decisionNo: no(3) });
  });

  it('refuses a file that is not UTF-8, not JSON, or no list of fines, changing nothing', async () => {
    t = await startTestHub(storage);
    const dir = tempDir();
    const cases: [string, string | Buffer][] = [
      ['latin1.csv', Buffer.concat([Buffer.from(`${HEADER}\n`), Buffer.from([0xff, 0xfe, 0x41, 0x0a])])],
      ['broken.json', `[${JSON.stringify(sampleFine(no(1)))}, {"decisionNo": `],
      ['object.json', '{"rows": []}'],
      ['empty.csv', ''],
      ['header.csv', 'decisionNo,nonsense\n1,2\n'],
      ['none.json', '[]'],
    ];
    for (const [name, body] of cases) {
      const f = path.join(dir, name);
      writeFileSync(f, body);
      expect(await t.hub.fines.importFile(f), name).toMatchObject({ ok: false, error: { code: 'BAD_FILE' } });
    }
    expect(await t.hub.fines.count()).toBe(0);
  });

  it('a paid fine stays paid whatever the file says', async () => {
    t = await startTestHub(storage);
    await t.hub.fines.importRows([sampleFine(no(1), '110000', { status: 'paid' })]);
    const r = await importFines(
      t.db,
      (async function* () {
        yield { row: 1, value: sampleFine(no(1), '110000', { fineFen: 30000 }) };
      })(),
      { nowS: () => 1 },
    );
    expect(r).toEqual({ ok: true, value: { received: 1, changed: 1 } });
    expect(await t.hub.fines.byDecisionNo(no(1))).toMatchObject({ status: 'paid', fineFen: 30000 });
  });
});

describe('file reader', () => {
  it('gives CSV rows their own problems and lines without stopping', async () => {
    const f = path.join(tempDir(), 'x.csv');
    writeFileSync(f, `${HEADER}\n${csvLine(sampleFine(no(1)))},extra\n${csvLine(sampleFine(no(2)))}\n`);
    const rows = [];
    for await (const r of readFinesFile(f)) rows.push(r);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ row: 1, line: 2, problem: expect.stringContaining('fields') });
    expect(rows[1]).toMatchObject({ row: 2, line: 3 });
    expect(rows[1]!.problem).toBeUndefined();
  });
});
