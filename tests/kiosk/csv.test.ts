import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseCsv } from '../../main/fines/csv.ts';

describe('parseCsv', () => {
  it('reads quoted fields, "" escapes, CRLF, embedded newlines and a BOM', () => {
    const r = parseCsv('\uFEFFa,b,c\r\n"x, y","he said ""hi""","two\nlines"\r\n\r\n1,,3');
    expect(r).toEqual({
      ok: true,
      rows: [
        { line: 1, fields: ['a', 'b', 'c'] },
        { line: 2, fields: ['x, y', 'he said "hi"', 'two\nlines'] },
        { line: 5, fields: ['1', '', '3'] },
      ],
    });
  });

  it('refuses an unclosed quote and stray quotes with the line', () => {
    expect(parseCsv('a,b\n"open,1\n')).toMatchObject({ ok: false, line: 2 });
    expect(parseCsv('a,b\nx"y,1\n')).toMatchObject({ ok: false, line: 2 });
    expect(parseCsv('a,b\n"x"y,1\n')).toMatchObject({ ok: false, line: 2 });
  });
});

describe('parseCsv round trip', () => {
  it('reads back any fields written the RFC 4180 way, with LF or CRLF', () => {
    const field = fc.string({
      unit: fc.constantFrom('a', 'b', ',', '"', '\n', '\r', ' ', '中', '1'),
      maxLength: 8,
    });
    fc.assert(
      fc.property(
        fc.array(fc.array(field, { minLength: 2, maxLength: 5 }), { minLength: 1, maxLength: 6 }),
        fc.constantFrom('\n', '\r\n'),
        (rows, eol) => {
          const text = rows
            .map((r) =>
              r.map((v) => (/[",\r\n]/.test(v) || v === '' ? `"${v.replace(/"/g, '""')}"` : v)).join(','),
            )
            .join(eol);
          const parsed = parseCsv(text + eol);
          expect(parsed.ok).toBe(true);
          if (parsed.ok) expect(parsed.rows.map((r) => r.fields)).toEqual(rows);
        },
      ),
      { numRuns: 300 },
    );
  });
});
