// Random and mutated input thrown at the kiosk's boundaries: confirmations, fine files, lookups.
// Each must be refused with a named code (or accepted only when valid), never throw, and change nothing.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { fine, fixture, type Fixture } from './helpers.ts';

let f: Fixture;
afterEach(() => f.cleanup());

function state(): unknown {
  const db = f.kiosk.db;
  return [
    db.prepare('SELECT count(*) AS n FROM outbox').get(),
    db.prepare('SELECT count(*) AS n FROM payments').get(),
    db.prepare("SELECT count(*) AS n FROM bills WHERE status = 'paid'").get(),
    db.prepare('SELECT count(*) AS n FROM fines').get(),
  ];
}

describe('kiosk boundaries under random input', () => {
  it('mutated confirmation tokens are refused with a reason and change nothing', () => {
    f = fixture();
    const r = f.kiosk.bills.issue('3101012026005943');
    if (!r.ok) throw new Error('issue');
    const good = f.hub.confirm({ billNo: r.value.billNo, amountFen: r.value.amountFen, txnId: 'GOOD1' });
    const before = state();
    fc.assert(
      fc.property(
        fc.nat({ max: good.length - 1 }),
        fc.string({ minLength: 1, maxLength: 2 }),
        fc.boolean(),
        (at, ch, insert) => {
          const m = good.slice(0, at) + ch + good.slice(insert ? at : at + ch.length);
          // Whitespace around a scanned token is trimmed (scanners add it): that one is still the good token.
          fc.pre(m.trim() !== good);
          const res = f.kiosk.payments.confirm(m);
          expect(res.ok).toBe(false);
          if (!res.ok)
            expect(['MALFORMED', 'BAD_SIGNATURE', 'UNKNOWN_KEY', 'BILL_NOT_FOUND']).toContain(res.error.code);
        },
      ),
      { numRuns: 400 },
    );
    expect(state()).toEqual(before);
    expect(f.kiosk.payments.confirm(good).ok).toBe(true);
  });

  it('random JSON rows and CSV text import all or nothing, never throwing', () => {
    f = fixture({ sample: false });
    const base = fine();
    const keys = Object.keys(base);
    const rowArb = fc.record({
      key: fc.constantFrom(...keys, 'extra'),
      value: fc.oneof(
        fc.string({ maxLength: 20 }),
        fc.integer(),
        fc.double(),
        fc.constant(null),
        fc.boolean(),
      ),
      n: fc.integer({ min: 100000, max: 999999 }),
    });
    fc.assert(
      fc.property(fc.array(rowArb, { minLength: 1, maxLength: 5 }), (muts) => {
        const before = state();
        const rows = muts.map((m) => ({ ...base, decisionNo: `3101012026${m.n}`, [m.key]: m.value }));
        const r = f.kiosk.fines.importRows(rows, 'fuzz');
        if (!r.ok) {
          expect(['BAD_FILE']).toContain(r.error.code);
          expect(state()).toEqual(before);
        }
      }),
      { numRuns: 150 },
    );
    const file = path.join(f.dir, 'fuzz.csv');
    fc.assert(
      fc.property(
        fc.string({
          unit: fc.constantFrom('a', ',', '"', '\n', '\r', '1', 'decisionNo', '中'),
          maxLength: 80,
        }),
        (text) => {
          const before = state();
          writeFileSync(file, text);
          const r = f.kiosk.fines.importFile(file);
          expect(r.ok).toBe(false);
          expect(state()).toEqual(before);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('random lookups are refused or answered, never thrown', () => {
    f = fixture();
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.string({ maxLength: 10 }), (a, b) => {
        for (const r of [
          f.kiosk.fines.findByDecisionNo(a),
          f.kiosk.fines.findByPlate(a, b),
          f.kiosk.bills.get(a),
        ]) {
          if (!r.ok) expect(['MALFORMED', 'FINE_NOT_FOUND', 'BILL_NOT_FOUND']).toContain(r.error.code);
        }
      }),
      { numRuns: 300 },
    );
  });
});
