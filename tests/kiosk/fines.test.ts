import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SETTING } from '../../main/settings/settings.ts';
import { FINE_FIELDS } from '../../protocol/fines.ts';
import { fine, fixture, outboxTypes, type Fixture } from './helpers.ts';

let f: Fixture;
afterEach(() => f.cleanup());

function csvLine(values: unknown[]): string {
  return values
    .map((v) => {
      const s = v === undefined ? '' : String(v);
      return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
    })
    .join(',');
}

function csvOf(fines: Record<string, unknown>[], eol = '\r\n'): string {
  return (
    [csvLine([...FINE_FIELDS]), ...fines.map((x) => csvLine(FINE_FIELDS.map((k) => x[k])))].join(eol) + eol
  );
}

describe('fines import', () => {
  it('imports the sample file: 20 fines, 16-digit numbers, one paid, one cancelled, an event', () => {
    f = fixture();
    expect(f.kiosk.fines.count()).toBe(20);
    const all = f.kiosk.db.prepare('SELECT decision_no, status FROM fines').all() as {
      decision_no: string;
      status: string;
    }[];
    expect(all.every((r) => /^[0-9]{16}$/.test(r.decision_no))).toBe(true);
    expect(all.filter((r) => r.status === 'paid')).toHaveLength(1);
    expect(all.filter((r) => r.status === 'cancelled')).toHaveLength(1);
    expect(outboxTypes(f.kiosk)).toEqual(['fines.imported']);
    const e = JSON.parse(f.kiosk.outbox.list(0, 1)[0]!.payload);
    expect(e).toMatchObject({ count: 20, source: 'fines.sample.json' });
  });

  it('imports CSV with a header, quoted fields, CRLF, BOM and an optional descriptionEn', () => {
    f = fixture({ sample: false });
    const a = fine({ decisionNo: '3101012026000001', place: '上海市, "外滩"' });
    const b = fine({ decisionNo: '3101012026000002', descriptionEn: undefined });
    const file = path.join(f.dir, 'fines.csv');
    writeFileSync(file, '\uFEFF' + csvOf([a, b]));
    expect(f.kiosk.fines.importFile(file)).toEqual({ ok: true, value: { imported: 2, updated: 0 } });
    const got = f.kiosk.fines.findByDecisionNo('3101012026000001');
    expect(got.ok && got.value.place).toBe('上海市, "外滩"');
    const gb = f.kiosk.fines.findByDecisionNo('3101012026000002');
    expect(gb.ok && gb.value.descriptionEn).toBeUndefined();
    expect(gb.ok && gb.value.fineFen).toBe(20000);
  });

  it('reports every bad row with its number and reason, and imports nothing of the file', () => {
    f = fixture({ sample: false });
    const file = path.join(f.dir, 'bad.json');
    writeFileSync(
      file,
      JSON.stringify([
        fine({ decisionNo: '3101012026000001' }),
        { ...fine({ decisionNo: '3101012026000002' }), fineFen: 200.5 },
        fine({ decisionNo: '3101012026000003', decidedOn: '2026-02-30' }),
        fine({ decisionNo: '3101012026000001' }),
        { ...fine({ decisionNo: '3101012026000005' }), extra: 1 },
      ]),
    );
    const r = f.kiosk.fines.importFile(file);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('BAD_FILE');
    const errors = r.error.details!.errors as { row: number; reason: string }[];
    expect(errors.map((e) => e.row)).toEqual([2, 3, 4, 5]);
    expect(errors[0]!.reason).toMatch(/fineFen/);
    expect(errors[1]!.reason).toMatch(/decidedOn/);
    expect(errors[2]!.reason).toMatch(/repeats row 1/);
    expect(errors[3]!.reason).toMatch(/extra/);
    expect(r.error.message).toMatch(/row 2/);
    expect(f.kiosk.fines.count()).toBe(0);
    expect(outboxTypes(f.kiosk)).toEqual([]);
  });

  it('reports CSV rows with their line numbers, bad numbers and wrong field counts', () => {
    f = fixture({ sample: false });
    const file = path.join(f.dir, 'bad.csv');
    const good = csvOf([fine({ decisionNo: '3101012026000001' })], '\n');
    writeFileSync(
      file,
      good +
        csvLine(
          FINE_FIELDS.map((k) => (k === 'fineFen' ? '2百' : fine({ decisionNo: '3101012026000002' })[k])),
        ) +
        '\nshort,row\n',
    );
    const r = f.kiosk.fines.importFile(file);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.details!.errors).toEqual([
      { row: 2, line: 3, reason: expect.stringMatching(/fineFen/) },
      { row: 3, line: 4, reason: expect.stringMatching(/has 2 fields/) },
    ]);
    expect(f.kiosk.fines.count()).toBe(0);
  });

  it('refuses unknown or missing CSV columns, non-UTF-8, bad JSON, missing files and empty lists', () => {
    f = fixture({ sample: false });
    const write = (name: string, data: string | Buffer): string => {
      const p = path.join(f.dir, name);
      writeFileSync(p, data);
      return p;
    };
    const cases = [
      write('a.csv', 'decisionNo,colour\n1,red\n'),
      write('b.csv', 'decisionNo,region\n3101012026000001,310101\n'),
      write('c.json', Buffer.from([0x5b, 0xff, 0xfe, 0x5d])),
      write('d.json', '[{"decisionNo": '),
      write('e.json', '[]'),
      write('f.json', '{"fines": 3}'),
      path.join(f.dir, 'missing.json'),
    ];
    for (const c of cases) {
      const r = f.kiosk.fines.importFile(c);
      expect(r.ok, c).toBe(false);
      expect(!r.ok && r.error.code, c).toBe('BAD_FILE');
    }
    expect(f.kiosk.fines.count()).toBe(0);
  });

  it('re-import updates a fine, but never turns a fine paid here back to unpaid', () => {
    f = fixture({ sample: false });
    const a = fine({ decisionNo: '3101012026000001' });
    expect(f.kiosk.fines.importRows([a], 'x')).toEqual({ ok: true, value: { imported: 1, updated: 0 } });
    expect(f.kiosk.fines.importRows([{ ...a, fineFen: 10000 }], 'x')).toEqual({
      ok: true,
      value: { imported: 0, updated: 1 },
    });
    const r = f.kiosk.fines.findByDecisionNo(a.decisionNo);
    expect(r.ok && r.value.fineFen).toBe(10000);
    f.kiosk.db.prepare("UPDATE fines SET status = 'paid' WHERE decision_no = ?").run(a.decisionNo);
    f.kiosk.fines.importRows([a], 'x');
    const r2 = f.kiosk.fines.findByDecisionNo(a.decisionNo);
    expect(r2.ok && r2.value.status).toBe('paid');
  });

  it('a fine cancelled by a later import loses its live bill', () => {
    f = fixture({ sample: false });
    const a = fine({ decisionNo: '3101012026000001' });
    f.kiosk.fines.importRows([a], 'x');
    const bill = f.kiosk.bills.issue(a.decisionNo);
    expect(bill.ok).toBe(true);
    // Reported paid (the payment comes in the same pull): the bill stays live for the payment to close it.
    f.kiosk.fines.upsertMany([{ ...a, status: 'paid' }]);
    expect(f.kiosk.bills.get(bill.ok ? bill.value.billNo : '')).toMatchObject({
      ok: true,
      value: { status: 'live' },
    });
    f.kiosk.db.prepare("UPDATE fines SET status = 'unpaid' WHERE decision_no = ?").run(a.decisionNo);
    f.kiosk.fines.importRows([{ ...a, status: 'cancelled' }], 'x');
    const b = f.kiosk.bills.get(bill.ok ? bill.value.billNo : '');
    expect(b.ok && b.value.status).toBe('voided');
    expect(f.kiosk.outbox.verify().ok).toBe(true);
  });
});

