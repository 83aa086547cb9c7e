// Text to dots with the bundled CJK font (Noto Sans SC, the same one the UI uses), for printers without a
// Chinese font (raster text) and for the virtual printer's rendering. opentype.js reads the woff; the
// glyph outline is filled by a small scanline rasterizer with 4×4 supersampling, thresholded to 1 bit.
// Glyphs are cached per character and size, so a bill costs a few hundred lookups after the first.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import opentype, { type Font, type PathCommand } from 'opentype.js';
import { Bitmap } from './bitmap.ts';

/** Font A cell: 12 × 24 dots for a half-width character, 24 × 24 for a full-width one. */
export const CELL_W = 12;
export const CELL_H = 24;

const FONT_FILE = '@fontsource/noto-sans-sc/files/noto-sans-sc-chinese-simplified-400-normal.woff';
let font: Font | undefined;

function parseFont(file: string): Font {
  const buf = readFileSync(file);
  return opentype.parse(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer);
}

export function loadFont(): Font {
  font ??= parseFont(createRequire(import.meta.url).resolve(FONT_FILE));
  return font;
}

// The package splits the font into subsets by unicode-range (400.css names each subset's file and
// range). A character outside the simplified-Chinese subset (an Extension-A place name such as 㮾) is
// looked up in the subset whose range holds it, loaded once when first needed.
let subsets: { file: string; ranges: [number, number][] }[] | undefined;
const subsetFonts = new Map<string, Font>();

function subsetIndex(): NonNullable<typeof subsets> {
  if (subsets) return subsets;
  subsets = [];
  try {
    const css = createRequire(import.meta.url).resolve('@fontsource/noto-sans-sc/400.css');
    const dir = path.dirname(css);
    for (const face of readFileSync(css, 'utf8').split('@font-face').slice(1)) {
      const file = /url\(\.\/(files\/[^)]+\.woff)\)/.exec(face)?.[1];
      const range = /unicode-range:\s*([^;]+);/.exec(face)?.[1];
      if (!file || !range) continue;
      const ranges = range.split(',').map((r): [number, number] => {
        const [a, b] = r.trim().replace(/^U\+/i, '').split('-');
        return [parseInt(a!, 16), parseInt(b ?? a!, 16)];
      });
      subsets.push({ file: path.join(dir, file), ranges });
    }
  } catch {
    // No subset index: characters outside the main subset draw as the font's empty box.
  }
  return subsets;
}

/** The bundled font that has a glyph for this character (the main subset first). */
function fontFor(ch: string): Font {
  const main = loadFont();
  if (main.charToGlyphIndex(ch) > 0) return main;
  const cp = ch.codePointAt(0)!;
  const s = subsetIndex().find((x) => x.ranges.some(([a, b]) => cp >= a && cp <= b));
  if (!s) return main;
  let f = subsetFonts.get(s.file);
  if (!f) {
    try {
      f = parseFont(s.file);
    } catch {
      return main;
    }
    subsetFonts.set(s.file, f);
  }
  return f;
}

/** True when the bundled font can draw this character (otherwise it draws an empty box). */
export function bundledFontHas(ch: string): boolean {
  return fontFor(ch).charToGlyphIndex(ch) > 0;
}

const SS = 4; // supersampling per axis
const cache = new Map<string, Bitmap>();

interface Edge {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  dir: number;
}

