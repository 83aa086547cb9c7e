// Characters the printer's font lacks print as small inline bit images (ESC * 33) of the bundled font's
// glyph, in a line that otherwise stays text: the rest of the line goes as ASCII and GB18030 the font
// has, the widths the layout counted are the widths sent, and the virtual printer draws the glyph where
// it stands. A double-size line with such a character is still drawn whole.
import { describe, expect, it } from 'vitest';
import { encodeBill } from '../../printer/documents/index.ts';
import { glyphImage, Encoder } from '../../printer/encoder.ts';
import { glyphBitmap } from '../../printer/font.ts';
import { fontHas } from '../../printer/fontmodel.ts';
import { jobDotRows } from '../../printer/jobsize.ts';
import { commandAt } from '../../printer/mechanism.ts';
import { profiles } from '../../printer/profiles.ts';
import { interpretBytes } from '../../printer/virtual/interpreter.ts';
import { signedBill } from './fixtures.ts';

/** Every command of a stream, split as the printer splits it. */
function commands(b: Uint8Array) {
  const out = [];
  const st = { height: 1, qrModule: 6, qrSide: 0 };
  for (let i = 0; i < b.length;) {
    const c = commandAt(b, i, b.length, st)!;
    out.push({ ...c, bytes: b.subarray(c.start, c.end) });
    i = c.end;
  }
  return out;
}

describe('inline glyphs for characters the font lacks', () => {
  const gbk = profiles['cn80'];
  expect(gbk.fontEncoding).not.toBe('gb18030');

  it('a place with an Extension-A character: one ESC * 33 glyph, the rest of the line as text', () => {
    expect(fontHas('㮾', gbk.fontEncoding)).toBe(false);
    const bytes = new Encoder(gbk).init().line('地点 长沙县㮾梨街道').bytes();
    const cmds = commands(bytes);
    const images = cmds.filter((c) => c.bytes[0] === 0x1b && c.bytes[1] === 0x2a);
    expect(images).toHaveLength(1);
    expect(Buffer.from(images[0]!.bytes).equals(Buffer.from(glyphImage('㮾')))).toBe(true);
    // 24 columns of 3 bytes: the two columns the layout counts for it.
    expect([...images[0]!.bytes.subarray(0, 5)]).toEqual([0x1b, 0x2a, 33, 24, 0]);
    expect(cmds.some((c) => c.bytes[0] === 0x1d && c.bytes[1] === 0x76)).toBe(false); // no GS v 0 line
    const page = interpretBytes(bytes, gbk.dots)[0]!;
    expect(page.kanjiSegments).toEqual(['地点 长沙县', '梨街道']);
    expect(page.lines).toEqual(['地点 长沙县\uFFFC梨街道']);
    // The glyph is drawn where it stands: after 11 columns (x 132..155), as the bundled font has it.
    const g = glyphBitmap('㮾', true);
    const bm = page.bitmap;
    let same = 0;
    let ink = 0;
    for (let y = 0; y < 24; y++)
      for (let x = 0; x < 24; x++) {
        const want = g.get(x, y);
        ink += want;
        if (want && bm.get(132 + x, y)) same++;
      }
    expect(ink).toBeGreaterThan(20);
    expect(same).toBe(ink);
  });

  it('a whole bill on GBK and GB2312 printers: no code the font lacks, every line fits, glyphs counted as sent', () => {
    const { doc } = signedBill({ place: '长沙县㮾梨街道1号 ñ½', violation: '违反禁令标志 ¥•' });
    for (const p of [profiles['cn80'], profiles['pos58']]) {
      const bytes = encodeBill(doc, p);
      const page = interpretBytes(bytes, p.dots)[0]!;
      for (const seg of page.kanjiSegments)
        for (const ch of seg) expect(fontHas(ch, p.fontEncoding)).toBe(true);
      for (const l of page.lines) expect([...l].length).toBeGreaterThan(0);
      for (const l of page.lines) {
        let dots = 0;
        for (const ch of l) dots += ch.codePointAt(0)! >= 0x80 ? 24 : 12;
        expect(dots, `${p.id}: ${l}`).toBeLessThanOrEqual(p.dots);
      }
      expect(page.lines.some((l) => l.includes('\uFFFC'))).toBe(true);
      expect(page.unknown).toEqual([]);
      // The job's height (the driver's time-outs) is not thrown off by image data.
      expect(jobDotRows(bytes)).toBeLessThan(5000);
    }
  });

  it('a double-size line with a lacking character is drawn whole (GS v 0), never as ESC *', () => {
    const e = new Encoder(gbk).init().size(2, 2);
    const bytes = e.line('㮾梨').bytes();
    const cmds = commands(bytes);
    expect(cmds.some((c) => c.bytes[0] === 0x1d && c.bytes[1] === 0x76)).toBe(true);
    expect(cmds.some((c) => c.bytes[0] === 0x1b && c.bytes[1] === 0x2a)).toBe(false);
  });
});
