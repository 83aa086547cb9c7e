// An interpreter for the ESC/POS the encoder emits: it draws text (with the bundled font), raster images
// and QR codes onto a 1-bit page as wide as the paper, answers DLE EOT, and splits pages at each cut.
// It parses a stream incrementally, so it can sit behind a socket and answer status as bytes arrive.
import iconv from 'iconv-lite';
import { Bitmap } from '../bitmap.ts';
import { qrBitmap } from '../encoder.ts';
import { CELL_H, CELL_W, drawText } from '../font.ts';

/** Stands for a bit image (ESC *) in a line's text. */
const IMAGE_MARK = '\uFFFC';

/** Default line spacing: 30 dots (ESC 2), i.e. 24-dot characters plus 6 dots of leading. */
const LINE_DOTS = 30;

export interface Page {
  bitmap: Bitmap;
  /** Each printed text line, as decoded. */
  lines: string[];
  /** The text of each FS & ... FS . span, decoded from GB18030. */
  kanjiSegments: string[];
  /** The data of each native QR code printed. */
  qrData: string[];
  /** Commands seen that the interpreter does not know (first byte, hex), for diagnosis. */
  unknown: string[];
  /** Why the job was ended here (page too long, job too large), when it was. */
  ended?: string;
}

export interface InterpreterHooks {
  /** Reply byte to DLE EOT n. */
  status(n: number): number;
  /** Reply byte to GS r 1 (paper sensor: bits 0-1 near end, 2-3 end); default 0, paper present. */
  paperStatus?(): number;
  /** Called when a page is finished (cut, or the end of the stream). */
  page?(p: Page): void;
  /** False while the paper is out: printing stops, bytes are still consumed. */
  canPrint?(): boolean;
  beep?(times: number): void;
  reply?(bytes: Uint8Array): void;
  /** The job broke a limit (InterpreterLimits) and was ended, with why. */
  ended?(why: string): void;
}

type Style = { align: 0 | 1 | 2; bold: boolean; w: number; h: number };

/**
 * What a job may be before the virtual printer ends it, as a real printer's paper roll and buffer bound it:
 * a flood of line feeds or random bytes ends with a clear message, never unbounded memory.
 */
export interface InterpreterLimits {
  /** Longest page in dots (8 dots per mm at 203 dpi); default 16,000 (2 m of paper). */
  maxPageDots: number;
  /** Most bytes in one job (one connection or file); default 1 MiB (a raster bill is under 16 KB). */
  maxJobBytes: number;
}

export const DEFAULT_LIMITS: InterpreterLimits = { maxPageDots: 16_000, maxJobBytes: 1 << 20 };

// ESC commands with one parameter byte the interpreter consumes without rendering their effect (code
// table, font, underline, spacing…), so the parameter never prints as a stray character.
const ESC_ONE_PARAM = new Set([0x74, 0x4d, 0x52, 0x2d, 0x47, 0x20, 0x33, 0x4a, 0x7b, 0x55, 0x56, 0x63, 0x72]);
// GS commands with one parameter byte (barcode height/width/HRI, inversion, smoothing).
const GS_ONE_PARAM = new Set([0x48, 0x68, 0x77, 0x66, 0x42, 0x62]);

export class Interpreter {
  private buf = new Uint8Array(0);
  private rows: Uint8Array[] = [];
  private y = 0;
  private style: Style = { align: 0, bold: false, w: 1, h: 1 };
  private kanji = false;
  private lineText = '';
  /** Bit images (ESC *) in the line being built, in order; IMAGE_MARK stands for each in lineText. */
  private lineImages: Bitmap[] = [];
  private kanjiBytes: number[] = [];
  private qr = { size: 3, level: 'M' as 'L' | 'M' | 'Q' | 'H', data: '' };
  private page: Omit<Page, 'bitmap'> = { lines: [], kanjiSegments: [], qrData: [], unknown: [] };
  private dirty = false;
  private fed = 0;
  /** Set once the job broke a limit: every later byte is counted and dropped. */
  stopped: string | undefined;
  private readonly limits: InterpreterLimits;

