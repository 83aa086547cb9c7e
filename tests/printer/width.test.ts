// Column arithmetic: a CJK character is two columns; wrapping never exceeds the width.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  labelValue,
  padColumns,
  textColumns,
  truncateColumns,
  wrapColumns,
  columns,
} from '../../printer/width.ts';

describe('width', () => {
  it('counts CJK and full-width as two columns, ASCII as one', () => {
    expect(textColumns('abc')).toBe(3);
    expect(textColumns('罚款')).toBe(4);
    expect(textColumns('￥200.00')).toBe(8);
    expect(textColumns('京A***45')).toBe(8);
  });

  it('wraps Latin at spaces and CJK anywhere, keeping closing punctuation off the line start', () => {
    expect(wrapColumns('hello world again', 11)).toEqual(['hello world', 'again']);
    expect(wrapColumns('北京市朝阳区建国路', 8)).toEqual(['北京市朝', '阳区建国', '路']);
    expect(wrapColumns('一二三，四', 6)).toEqual(['一二', '三，四']);
  });

  it('never cuts a wide character in half when truncating or padding', () => {
    expect(truncateColumns('罚款单', 5)).toBe('罚款');
    expect(padColumns('罚款', 7, 'right')).toBe('   罚款');
    expect(padColumns('罚', 5, 'center')).toBe(' 罚  ');
  });

  it('labelValue fits on one line, or puts the value right-aligned below', () => {
    expect(labelValue('合计', '￥1.00', 16)).toEqual(['合计      ￥1.00']);
    expect(labelValue('决定书编号 Decision No.', '110105202605010001', 32)).toEqual([
      '决定书编号 Decision No.',
      '              110105202605010001',
    ]);
  });

  it('columns lays out a table row', () => {
    expect(columns(['项目', '1', '￥2.00'], [10, 4, 10], ['left', 'right', 'right'])).toBe(
      '项目         1    ￥2.00',
    );
  });

  it('property: wrapped lines never exceed the width and keep every non-space character', () => {
    const ch = fc.constantFrom(...'ab 罚款，。Z1 ￥-'.split(''));
    fc.assert(
      fc.property(
        fc.array(ch, { maxLength: 80 }).map((a) => a.join('')),
        fc.integer({ min: 2, max: 48 }),
        (s, cols) => {
          const lines = wrapColumns(s, cols);
          for (const l of lines) expect(textColumns(l)).toBeLessThanOrEqual(cols);
          expect(lines.join('').replace(/\s/g, '')).toBe(s.replace(/\s/g, ''));
        },
      ),
    );
  });
});
