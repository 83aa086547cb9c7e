// The ESC/POS encoder: a small typed builder over commands.ts that knows the printer profile. Chinese
// text goes as GB18030 inside FS & ... FS . where the printer's font has every character of the line,
// and as a raster image drawn with the bundled font where it has not (or has no Chinese font). QR codes
// are native (GS ( k) or a compact raster (GS v 0 of the symbol's own width, sent at half the module
// size in quadruple mode), with a module size that fits the print width and its quiet zone.
import iconv from 'iconv-lite';
import type { ErrorCode } from '../protocol/errors.ts';
import { fail, ok, type Result } from '../protocol/result.ts';
import { Bitmap } from './bitmap.ts';
import * as cmd from './commands.ts';
import { CELL_H, CELL_W, drawTextPacked, glyphBitmap } from './font.ts';
import { fontHas, needsRaster } from './fontmodel.ts';
import type { PrinterProfile } from './profiles.ts';
import { encodeQr, qrRaster, qrVersionForBytes, type QrEcLevel } from './qr.ts';
import { textColumns } from './width.ts';

/** A document the printer cannot print as asked (a QR wider than the paper): nothing is sent. */
export class PrintRefusal extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Smallest QR module printed (3 dots = 0.375 mm at 8 dots/mm): phones read it; smaller they do not. */
export const MIN_QR_MODULE = 3;
/** Quiet zone on each side of a QR, in modules (ISO/IEC 18004: 4). */
export const QR_QUIET_MODULES = 4;

export interface QrPlan {
  version: number;
  /** Modules per side. */
  modules: number;
  /** Printed dots per module. */
  moduleDots: number;
  /** Raster only: dots per module in the data sent (moduleDots / 2 when sent in quadruple mode). */
  sentModuleDots: number;
}

/**
 * How a QR of this ASCII payload prints on this profile: the largest module size up to the profile's
 * whose symbol plus quiet zone fits the print width (at least MIN_QR_MODULE), error level M. A raster QR
 * uses an even module size where one fits, sent at half size with GS v 0 m = 3 (double width and height,
 * Epson ESC/POS reference GS v 0) so the data is a quarter. Fails PRINT_QR_TOO_WIDE when nothing fits.
 */
const planCache = new Map<string, Result<QrPlan>>();

export function planQr(data: string, profile: PrinterProfile): Result<QrPlan> {
  // The layout and the encoder both ask for each QR: one QR matrix per payload and printer width.
  const key = `${profile.dots}/${profile.qrModuleSize}/${profile.nativeQr ? 1 : 0}/${data}`;
  const hit = planCache.get(key);
  if (hit) return hit;
  const r = planQrUncached(data, profile);
  if (planCache.size >= 256) planCache.clear();
  planCache.set(key, r);
  return r;
}

function planQrUncached(data: string, profile: PrinterProfile): Result<QrPlan> {
  if (!/^[\x20-\x7e]+$/.test(data)) return fail('MALFORMED', 'QR payload must be printable ASCII');
  // Byte mode (qr.ts): the version a printer's own QR encoder needs for ASCII text is at most this one.
  const version = qrVersionForBytes(data.length, 'M');
  if (version === undefined)
    return fail('PRINT_QR_TOO_WIDE', `payload of ${data.length} characters does not fit any QR version`);
  const n = version * 4 + 17;
  const fits = (m: number): boolean => (n + 2 * QR_QUIET_MODULES) * m <= profile.dots;
  let m = profile.qrModuleSize;
  if (!profile.nativeQr) {
    // Prefer an even size (sent in quadruple mode); fall back to odd sizes only when no even one fits.
    let even = m - (m % 2);
    while (even >= 4 && !fits(even)) even -= 2;
    if (even >= 4) return ok({ version, modules: n, moduleDots: even, sentModuleDots: even / 2 });
  }
  while (m > MIN_QR_MODULE && !fits(m)) m--;
  if (!fits(m))
    return fail(
      'PRINT_QR_TOO_WIDE',
      `QR version ${version} (${n} modules) needs ${(n + 2 * QR_QUIET_MODULES) * MIN_QR_MODULE} dots at ${MIN_QR_MODULE} dots a module; the printer prints ${profile.dots}`,
      { version, modules: n, dots: profile.dots },
    );
  return ok({ version, modules: n, moduleDots: m, sentModuleDots: m });
}

export type Align = 'left' | 'center' | 'right';

/** The QR symbol of ASCII data in byte mode (qr.ts); throws RangeError when it fits no version. */
function qrSymbol(data: string, level: QrEcLevel) {
  const q = encodeQr(Buffer.from(data, 'latin1'), level);
  if (!q) throw new RangeError(`QR data of ${data.length} bytes fits no version`);
  return q;
}