describe('fines lookup', () => {
  it('finds by decision number with the late fee of today (Shanghai day)', () => {
    f = fixture({ sample: false });
    // Decided 2026-10-20: due through 11-04; on 11-21 that is 17 days late: 3% × 17 = 51%.
    f.kiosk.fines.importRows(
      [fine({ decisionNo: '3101012026000001', decidedOn: '2026-10-20', fineFen: 15000 })],
      'x',
    );
    const r = f.kiosk.fines.findByDecisionNo(' 3101012026000001 ');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.lateFeeFenToday).toBe(7650);
    expect(r.value.totalFenToday).toBe(22650);
    // 2026-11-21T16:00Z is already 11-22 in Shanghai: one more day.
    f.clock.set(Date.parse('2026-11-21T16:00:00Z'));
    const r2 = f.kiosk.fines.findByDecisionNo('3101012026000001');
    expect(r2.ok && r2.value.lateFeeFenToday).toBe(8100);
  });

  it('refuses a malformed decision number (configurable pattern) and reports an unknown one', () => {
    f = fixture();
    for (const bad of ['', '123', '31010120260030x0', '3'.repeat(21), '1.2', '3101012026003040; DROP']) {
      const r = f.kiosk.fines.findByDecisionNo(bad);
      expect(!r.ok && r.error.code, bad).toBe('MALFORMED');
    }
    const nf = f.kiosk.fines.findByDecisionNo('999999999999999');
    expect(!nf.ok && nf.error.code).toBe('FINE_NOT_FOUND');
    f.kiosk.settings.set(SETTING.decisionPattern, '^[A-Z]{2}[0-9]{6}$');
    const r = f.kiosk.fines.findByDecisionNo('3101012026003040');
    expect(!r.ok && r.error.code).toBe('MALFORMED');
    expect(f.kiosk.fines.findByDecisionNo('SH123456')).toMatchObject({
      ok: false,
      error: { code: 'FINE_NOT_FOUND' },
    });
  });

  it('finds by plate plus the last 6 of the vehicle id, case and spacing aside', () => {
    f = fixture();
    const r = f.kiosk.fines.findByPlate('沪a 12345', 'a1b2c3');
    expect(r.ok).toBe(true);
    expect(r.ok && r.value.map((x) => x.decisionNo)).toEqual(['3101012026005943', '3101012026003040']);
    // Same vin6 with another plate is somebody else's car.
    expect(
      f.kiosk.fines.findByPlate('粤BD3K88', 'MN7742').ok && f.kiosk.fines.findByPlate('粤BD3K88', 'MN7742'),
    ).toMatchObject({
      value: [{ decisionNo: '4403052026003040' }],
    });
    expect(f.kiosk.fines.findByPlate('沪A12345', 'ZZZZZZ')).toMatchObject({
      ok: false,
      error: { code: 'FINE_NOT_FOUND' },
    });
    expect(f.kiosk.fines.findByPlate('沪A12345', 'A1B2')).toMatchObject({
      ok: false,
      error: { code: 'MALFORMED' },
    });
    expect(f.kiosk.fines.findByPlate('沪', 'A1B2C3')).toMatchObject({
      ok: false,
      error: { code: 'MALFORMED' },
    });
  });
});