function flatten(cmds: PathCommand[]): Edge[] {
  const edges: Edge[] = [];
  let cx = 0;
  let cy = 0;
  let sx = 0;
  let sy = 0;
  const line = (x: number, y: number): void => {
    if (y !== cy) edges.push({ x0: cx, y0: cy, x1: x, y1: y, dir: y > cy ? 1 : -1 });
    cx = x;
    cy = y;
  };
  for (const c of cmds) {
    if (c.type === 'M') {
      cx = sx = c.x!;
      cy = sy = c.y!;
    } else if (c.type === 'L') line(c.x!, c.y!);
    else if (c.type === 'Q') {
      const [x0, y0] = [cx, cy];
      for (let i = 1; i <= 6; i++) {
        const t = i / 6;
        const a = (1 - t) * (1 - t);
        const b = 2 * (1 - t) * t;
        line(a * x0 + b * c.x1! + t * t * c.x!, a * y0 + b * c.y1! + t * t * c.y!);
      }
    } else if (c.type === 'C') {
      const [x0, y0] = [cx, cy];
      for (let i = 1; i <= 8; i++) {
        const t = i / 8;
        const m = 1 - t;
        line(
          m * m * m * x0 + 3 * m * m * t * c.x1! + 3 * m * t * t * c.x2! + t * t * t * c.x!,
          m * m * m * y0 + 3 * m * m * t * c.y1! + 3 * m * t * t * c.y2! + t * t * t * c.y!,
        );
      }
    } else if (c.type === 'Z') line(sx, sy);
  }
  return edges;
}

/** Fills outline commands (in dot units) into a w × h bitmap with the nonzero rule. */
function rasterize(cmds: PathCommand[], w: number, h: number): Bitmap {
  const edges = flatten(cmds);
  const cover = new Uint16Array(w * h);
  const xs: { x: number; d: number }[] = [];
  for (let sy = 0; sy < h * SS; sy++) {
    const y = (sy + 0.5) / SS;
    xs.length = 0;
    for (const e of edges) {
      const lo = Math.min(e.y0, e.y1);
      const hi = Math.max(e.y0, e.y1);
      if (y < lo || y >= hi) continue;
      xs.push({ x: e.x0 + ((y - e.y0) * (e.x1 - e.x0)) / (e.y1 - e.y0), d: e.dir });
    }
    if (xs.length < 2) continue;
    xs.sort((a, b) => a.x - b.x);
    const row = Math.floor(sy / SS) * w;
    let wind = 0;
    for (let i = 0; i < xs.length - 1; i++) {
      wind += xs[i]!.d;
      if (wind === 0) continue;
      // Subsample columns whose centre lies inside [xa, xb).
      const a = Math.max(0, Math.ceil(xs[i]!.x * SS - 0.5));
      const b = Math.min(w * SS, Math.ceil(xs[i + 1]!.x * SS - 0.5));
      for (let sx = a; sx < b; sx++) cover[row + (sx >> 2)]!++;
    }
  }
  const bm = new Bitmap(w, h);
  const threshold = (SS * SS * 7) / 16;
  for (let i = 0; i < cover.length; i++) if (cover[i]! >= threshold) bm.data[i] = 1;
  return bm;
}

/** Bitmap of one character in its cell: 12 × 24 (half width) or 24 × 24 (full width). */
export function glyphBitmap(ch: string, wide: boolean): Bitmap {
  const key = (wide ? 'W' : 'N') + ch;
  const hit = cache.get(key);
  if (hit) return hit;
  const f = fontFor(ch);
  const w = wide ? 2 * CELL_W : CELL_W;
  const fontSize = 22;
  const g = f.charToGlyph(ch);
  const adv = ((g.advanceWidth ?? f.unitsPerEm) * fontSize) / f.unitsPerEm;
  // Centre narrow glyphs; squeeze Latin glyphs a little wider than 12 dots.
  const scaleX = adv > w ? w / adv : 1;
  const path = g.getPath(0, 0, fontSize);
  const baseline = 19;
  const dx = (w - adv * scaleX) / 2;
  const cmds = path.commands.map((c) => ({
    ...c,
    x: c.x === undefined ? undefined : c.x * scaleX + dx,
    x1: c.x1 === undefined ? undefined : c.x1 * scaleX + dx,
    x2: c.x2 === undefined ? undefined : c.x2 * scaleX + dx,
    y: c.y === undefined ? undefined : c.y + baseline,
    y1: c.y1 === undefined ? undefined : c.y1 + baseline,
    y2: c.y2 === undefined ? undefined : c.y2 + baseline,
  }));
  const bm = rasterize(cmds, w, CELL_H);
  cache.set(key, bm);
  return bm;
}

