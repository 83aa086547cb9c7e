// Document layout building blocks. A document is a list of blocks; renderDocument lays them out for a
// profile's columns and encodes them. Bills, receipts and the test page are built from these, and so
// can other documents (an officer's penalty notice, a staff shift report).
import { Encoder, planQr, QR_QUIET_MODULES, type Align } from './encoder.ts';
import { fitToFont } from './fontmodel.ts';
import type { PrinterProfile } from './profiles.ts';
import { cleanText } from './text.ts';
import { columns as layColumns, labelValue, padColumns, textColumns, wrapColumns } from './width.ts';

export type Block =
  /** Wrapped text. `size` 2 is double width and height (half the columns). */
  | { kind: 'text'; text: string; align?: Align; bold?: boolean; size?: 1 | 2; indent?: number }
  /** A label on the left and its value right-aligned on the same line (or below when too long). */
  | { kind: 'pair'; label: string; value: string; bold?: boolean; size?: 1 | 2 }
  /** One table row; widths in columns, the cells are cut to fit. */
  | { kind: 'row'; cells: string[]; widths: number[]; aligns?: Align[]; bold?: boolean }
  /** A full-width line of a repeated character. */
  | { kind: 'rule'; char?: string }
  /** A QR code of ASCII data, centred. */
  | { kind: 'qr'; data: string }
  | { kind: 'feed'; lines: number }
  | { kind: 'beep' };

export const text = (t: string, o: Omit<Extract<Block, { kind: 'text' }>, 'kind' | 'text'> = {}): Block => ({
  kind: 'text',
  text: t,
  ...o,
});
export const pair = (label: string, value: string, o: { bold?: boolean; size?: 1 | 2 } = {}): Block => ({
  kind: 'pair',
  label,
  value,
  ...o,
});
export const row = (cells: string[], widths: number[], aligns?: Align[], bold?: boolean): Block => ({
  kind: 'row',
  cells,
  widths,
  ...(aligns ? { aligns } : {}),
  ...(bold ? { bold } : {}),
});
export const rule = (char = '-'): Block => ({ kind: 'rule', char });
export const qr = (data: string): Block => ({ kind: 'qr', data });
export const feed = (lines = 1): Block => ({ kind: 'feed', lines });
export const beep = (): Block => ({ kind: 'beep' });

export interface RenderOptions {
  /** Cut (or feed out) at the end; default true. */
  cut?: boolean;
  /** Beep at the end, to tell a citizen the paper is ready; default false. */
  beep?: boolean;
}

/** Lays out and encodes a document for a printer profile. */
export function renderDocument(
  blocks: readonly Block[],
  profile: PrinterProfile,
  opts: RenderOptions = {},
): Uint8Array {
  const e = new Encoder(profile).init();
  layoutInto(e, blocks);
  if (opts.cut ?? true) e.cut();
  if (opts.beep) e.beep();
  return e.bytes();
}

/** Line feed pitch the layout assumes (ESC 2 default: 30 dots). */
const LINE_DOTS = 30;

/**
 * Appends the blocks to an encoder (for documents that add their own commands around them). This is the
 * one place where text enters a document: every string is cleaned of control characters and emoji
 * (text.ts) and fitted to the printer's font (fontmodel.ts) before it is measured, wrapped and encoded,
 * so what is counted is what is sent and no text can carry a printer command.
 */
export function layoutInto(e: Encoder, blocks: readonly Block[]): void {
  const cols = e.profile.columns;
  const enc = e.profile.fontEncoding;
  // Every block is one paragraph that the layout wraps: a line break inside a field (a place or a name holding
  // LF, CR or U+2028) becomes a space, so it can never start a line of its own, such as a made-up amount, nor
  // print as a missing-glyph box. No document breaks lines inside a block; it adds blocks.
  const t = (s: string): string => fitToFont(cleanText(s).replace(/\n/g, ' '), enc);
  for (const raw of blocks) {
    const b = textOf(raw, t);
    switch (b.kind) {
      case 'text': {
        const indent = b.indent ?? 0;
        const h = b.size ?? 1;
        // A double-size title that would wrap on narrow paper prints double height only.
        const fitsSingle = textColumns(b.text) <= cols && textColumns(b.text) * 2 > cols;
        const w = h === 2 && fitsSingle ? 1 : h;
        e.align(b.align ?? 'left')
          .bold(b.bold ?? false)
          .size(w, h);
        for (const l of wrapColumns(b.text, Math.floor(cols / w) - indent)) e.line(' '.repeat(indent) + l);
        e.size(1);
        break;
      }
      case 'pair': {
        const size = b.size ?? 1;
        e.align('left')
          .bold(b.bold ?? false)
          .size(size);
        for (const l of labelValue(b.label, b.value, Math.floor(cols / size))) e.line(l);
        e.size(1);
        break;
      }
      case 'row':
        e.align('left').bold(b.bold ?? false);
        e.line(layColumns(b.cells, b.widths, b.aligns));
        break;
      case 'rule':
        e.align('left').bold(false);
        e.line((b.char ?? '-').repeat(Math.floor(cols / textColumns(b.char ?? '-'))));
        break;
      case 'qr': {
        // Quiet zone above and below: 4 modules of blank paper, in whole lines.
        const plan = planQr(b.data, e.profile);
        const quiet = plan.ok ? Math.ceil((QR_QUIET_MODULES * plan.value.moduleDots) / LINE_DOTS) : 1;
        e.align('left').bold(false);
        for (let i = 0; i < quiet; i++) e.line();
        e.align('center').qr(b.data);
        for (let i = 0; i < quiet; i++) e.line();
        break;
      }
      case 'feed':
        e.feed(b.lines);
        break;
      case 'beep':
        e.beep();
        break;
    }
  }
  e.align('left').bold(false);
}

/** The block with its text cleaned and fitted (QR data is checked ASCII, never text). */
function textOf(b: Block, t: (s: string) => string): Block {
  switch (b.kind) {
    case 'text':
      return { ...b, text: t(b.text) };
    case 'pair':
      return { ...b, label: t(b.label), value: t(b.value) };
    case 'row':
      return { ...b, cells: b.cells.map(t) };
    case 'rule':
      return { ...b, char: t(b.char ?? '-') || '-' };
    default:
      return b;
  }
}

export { padColumns, textColumns, wrapColumns };
