// The encoder and layout: GB18030 spans, full-width ￥, columns, raster fallbacks, profiles.
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { encodeBill, encodeTestPage, billBlocks } from '../../printer/documents/index.ts';
import { Encoder } from '../../printer/encoder.ts';
import { renderDocument, pair, text } from '../../printer/layout.ts';
import { profiles, withOverrides } from '../../printer/profiles.ts';
import { interpretBytes } from '../../printer/virtual/interpreter.ts';
import { textColumns } from '../../printer/width.ts';
import { signedBill } from './fixtures.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const p80 = profiles['generic-80'];
const p58 = profiles['generic-58'];
const epson = profiles['epson-80'];

function indexOf(hay: Uint8Array, needle: number[]): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

describe('encoder', () => {
  it('sends Chinese as GB18030 inside one FS & ... FS . span per line; ASCII stays plain', () => {
    const b = new Encoder(p80).line('罚款 Fine ￥200.00').bytes();
    const gb = iconv.encode('罚款 Fine ￥', 'gb18030');
    expect(hex(b)).toBe('1c26' + gb.toString('hex') + '1c2e' + Buffer.from('200.00\n').toString('hex'));
  });

  it('prints the full-width ￥ (GB18030 A3 A4), never the 4-byte half-width ¥', () => {
    const b = new Encoder(p80).line('￥1').bytes();
    expect(hex(b)).toBe('1c26a3a41c2e310a');
    expect(iconv.encode('¥', 'gb18030').length).toBe(4);
  });

  it('a pure ASCII line needs no Kanji mode', () => {
    expect(hex(new Encoder(p80).line('Bill 1').bytes())).toBe(Buffer.from('Bill 1\n').toString('hex'));
  });

  it('without a Chinese font, a Chinese line becomes a GS v 0 raster and no GB18030 is sent', () => {
    const b = new Encoder(epson).line('罚款 ￥200.00').bytes();
    expect(indexOf(b, [0x1c, 0x26])).toBe(-1);
    expect(hex(b.subarray(0, 3))).toBe('1d7630');
    // 13 columns × 12 dots = 156 dots → 20 bytes a row, 24 rows + 6 of leading.
    expect(b[4]! + b[5]! * 256).toBe(20);
    expect(b[6]! + b[7]! * 256).toBe(30);
    expect(b.length).toBe(8 + 20 * 30);
  });

  it('native QR: model 2, module size, level M, store, print — in that order', () => {
    const data = 'https://hub.example.cn/p/b1.X';
    const b = new Encoder(p80).qr(data).bytes();
    const store =
      '1d286b' +
      (data.length + 3).toString(16).padStart(2, '0') +
      '00315030' +
      Buffer.from(data).toString('hex');
    expect(hex(b)).toBe(
      '1d286b040031413200' + '1d286b0300314306' + '1d286b0300314531' + store + '1d286b0300315130',
    );
  });

  it('raster QR fallback when the profile has no native QR', () => {
    const b = new Encoder(withOverrides(p80, { nativeQr: false })).qr('HELLO').bytes();
    expect(hex(b.subarray(0, 3))).toBe('1d7630');
    expect(indexOf(b, [0x1d, 0x28, 0x6b])).toBe(-1);
  });

  it('refuses a non-ASCII QR payload', () => {
    expect(() => new Encoder(p80).qr('缴款')).toThrow(expect.objectContaining({ code: 'MALFORMED' }));
  });

  it('cuts only where there is a cutter', () => {
    const withCutter = renderDocument([text('x')], p80);
    expect(hex(withCutter.subarray(-4))).toBe('1d564200');
    const noCutter = renderDocument([text('x')], p58);
    expect(indexOf(noCutter, [0x1d, 0x56])).toBe(-1);
    expect(hex(noCutter.subarray(-3))).toBe('1b6404');
  });

  it('starts every document with ESC @', () => {
    const { doc } = signedBill();
    expect(hex(encodeBill(doc, p80).subarray(0, 2))).toBe('1b40');
  });

  it('no printed line is wider than the paper, on 58 mm and 80 mm', () => {
    const { doc } = signedBill();
    for (const p of [p58, p80]) {
      const pages = interpretBytes(encodeBill(doc, p), p.dots);
      expect(pages).toHaveLength(1);
      // Lines the layout made never needed the printer to wrap them: the text rows match the layout.
      for (const l of pages[0]!.lines) expect(textColumns(l)).toBeLessThanOrEqual(p.columns);
    }
  });

  it('pair puts the value at the right edge', () => {
    const b = renderDocument([pair('罚款 Fine', '￥200.00')], p58, { cut: false });
    const [page] = interpretBytes(b, p58.dots);
    expect(page!.lines[0]).toBe('罚款 Fine' + ' '.repeat(32 - 9 - 8) + '￥200.00');
    expect(textColumns(page!.lines[0]!)).toBe(32);
  });

  it('a line break inside a field (LF, CR, U+2028, U+0085) never starts a line of its own, such as a made-up amount', () => {
    for (const br of ['\n', '\r', '\u2028', '\u2029', '\u0085']) {
      const { doc } = signedBill({ place: `人民路${br}合计 Total ￥0.00` });
      const [page] = interpretBytes(encodeBill(doc, p80), p80.dots);
      const lines = page!.lines.map((l) => l.trim());
      expect(lines.some((l) => l.startsWith('合计 Total ￥0.00'))).toBe(false);
      // The place stays one paragraph: the break prints as a space, its two parts on one line.
      expect(lines).toContain('人民路 合计 Total ￥0.00');
    }
  });

  it('the bill carries every field, Chinese first with English labels', () => {
    const { doc } = signedBill({ lateFeeFen: 600, amountFen: 20600 });
    const [page] = interpretBytes(encodeBill(doc, p80), p80.dots);
    const all = page!.lines.join('\n');
    for (const s of [
      '交通违法罚款缴款单',
      'Traffic Fine Payment Bill',
      '决定书编号 Decision No.',
      doc.decisionNo,
      '京A***45',
      doc.violation,
      'Motor vehicle disobeying a prohibition sign',
      doc.place,
      '2026-05-01 08:30',
      '记分 Points',
      '￥200.00',
      '滞纳金 Late fee',
      '￥6.00',
      '￥206.00',
      '支付宝',
      '微信',
      'Alipay',
      'WeChat Pay',
      '有效期至 Valid until 2026-05-01 13:46',
      doc.billNo,
      'kiosk01',
    ]) {
      expect(all).toContain(s);
    }
    expect(page!.qrData).toEqual([doc.url]);
  });

  it('the native 80 mm bill stays within 1,500 bytes', () => {
    const { doc } = signedBill();
    expect(encodeBill(doc, p80).length).toBeLessThanOrEqual(1500);
    expect(billBlocks(doc).length).toBeGreaterThan(10);
  });

  it('test page renders on every profile', () => {
    for (const p of Object.values(profiles)) {
      const pages = interpretBytes(encodeTestPage({ profile: p }), p.dots);
      expect(pages).toHaveLength(1);
      expect(pages[0]!.unknown).toEqual([]);
    }
  });
});