export interface TextStyle {
  bold?: boolean;
  /** Width and height multipliers, as GS ! sets them. */
  scaleW?: number;
  scaleH?: number;
}

/** Draws one line of text at (x, y) onto `target`; returns the x after the last character. */
export function drawText(target: Bitmap, text: string, x: number, y: number, style: TextStyle = {}): number {
  const sw = style.scaleW ?? 1;
  const sh = style.scaleH ?? 1;
  for (const ch of text) {
    const wide = ch.codePointAt(0)! >= 0x80;
    const cellW = (wide ? 2 : 1) * CELL_W * sw;
    if (ch !== ' ') {
      const g = glyphBitmap(ch, wide);
      target.blit(g, x, y, sw, sh);
      if (style.bold) target.blit(g, x + 1, y, sw, sh);
    }
    x += cellW;
  }
  return x;
}

/** A glyph as packed raster rows (8 dots a byte, leftmost dot in the high bit), one row per dot row. */
interface PackedGlyph {
  /** Dots wide, bold offset included. */
  width: number;
  bytesPerRow: number;
  data: Uint8Array;
}
const packedCache = new Map<string, PackedGlyph>();

/** The glyph of drawText, widened `sw` times and emboldened, packed (cached: a bill draws the same few). */
function packedGlyph(ch: string, wide: boolean, sw: number, bold: boolean): PackedGlyph {
  const key = `${wide ? 'W' : 'N'}${sw}${bold ? 'B' : ''}${ch}`;
  const hit = packedCache.get(key);
  if (hit) return hit;
  const g = glyphBitmap(ch, wide);
  const width = g.width * sw + (bold ? 1 : 0);
  const bytesPerRow = Math.ceil(width / 8);
  const data = new Uint8Array(bytesPerRow * g.height);
  for (let y = 0; y < g.height; y++) {
    for (let x = 0; x < g.width; x++) {
      if (!g.data[y * g.width + x]) continue;
      // drawText: the glyph blitted at x and, bold, again one dot to the right.
      for (let d = x * sw, end = d + sw + (bold ? 1 : 0); d < end; d++)
        data[y * bytesPerRow + (d >> 3)]! |= 0x80 >> (d & 7);
    }
  }
  const p = { width, bytesPerRow, data };
  if (packedCache.size >= 4096) packedCache.clear();
  packedCache.set(key, p);
  return p;
}

/**
 * drawText straight into packed raster rows (GS v 0 data: `bytesPerRow` bytes a row, MSB leftmost), the
 * text's top-left at dot (0, 0); dots beyond the row or the last row are dropped. The same dots as
 * drawText onto a Bitmap and Bitmap.pack, at a fraction of the cost (whole bytes, cached glyph rows).
 */
export function drawTextPacked(
  out: Uint8Array,
  bytesPerRow: number,
  rows: number,
  text: string,
  style: TextStyle = {},
): void {
  const sw = style.scaleW ?? 1;
  const sh = style.scaleH ?? 1;
  let x = 0;
  for (const ch of text) {
    const wide = ch.codePointAt(0)! >= 0x80;
    const cellW = (wide ? 2 : 1) * CELL_W * sw;
    if (ch !== ' ') {
      const g = packedGlyph(ch, wide, sw, style.bold ?? false);
      const shift = x & 7;
      const first = x >> 3;
      for (let gy = 0; gy < CELL_H; gy++) {
        for (let k = 0; k < g.bytesPerRow; k++) {
          const b = g.data[gy * g.bytesPerRow + k]!;
          if (b === 0) continue;
          for (let r = gy * sh, rEnd = Math.min(rows, r + sh); r < rEnd; r++) {
            const at = r * bytesPerRow + first + k;
            if (first + k < bytesPerRow) out[at]! |= b >> shift;
            if (shift > 0 && first + k + 1 < bytesPerRow) out[at + 1]! |= (b << (8 - shift)) & 0xff;
          }
        }
      }
    }
    x += cellW;
    if (x >= bytesPerRow * 8) break;
  }
}
