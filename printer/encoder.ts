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

const gbCache = new Map<string, Uint8Array>();

/** Text as it will be sent: GB18030 for anything outside ASCII. Labels repeat on every bill: cached. */
export function encodeGb18030(text: string): Uint8Array {
  const hit = gbCache.get(text);
  if (hit) return hit;
  const b = new Uint8Array(iconv.encode(text, 'gb18030'));
  if (gbCache.size >= 4096) gbCache.clear();
  gbCache.set(text, b);
  return b;
}

// Fixed commands built once: a bill uses each many times.
const C = {
  init: cmd.init(),
  kanjiOn: cmd.kanjiOn(),
  kanjiOff: cmd.kanjiOff(),
  align: { left: cmd.align('left'), center: cmd.align('center'), right: cmd.align('right') },
  bold: [cmd.bold(false), cmd.bold(true)] as const,
};
const sizeCmds = new Map<number, Uint8Array>();

export class Encoder {
  // One growing buffer rather than a list of parts: a bill is encoded with little garbage.
  private buf = new Uint8Array(2048);
  private length = 0;
  private state = { align: 'left' as Align, bold: false, w: 1, h: 1 };

  constructor(readonly profile: PrinterProfile) {}

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  private push(b: Uint8Array): this {
    this.reserve(b.length);
    if (b.length > 32) this.buf.set(b, this.length);
    else for (let i = 0; i < b.length; i++) this.buf[this.length + i] = b[i]!;
    this.length += b.length;
    return this;
  }

  /** Printable ASCII, byte for byte. */
  private ascii(s: string, from = 0, to = s.length): this {
    this.reserve(to - from);
    for (let i = from; i < to; i++) this.buf[this.length++] = s.charCodeAt(i);
    return this;
  }

  private lf(): this {
    this.reserve(1);
    this.buf[this.length++] = cmd.LF;
    return this;
  }

  /** ESC @; also resets the tracked style. */
  init(): this {
    this.state = { align: 'left', bold: false, w: 1, h: 1 };
    return this.push(C.init);
  }

  align(a: Align): this {
    if (a === this.state.align) return this;
    this.state.align = a;
    return this.push(C.align[a]);
  }

  bold(on: boolean): this {
    if (on === this.state.bold) return this;
    this.state.bold = on;
    return this.push(C.bold[on ? 1 : 0]);
  }

  size(w: number, h = w): this {
    if (w === this.state.w && h === this.state.h) return this;
    this.state.w = w;
    this.state.h = h;
    const key = w * 16 + h;
    let c = sizeCmds.get(key);
    if (!c) sizeCmds.set(key, (c = cmd.size(w, h)));
    return this.push(c);
  }

  /** One line of text followed by LF; the caller has laid it out to fit. */
  line(text = ''): this {
    // First and last UTF-16 unit outside ASCII (surrogates are too, so a pair is never split).
    let first = -1;
    let last = -1;
    for (let i = 0; i < text.length; i++) {
      if (text.charCodeAt(i) >= 0x80) {
        if (first < 0) first = i;
        last = i;
      }
    }
    if (first < 0) return this.ascii(text).lf();
    if (!this.profile.cjkFont) return this.rasterLine(text);
    // One Kanji-mode span from the first to the last non-ASCII character: GB18030 is ASCII-compatible,
    // so ASCII inside the span prints the same and the line costs one FS & / FS . pair at most.
    this.ascii(text, 0, first);
    this.push(C.kanjiOn)
      .push(encodeGb18030(text.slice(first, last + 1)))
      .push(C.kanjiOff);
    return this.ascii(text, last + 1).lf();
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
      .push(cmd.qrStore(Buffer.from(data, 'latin1')))
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
    return this.buf.slice(0, this.length);
  }
}
