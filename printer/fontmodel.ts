// What a printer's font can print, by its encoding (profiles.ts fontEncoding), and text fitted to it.
// GB18030 is the superset: its 2-byte codes are GBK, and GBK's rows with lead and trail bytes in
// 0xA1..0xFE are GB2312 (GB 2312-1980 rows 1-9 symbols, 16-87 hanzi). A character outside the font is
// mapped to one the font has (half-width ¥ → full-width ￥ ...), else printed as a raster image drawn with
// the bundled font (the encoder sends such a line as GS v 0), else as □. Widths are counted on the
// fitted text, so the layout counts what is really sent.
import iconv from 'iconv-lite';
import { bundledFontHas } from './font.ts';
import type { FontEncoding } from './profiles.ts';

// Equivalents a Chinese font has, for characters it lacks. Applied only when the font lacks the original.
const MAP: Record<string, string> = {
  '¥': '￥',
  '•': '·',
  '‧': '·',
  '∙': '·',
  '½': '1/2',
  '¼': '1/4',
  '¾': '3/4',
  '–': '-',
  '‐': '-',
  '‑': '-',
  '−': '-',
  '€': 'EUR',
  '£': '￡',
  '¢': '￠',
  '\u00a0': ' ',
  '‹': '<',
  '›': '>',
  '«': '《',
  '»': '》',
  '…': '...',
  '′': "'",
  '″': '"',
};

const cache: Record<FontEncoding, Map<string, boolean>> = {
  gb18030: new Map(),
  gbk: new Map(),
  gb2312: new Map(),
  none: new Map(),
};

/** True when a printer font of this encoding prints the character (printable ASCII always). */
export function fontHas(ch: string, enc: FontEncoding): boolean {
  const cp = ch.codePointAt(0)!;
  if (cp >= 0x20 && cp < 0x7f) return true;
  if (enc === 'none' || cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return false;
  const c = cache[enc];
  let has = c.get(ch);
  if (has === undefined) {
    const b = iconv.encode(ch, 'gb18030');
    if (enc === 'gb18030') has = b.length >= 2 && !(b.length === 2 && b[0] === 0x3f);
    else if (b.length !== 2) has = false;
    else if (enc === 'gbk') has = b[0]! >= 0x81 && b[1]! >= 0x40;
    else {
      // GB2312: rows 1-9 (lead A1..A9) and 16-87 (lead B0..F7), trail A1..FE.
      const lead = b[0]!;
      has =
        ((lead >= 0xa1 && lead <= 0xa9) || (lead >= 0xb0 && lead <= 0xf7)) && b[1]! >= 0xa1 && b[1]! <= 0xfe;
    }
    if (c.size < 8192) c.set(ch, has);
  }
  return has;
}

function allIn(s: string, enc: FontEncoding): boolean {
  for (const ch of s) if (!fontHas(ch, enc)) return false;
  return true;
}

/**
 * The text as it will be printed with a font of this encoding: characters the font lacks are mapped to
 * ones it has where an equivalent exists; the rest stay (to be drawn with the bundled font as a raster
 * image) when the bundled font draws them, else become □ (or ? where even □ is not in the font).
 * Expects cleaned text (text.ts cleanText).
 */
export function fitToFont(text: string, enc: FontEncoding): string {
  let plain = true;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) >= 0x7f) {
      plain = false;
      break;
    }
  }
  if (plain) return text;
  let out = '';
  for (const ch of text) {
    if (fontHas(ch, enc)) out += ch;
    else if (MAP[ch] !== undefined && (enc === 'none' || allIn(MAP[ch], enc))) out += MAP[ch];
    else if (bundledFontHas(ch)) out += ch;
    else out += fontHas('□', enc) || enc === 'none' ? '□' : '?';
  }
  return out;
}

/** True when a line (fitted text) has a character the font lacks: the encoder sends it as raster. */
export function needsRaster(text: string, enc: FontEncoding): boolean {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) >= 0x7f) return !allIn(text, enc);
  }
  return false;
}