  constructor(
    readonly width: number,
    private readonly hooks: InterpreterHooks,
    limits: Partial<InterpreterLimits> = {},
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** Ends the job with a message: the page so far is delivered with it, the rest is dropped. */
  private stop(why: string): void {
    if (this.stopped) return;
    this.stopped = why;
    this.buf = new Uint8Array(0);
    this.lineText = '';
    this.lineImages = [];
    this.page.ended = why;
    this.dirty = true;
    this.finishPage();
    this.hooks.ended?.(why);
  }

  /** Feeds bytes; complete commands run now, a partial one waits for more. */
  feed(data: Uint8Array): void {
    if (this.stopped) return;
    this.fed += data.length;
    if (this.fed > this.limits.maxJobBytes) {
      return this.stop(`job ended: more than ${this.limits.maxJobBytes} bytes in one job`);
    }
    const merged = new Uint8Array(this.buf.length + data.length);
    merged.set(this.buf);
    merged.set(data, this.buf.length);
    let i = 0;
    while (i < merged.length && !this.stopped) {
      const used = this.step(merged, i);
      if (used === 0) break; // incomplete
      i += used;
    }
    if (!this.stopped) this.buf = merged.slice(i);
  }

  /** Ends the stream: a page with anything on it is delivered even without a cut. */
  end(): void {
    if (this.stopped) return;
    this.flushText();
    if (this.dirty) this.finishPage();
  }

  private printing(): boolean {
    return this.hooks.canPrint ? this.hooks.canPrint() : true;
  }

  /** Runs the command at b[i]; returns bytes used, 0 if it is not complete yet. */
  private step(b: Uint8Array, i: number): number {
    const c = b[i]!;
    const need = (n: number): boolean => i + n <= b.length;
    switch (c) {
      case 0x0a:
        this.flushText(true);
        return 1;
      case 0x0d:
        return 1;
      case 0x10: // DLE
        if (!need(3)) return 0;
        if (b[i + 1] === 0x04) {
          this.hooks.reply?.(Uint8Array.of(this.hooks.status(b[i + 2]!)));
          return 3;
        }
        return this.unknownCmd(b, i, 2);
      case 0x1b: {
        if (!need(2)) return 0;
        const f = b[i + 1]!;
        if (f === 0x40) {
          this.flushText();
          this.style = { align: 0, bold: false, w: 1, h: 1 };
          this.kanji = false;
          return 2;
        }
        if (f === 0x2a) return this.bitImage(b, i);
        if (!need(3)) return 0;
        if (f === 0x61)
          return this.flushThen(
            () => (this.style.align = (b[i + 2]! % 48 > 2 ? 0 : b[i + 2]! % 48) as 0 | 1 | 2),
            3,
          );
        if (f === 0x45) return this.setThen(() => (this.style.bold = (b[i + 2]! & 1) === 1), 3);
        if (f === 0x64) {
          this.flushText();
          this.advance(b[i + 2]! * LINE_DOTS);
          return 3;
        }
        if (f === 0x42) {
          if (!need(4)) return 0;
          this.hooks.beep?.(b[i + 2]!);
          return 4;
        }
        // ESC ! n: print mode; bit 3 emphasized, bit 4 double height, bit 5 double width (font B, bit 0,
        // is not drawn: the bundled font has one size).
        if (f === 0x21)
          return this.setThen(() => {
            const n = b[i + 2]!;
            this.style.bold = (n & 0x08) !== 0;
            this.style.h = n & 0x10 ? 2 : 1;
            this.style.w = n & 0x20 ? 2 : 1;
          }, 3);
        if (ESC_ONE_PARAM.has(f)) return this.unknownCmd(b, i, 3);
        if (f === 0x32) return 2; // ESC 2: default line spacing, which is what is drawn
        return this.unknownCmd(b, i, 2);
      }
      case 0x1c: {
        if (!need(2)) return 0;
        const f = b[i + 1]!;
        if (f === 0x26) {
          this.kanji = true;
          return 2;
        }
        if (f === 0x2e) {
          this.endKanjiSegment();
          this.kanji = false;
          return 2;
        }
        return this.unknownCmd(b, i, 2);
      }
      case 0x1d: {
        if (!need(2)) return 0;
        const f = b[i + 1]!;
        if (f === 0x21) {
          if (!need(3)) return 0;
          return this.setThen(() => {
            this.style.w = (b[i + 2]! >> 4) + 1;
            this.style.h = (b[i + 2]! & 0x0f) + 1;
          }, 3);
        }
        if (f === 0x56) {
          if (!need(3)) return 0;
          const m = b[i + 2]!;
          const n = m === 65 || m === 66 ? 4 : 3;
          if (!need(n)) return 0;
          this.flushText();
          this.finishPage();
          return n;
        }
        if (f === 0x76) {
          if (!need(8)) return 0;
          const x = b[i + 4]! | (b[i + 5]! << 8);
          const y = b[i + 6]! | (b[i + 7]! << 8);
          if (!need(8 + x * y)) return 0;
          this.flushText();
          // m (b[i + 3]): 0/48 normal, 1/49 double width, 2/50 double height, 3/51 quadruple.
          const m = b[i + 3]! % 48;
          this.drawBitmap(
            Bitmap.unpack(x, y, b.subarray(i + 8, i + 8 + x * y)).scaled(m & 1 ? 2 : 1, m & 2 ? 2 : 1),
          );
          return 8 + x * y;
        }
        if (f === 0x28) {
          if (!need(5)) return 0;
          const len = b[i + 3]! | (b[i + 4]! << 8);
          if (!need(5 + len)) return 0;
          if (b[i + 2] === 0x6b) this.qrCommand(b.subarray(i + 5, i + 5 + len));
          else if (b[i + 2] === 0x48) this.processId(b.subarray(i + 5, i + 5 + len));
          else if (b[i + 2] === 0x4c) this.page.unknown.push('GS ( L graphics (logo): not rendered');
          else this.page.unknown.push(`1d28${b[i + 2]!.toString(16)}`);
          return 5 + len;
        }
        if (f === 0x72) {
          // GS r n: in order, answered when the data before it has been processed; a stopped printer
          // (paper out, cover open) processes nothing more, so it does not answer.
          if (!need(3)) return 0;
          if (this.printing() && (b[i + 2] === 1 || b[i + 2] === 49))
            this.hooks.reply?.(Uint8Array.of(this.hooks.paperStatus?.() ?? 0));
          return 3;
        }
        if (f === 0x6b) {
          // GS k m: a barcode. m 0-6: data up to NUL; m 65-79: n then n bytes. Consumed whole (never
          // stray text) and reported as not rendered.
          if (!need(3)) return 0;
          const m = b[i + 2]!;
          let n: number;
          if (m <= 6) {
            const nul = b.indexOf(0, i + 3);
            if (nul < 0) return 0;
            n = nul + 1 - i;
          } else {
            if (!need(4)) return 0;
            n = 4 + b[i + 3]!;
            if (!need(n)) return 0;
          }
          this.page.unknown.push('GS k barcode: not rendered');
          return n;
        }
        if (f === 0x4c || f === 0x57) {
          if (!need(4)) return 0;
          return this.unknownCmd(b, i, 4); // GS L / GS W: left margin, print width
        }
        if (GS_ONE_PARAM.has(f)) {
          if (!need(3)) return 0;
          return this.unknownCmd(b, i, 3);
        }
        return this.unknownCmd(b, i, 2);
      }
      default:
        if (this.kanji && c >= 0x81) {
          // GB18030: two bytes, or four when the second is a digit.
          if (!need(2)) return 0;
          const n = b[i + 1]! >= 0x30 && b[i + 1]! <= 0x39 ? 4 : 2;
          if (!need(n)) return 0;
          for (let k = 0; k < n; k++) this.kanjiBytes.push(b[i + k]!);
          this.lineText += iconv.decode(Buffer.from(b.subarray(i, i + n)), 'gb18030');
          return n;
        }
        if (c >= 0x20 && c < 0x7f) {
          if (this.kanji) this.kanjiBytes.push(c);
          this.lineText += String.fromCharCode(c);
          return 1;
        }
        if (c >= 0x80) {
          // A code-page character outside Kanji mode: on a Chinese printer this is garbage.
          this.lineText += '\uFFFD';
          return 1;
        }
        return 1;
    }
  }

  /**
   * ESC * m nL nH d1..dk: a bit image in the line, k = columns × 1 (m 0, 1: 8 dots tall) or × 3 (m 32,
   * 33: 24 dots), each column's bytes from the top, MSB topmost; m 0 and 32 are single density (each dot
   * two wide). Drawn in the line where it stands, bottom-aligned with the text; marked U+FFFC in the
   * line's text.
   */
  private bitImage(b: Uint8Array, i: number): number {
    const need = (n: number): boolean => i + n <= b.length;
    if (!need(5)) return 0;
    const m = b[i + 2]!;
    const cols = b[i + 3]! | (b[i + 4]! << 8);
    const bands = m === 32 || m === 33 ? 3 : 1;
    const n = 5 + cols * bands;
    if (!need(n)) return 0;
    if (m !== 0 && m !== 1 && m !== 32 && m !== 33) return this.unknownCmd(b, i, n);
    const sx = m === 0 || m === 32 ? 2 : 1;
    const bm = new Bitmap(Math.min(cols * sx, this.width), bands * 8);
    for (let x = 0; x < cols; x++) {
      for (let y = 0; y < bands * 8; y++) {
        if ((b[i + 5 + x * bands + (y >> 3)]! & (0x80 >> (y & 7))) === 0) continue;
        for (let k = 0; k < sx; k++) bm.set(x * sx + k, y);
      }
    }
    this.lineImages.push(bm);
    this.lineText += IMAGE_MARK;
    return n;
  }

  private unknownCmd(b: Uint8Array, i: number, n: number): number {
    this.page.unknown.push(Buffer.from(b.subarray(i, i + n)).toString('hex'));
    return n;
  }

  private flushThen(fn: () => void, n: number): number {
    this.flushText();
    fn();
    return n;
  }

  /** Style changes apply from the next character; a line with mixed styles is drawn with the last. */
  private setThen(fn: () => void, n: number): number {
    fn();
    return n;
  }

  private endKanjiSegment(): void {
    if (this.kanjiBytes.length) {
      this.page.kanjiSegments.push(iconv.decode(Buffer.from(this.kanjiBytes), 'gb18030'));
      this.kanjiBytes = [];
    }
  }

  /** GS ( H fn 48: the process-id reply 37 22 d1..d4 00 once everything before it has printed. */
  private processId(p: Uint8Array): void {
    if (p[0] !== 48 || p.length < 6 || !this.printing()) return;
    this.flushText();
    this.hooks.reply?.(Uint8Array.of(0x37, 0x22, p[2]!, p[3]!, p[4]!, p[5]!, 0x00));
  }

  private qrCommand(p: Uint8Array): void {
    if (p[0] !== 49) return;
    const fn = p[1];
    if (fn === 67) this.qr.size = p[2]!;
    else if (fn === 69) this.qr.level = (['L', 'M', 'Q', 'H'] as const)[p[2]! - 48] ?? 'M';
    else if (fn === 80) this.qr.data = Buffer.from(p.subarray(3)).toString('latin1');
    else if (fn === 81 && this.qr.data) {
      this.flushText();
      if (this.printing()) this.page.qrData.push(this.qr.data);
      this.drawBitmap(qrBitmap(this.qr.data, this.qr.size, this.qr.level));
    }
  }

  private ensure(h: number): void {
    while (this.rows.length < h) this.rows.push(new Uint8Array(this.width));
  }

  private advance(dots: number): void {
    this.y += dots;
    this.dirty = true;
    if (this.y > this.limits.maxPageDots) this.pageTooLong();
  }

  private pageTooLong(): void {
    this.y = Math.min(this.y, this.limits.maxPageDots);
    this.stop(`job ended: page longer than ${this.limits.maxPageDots} dots without a cut`);
  }

  private xFor(w: number): number {
    const free = Math.max(0, this.width - w);
    return this.style.align === 1 ? Math.floor(free / 2) : this.style.align === 2 ? free : 0;
  }

  private drawBitmap(bm: Bitmap): void {
    if (!this.printing()) return;
    if (this.y + bm.height > this.limits.maxPageDots) return this.pageTooLong();
    const x0 = this.xFor(bm.width);
    this.ensure(this.y + bm.height);
    for (let yy = 0; yy < bm.height; yy++) {
      const row = this.rows[this.y + yy]!;
      for (let xx = 0; xx < bm.width && x0 + xx < this.width; xx++)
        if (bm.data[yy * bm.width + xx]) row[x0 + xx] = 1;
    }
    this.advance(bm.height);
  }

  /** Prints the buffered text line (LF also prints an empty line). */
  private flushText(lf = false): void {
    if (this.kanji) this.endKanjiSegment();
    const text = this.lineText;
    this.lineText = '';
    const images = this.lineImages;
    this.lineImages = [];
    if (!text && !lf) return;
    if (!this.printing()) return;
    const { w, h, bold } = this.style;
    const lineH = CELL_H * h + (LINE_DOTS - CELL_H);
    if (!text) {
      this.advance(lineH);
      return;
    }
    // Wrap at the paper edge as a printer does. A bit image keeps its own width (not scaled by GS !).
    let img = 0;
    const items: { ch: string; dw: number; image?: Bitmap }[] = [];
    for (const ch of text) {
      const image = ch === IMAGE_MARK ? images[img++] : undefined;
      const dw = image ? image.width : (ch.codePointAt(0)! >= 0x80 ? 2 : 1) * CELL_W * w;
      items.push(image ? { ch, dw, image } : { ch, dw });
    }
    const chunks: (typeof items)[] = [];
    let cur: typeof items = [];
    let cw = 0;
    for (const it of items) {
      if (cw + it.dw > this.width && cur.length) {
        chunks.push(cur);
        cur = [];
        cw = 0;
      }
      cur.push(it);
      cw += it.dw;
    }
    chunks.push(cur);
    for (const chunk of chunks) {
      if (this.stopped) return;
      this.page.lines.push(chunk.map((c) => c.ch).join(''));
      const width = Math.min(
        this.width,
        chunk.reduce((a, c) => a + c.dw, 0),
      );
      this.ensure(this.y + lineH);
      const bm = new Bitmap(Math.max(width, 1), CELL_H * h);
      let x = 0;
      let run = '';
      let runX = 0;
      const drawRun = (): void => {
        if (run) drawText(bm, run, runX, 0, { bold, scaleW: w, scaleH: h });
        run = '';
      };
      for (const c of chunk) {
        if (c.image) {
          drawRun();
          bm.blit(c.image, x, bm.height - c.image.height);
        } else {
          if (!run) runX = x;
          run += c.ch;
        }
        x += c.dw;
      }
      drawRun();
      const x0 = this.xFor(width);
      for (let yy = 0; yy < bm.height; yy++) {
        const row = this.rows[this.y + yy]!;
        for (let xx = 0; xx < bm.width; xx++)
          if (bm.data[yy * bm.width + xx]) row[Math.min(this.width - 1, x0 + xx)] = 1;
      }
      this.advance(lineH);
    }
  }

  private finishPage(): void {
    const height = Math.max(this.y, 1);
    this.ensure(height);
    const bm = new Bitmap(this.width, height);
    for (let y = 0; y < height; y++) bm.data.set(this.rows[y]!, y * this.width);
    const page: Page = { bitmap: bm, ...this.page };
    this.rows = [];
    this.y = 0;
    this.dirty = false;
    this.page = { lines: [], kanjiSegments: [], qrData: [], unknown: [] };
    this.hooks.page?.(page);
  }
}

/** Interprets a whole saved job; returns its pages. Status requests are answered "ok". */
export function interpretBytes(bytes: Uint8Array, width = 576): Page[] {
  const pages: Page[] = [];
  const it = new Interpreter(width, { status: () => 0x12, page: (p) => pages.push(p) });
  it.feed(bytes);
  it.end();
  return pages;
}
