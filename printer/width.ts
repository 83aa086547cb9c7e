// Column arithmetic for thermal paper: an ASCII character takes one column (12 dots in font A), a CJK or
// other wide character two (24 dots). 58 mm paper holds 32 columns (384 dots), 80 mm 48 (576 dots).

/** True for characters a printer's Chinese font prints full width (two columns). */
export function isWide(cp: number): boolean {
  if (cp < 0x1100) return false;
  return (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0x303e) ||
    (cp >= 0x3041 && cp <= 0x33ff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0xa000 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  );
}

/** Also true for the general punctuation GB18030 fonts print full width (“ ” — …). */
function charColumns(ch: string): number {
  const cp = ch.codePointAt(0)!;
  if (cp < 0x80) return 1;
  if (isWide(cp)) return 2;
  // Non-ASCII outside the wide ranges (·, —, “) is printed from the Chinese font: full width as well.
  return 2;
}

/** Columns a string takes on paper. */
export function textColumns(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0xdc00 || c > 0xdfff) n += 2; // a low surrogate was counted with its high half
  }
  return n;
}

/** Cuts text to at most `cols` columns (never splitting a wide character). */
export function truncateColumns(text: string, cols: number): string {
  let n = 0;
  let out = '';
  for (const ch of text) {
    const w = charColumns(ch);
    if (n + w > cols) break;
    n += w;
    out += ch;
  }
  return out;
}

/**
 * Wraps text to lines of at most `cols` columns. Latin words are kept whole where they fit; CJK text may
 * break between any two characters, but not before closing punctuation (a small kinsoku rule).
 */
export function wrapColumns(text: string, cols: number): string[] {
  if (cols < 2) throw new RangeError('cols must be at least 2');
  // Most lines fit as they are.
  if (!text.includes('\n') && textColumns(text) <= cols) return [text.replace(/\s+$/u, '')];
  const lines: string[] = [];
  for (const para of text.split('\n')) {
    // Tokens: runs of ASCII non-space, single spaces, or single non-ASCII characters.
    const tokens = para.match(/[\x21-\x7e]+|\s|[^\x20-\x7e]/gu) ?? [];
    let line = '';
    let width = 0;
    const push = (): void => {
      lines.push(line.replace(/\s+$/u, ''));
      line = '';
      width = 0;
    };
    for (const tok of tokens) {
      let w = textColumns(tok);
      if (width + w <= cols) {
        line += tok;
        width += w;
        continue;
      }
      if (/^\s$/u.test(tok)) {
        push();
        continue;
      }
      const lastChar = [...line].pop();
      if (NO_LINE_START.has(tok) && lastChar !== undefined && textColumns(lastChar + tok) <= cols) {
        // Move the last character down with the closing punctuation.
        const chars = [...line];
        const last = chars.pop()!;
        line = chars.join('');
        push();
        line = last + tok;
        width = textColumns(line);
        continue;
      }
      if (width > 0) push();
      let rest = tok;
      while ((w = textColumns(rest)) > cols) {
        const head = truncateColumns(rest, cols);
        lines.push(head);
        rest = rest.slice(head.length);
      }
      line = rest;
      width = w;
    }
    if (line.length > 0 || lines.length === 0 || para.length === 0) push();
  }
  return lines;
}

const NO_LINE_START = new Set([...'，。、；：？！）》」』】,.;:?!)']);

/** Pads to exactly `cols` columns: left, right or centered. Longer text is truncated. */
export function padColumns(text: string, cols: number, align: 'left' | 'right' | 'center' = 'left'): string {
  const t = truncateColumns(text, cols);
  const gap = cols - textColumns(t);
  if (align === 'right') return ' '.repeat(gap) + t;
  if (align === 'center') return ' '.repeat(Math.floor(gap / 2)) + t + ' '.repeat(Math.ceil(gap / 2));
  return t + ' '.repeat(gap);
}

/**
 * A label on the left and a value on the right of one line; when both do not fit, the value goes on
 * its own right-aligned line(s).
 */
export function labelValue(label: string, value: string, cols: number): string[] {
  const lw = textColumns(label);
  const vw = textColumns(value);
  if (lw + 1 + vw <= cols) return [label + ' '.repeat(cols - lw - vw) + value];
  const out = wrapColumns(label, cols);
  for (const l of wrapColumns(value, cols)) out.push(padColumns(l, cols, 'right').replace(/^\s+$/u, ''));
  return out;
}

/** Lays out table rows in columns of given widths (the last column takes the rest), one line per row. */
export function columns(
  cells: string[],
  widths: number[],
  aligns: ('left' | 'right' | 'center')[] = [],
): string {
  return cells
    .map((c, i) => padColumns(c, widths[i] ?? textColumns(c), aligns[i] ?? 'left'))
    .join('')
    .replace(/\s+$/u, '');
}