/** The QR matrix as a bitmap, `moduleDots` dots per module, no quiet zone (as a printer draws it). */
export function qrBitmap(data: string, moduleDots: number, level: QrEcLevel = 'M'): Bitmap {
  const q = qrSymbol(data, level);
  const bm = new Bitmap(q.size * moduleDots, q.size * moduleDots);
  for (let r = 0; r < q.size; r++)
    for (let c = 0; c < q.size; c++)
      if (q.modules[r * q.size + c]) bm.fillRect(c * moduleDots, r * moduleDots, moduleDots, moduleDots);
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
const rasterLines = new Map<string, Uint8Array>();
const glyphImages = new Map<string, Uint8Array>();

/**
 * ESC * 33 nL nH d1..dk of one character in the bundled font: 24-dot double density, 24 columns (the two
 * columns of a full-width character), each column 3 bytes from the top, most significant bit topmost
 * (Epson ESC/POS reference, ESC *). Bold draws the glyph again one dot to the right, as drawText does.
 */
export function glyphImage(ch: string, bold = false): Uint8Array {
  const key = (bold ? 'B' : 'N') + ch;
  const hit = glyphImages.get(key);
  if (hit) return hit;
  const g = glyphBitmap(ch, true);
  const cols = 2 * CELL_W;
  const out = new Uint8Array(5 + cols * 3);
  out.set([cmd.ESC, 0x2a, 33, cols, 0]);
  for (let x = 0; x < cols; x++) {
    for (let y = 0; y < CELL_H; y++) {
      const on = g.get(x, y) || (bold && g.get(x - 1, y));
      if (on) out[5 + x * 3 + (y >> 3)]! |= 0x80 >> (y & 7);
    }
  }
  if (glyphImages.size >= 1024) glyphImages.clear();
  glyphImages.set(key, out);
  return out;
}

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
    const enc = this.profile.fontEncoding;
    if (enc === 'none') return this.rasterLine(text);
    if (needsRaster(text, enc)) {
      // A character the font lacks: printed as an inline bit image in a line of text, where the line
      // has the normal size (ESC * is not scaled by GS !); a larger line is drawn whole.
      return this.state.w === 1 && this.state.h === 1 ? this.mixedLine(text) : this.rasterLine(text);
    }
    // One Kanji-mode span from the first to the last non-ASCII character: GB18030 is ASCII-compatible,
    // so ASCII inside the span prints the same and the line costs one FS & / FS . pair at most.
    this.ascii(text, 0, first);
    this.push(C.kanjiOn)
      .push(encodeGb18030(text.slice(first, last + 1)))
      .push(C.kanjiOff);
    return this.ascii(text, last + 1).lf();
  }

  /**
   * A line of text where each character the printer's font lacks (fontmodel.ts) is an ESC * 33 bit
   * image of the bundled font's glyph, 24 dots wide as the two columns the layout counted; the rest is
   * ASCII and GB18030 in Kanji-mode spans as in line().
   */
  private mixedLine(text: string): this {
    const enc = this.profile.fontEncoding;
    let run = '';
    const flush = (): void => {
      if (!run) return;
      let first = -1;
      let last = -1;
      for (let i = 0; i < run.length; i++) {
        if (run.charCodeAt(i) >= 0x80) {
          if (first < 0) first = i;
          last = i;
        }
      }
      if (first < 0) this.ascii(run);
      else {
        this.ascii(run, 0, first);
        this.push(C.kanjiOn)
          .push(encodeGb18030(run.slice(first, last + 1)))
          .push(C.kanjiOff);
        this.ascii(run, last + 1);
      }
      run = '';
    };
    for (const ch of text) {
      if (fontHas(ch, enc)) {
        run += ch;
        continue;
      }
      flush();
      this.push(glyphImage(ch, this.state.bold));
    }
    flush();
    return this.lf();
  }

  /** Text drawn with the bundled font and sent as a raster image (printers without a Chinese font). */
  rasterLine(text: string): this {
    const { w, h, bold } = this.state;
    const key = `${w}${h}${bold ? 1 : 0}${this.profile.dots}:${text}`;
    let img = rasterLines.get(key);
    if (!img) {
      const width = Math.min(this.profile.dots, textColumns(text) * CELL_W * w);
      // Six blank rows below, the leading a text line gets from the default 30-dot line spacing.
      const bytesPerRow = Math.ceil(width / 8);
      const rows = CELL_H * h + 6;
      const data = new Uint8Array(bytesPerRow * rows);
      drawTextPacked(data, bytesPerRow, rows, text, { bold, scaleW: w, scaleH: h });
      img = cmd.rasterImage(bytesPerRow, rows, data);
      // Titles, labels and footers repeat on every document: their images are kept (a few hundred).
      if (rasterLines.size >= 512) rasterLines.clear();
      rasterLines.set(key, img);
    }
    return this.push(img);
  }

  /** GS v 0 of a bitmap; `quadruple` prints each dot as 2 × 2 (mode m = 3). */
  raster(bm: Bitmap, quadruple = false): this {
    const p = bm.pack();
    return this.push(cmd.rasterImage(p.bytesPerRow, p.rows, p.data, quadruple ? 3 : 0));
  }

  /**
   * QR code of ASCII data (planQr): native commands when the profile has them, else a compact raster.
   * Throws PrintRefusal when it cannot fit the print width (documents/index.ts turns it into a Result).
   */
  qr(data: string): this {
    const plan = planQr(data, this.profile);
    if (!plan.ok) throw new PrintRefusal(plan.error.code, plan.error.message);
    const { moduleDots, sentModuleDots } = plan.value;
    if (!this.profile.nativeQr) {
      const p = qrRaster(qrSymbol(data, 'M'), sentModuleDots);
      return this.push(cmd.rasterImage(p.bytesPerRow, p.rows, p.data, sentModuleDots !== moduleDots ? 3 : 0));
    }
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
