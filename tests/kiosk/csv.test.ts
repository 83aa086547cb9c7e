import { describe, expect, it } from 'vitest';
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
