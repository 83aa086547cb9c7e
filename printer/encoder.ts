// The ESC/POS encoder: a small typed builder over commands.ts that knows the printer profile. Chinese
// text goes as GB18030 inside FS & ... FS . on printers with a Chinese font, and as raster images drawn
// with the bundled font on printers without one. QR codes are native (GS ( k) or raster (GS v 0).
import iconv from 'iconv-lite';
import QRCode from 'qrcode';
import { Bitmap } from './bitmap.ts';
import * as cmd from './commands.ts';
import { CELL_H, CELL_W, drawText } from './font.ts';
import type { PrinterProfile } from './profiles.ts';
import { textColumns } from './width.ts';

export type Align = 'left' | 'center' | 'right';

/** The QR matrix as a bitmap, `moduleDots` dots per module, no quiet zone (as a printer draws it). */
export function qrBitmap(data: string, moduleDots: number, level: 'L' | 'M' | 'Q' | 'H' = 'M'): Bitmap {
  const qr = QRCode.create(data, { errorCorrectionLevel: level });
  const n = qr.modules.size;
  const bm = new Bitmap(n * moduleDots, n * moduleDots);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      if (qr.modules.get(r, c)) bm.fillRect(c * moduleDots, r * moduleDots, moduleDots, moduleDots);
    }
  }
  return bm;
}

/** Text as it will be sent: GB18030 for anything outside ASCII. */
export function encodeGb18030(text: string): Uint8Array {
  return new Uint8Array(iconv.encode(text, 'gb18030'));
}

export class Encoder {
  private parts: Uint8Array[] = [];
  private length = 0;
  private state = { align: 'left' as Align, bold: false, w: 1, h: 1 };

  constructor(readonly profile: PrinterProfile) {}

  private push(b: Uint8Array): this {
    this.parts.push(b);
    this.length += b.length;
    return this;
  }

  /** ESC @; also resets the tracked style. */
  init(): this {
    this.state = { align: 'left', bold: false, w: 1, h: 1 };
    return this.push(cmd.init());
  }

  align(a: Align): this {
    if (a === this.state.align) return this;
    this.state.align = a;
    return this.push(cmd.align(a));
  }

  bold(on: boolean): this {
    if (on === this.state.bold) return this;
    this.state.bold = on;
    return this.push(cmd.bold(on));
  }

  size(w: number, h = w): this {
    if (w === this.state.w && h === this.state.h) return this;
    this.state.w = w;
    this.state.h = h;
    return this.push(cmd.size(w, h));
  }

  /** One line of text followed by LF; the caller has laid it out to fit. */
  line(text = ''): this {
    if (/^[\x20-\x7e]*$/.test(text)) {
      if (text.length > 0) this.push(asciiBytes(text));
      return this.push(Uint8Array.of(cmd.LF));
    }
    if (!this.profile.cjkFont) return this.rasterLine(text);
    // One Kanji-mode span from the first to the last non-ASCII character: GB18030 is ASCII-compatible,
    // so ASCII inside the span prints the same and the line costs one FS & / FS . pair at most.
    const chars = [...text];
    const first = chars.findIndex((c) => c.codePointAt(0)! >= 0x80);
    let last = chars.length - 1;
    while (chars[last]!.codePointAt(0)! < 0x80) last--;
    const head = chars.slice(0, first).join('');
    const span = chars.slice(first, last + 1).join('');
    const tail = chars.slice(last + 1).join('');
    if (head) this.push(asciiBytes(head));
    this.push(cmd.kanjiOn()).push(encodeGb18030(span)).push(cmd.kanjiOff());
    if (tail) this.push(asciiBytes(tail));
    return this.push(Uint8Array.of(cmd.LF));
  }

  /** Text drawn with the bundled font and sent as a raster image (printers without a Chinese font). */
  rasterLine(text: string): this {
    const { w, h, bold } = this.state;
    const width = Math.min(this.profile.dots, textColumns(text) * CELL_W * w);
    // Six blank rows below, the leading a text line gets from the default 30-dot line spacing.
    const bm = new Bitmap(Math.ceil(width / 8) * 8, CELL_H * h + 6);
    drawText(bm, text, 0, 0, { bold, scaleW: w, scaleH: h });
    return this.raster(bm);
  }

  raster(bm: Bitmap): this {
    const p = bm.pack();
    return this.push(cmd.rasterImage(p.bytesPerRow, p.rows, p.data));
  }

  /** QR code of ASCII data: native commands when the profile has them, else a raster image. */
  qr(data: string, moduleDots = this.profile.qrModuleSize): this {
    if (!/^[\x20-\x7e]+$/.test(data)) throw new RangeError('QR payload must be printable ASCII');
    if (!this.profile.nativeQr) return this.raster(qrBitmap(data, moduleDots));
    return this.push(cmd.qrModel(2))
      .push(cmd.qrModuleSize(moduleDots))
      .push(cmd.qrErrorLevel('M'))
      .push(cmd.qrStore(asciiBytes(data)))
      .push(cmd.qrPrint());
  }

  feed(lines = 1): this {
    return this.push(cmd.feedLines(lines));
  }

  beep(times = 1, units50ms = 2): this {
    return this.push(cmd.beep(times, units50ms));
  }

  /** Feeds to the cutter and cuts where there is one; otherwise feeds the paper out to tear. */
  cut(): this {
    return this.profile.cutter ? this.push(cmd.cut('partial', 0)) : this.feed(4);
  }

  raw(b: Uint8Array): this {
    return this.push(b);
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

function asciiBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
