// How long a job is on paper, in dot rows, read from its ESC/POS bytes without drawing it: the driver
// derives its time-outs from it (with the profile's print speed). Counts what moves the paper in the
// commands the encoder writes (Epson ESC/POS reference): LF (one line, 30 dots by default), ESC d n (n
// lines), ESC J n (n dots), GS v 0 (its rows, doubled in double-height modes), a GS ( k QR (its data
// length gives an upper bound of its size), GS ! (taller lines). Data inside commands is skipped, so
// an LF byte in an image is not a line.
import { qrVersionForBytes } from './qr.ts';

const LINE_DOTS = 30;

/** Dot rows the job feeds (an estimate from above: a QR is counted at 6 dots a module). */
export function jobDotRows(b: Uint8Array): number {
  let rows = 0;
  let height = 1;
  let qrModule = 6;
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c === 0x0a) {
      rows += LINE_DOTS + 24 * (height - 1);
      i++;
    } else if (c === 0x1b && i + 2 < b.length) {
      const f = b[i + 1]!;
      if (f === 0x2a && i + 4 < b.length) {
        // ESC * m nL nH: a bit image inside a text line (it feeds nothing itself); its data is skipped.
        const cols = b[i + 3]! | (b[i + 4]! << 8);
        i += 5 + cols * (b[i + 2]! >= 32 ? 3 : 1);
        continue;
      }
      if (f === 0x64) rows += b[i + 2]! * LINE_DOTS;
      else if (f === 0x4a) rows += b[i + 2]!;
      i += f === 0x40 ? 2 : f === 0x42 ? 4 : 3;
    } else if (c === 0x1d && i + 1 < b.length) {
      const f = b[i + 1]!;
      if (f === 0x76 && i + 7 < b.length) {
        const m = b[i + 3]! % 48;
        const x = b[i + 4]! | (b[i + 5]! << 8);
        const y = b[i + 6]! | (b[i + 7]! << 8);
        rows += y * (m & 2 ? 2 : 1);
        i += 8 + x * y;
      } else if (f === 0x28 && i + 4 < b.length) {
        const len = b[i + 3]! | (b[i + 4]! << 8);
        if (b[i + 2] === 0x6b && b[i + 5] === 49) {
          const fn = b[i + 6];
          if (fn === 67) qrModule = b[i + 7] ?? qrModule;
          if (fn === 80) rows += qrSide(len - 3) * qrModule;
        }
        i += 5 + len;
      } else if (f === 0x21 && i + 2 < b.length) {
        height = (b[i + 2]! & 0x0f) + 1;
        i += 3;
      } else i += f === 0x56 ? (b[i + 2] === 65 || b[i + 2] === 66 ? 4 : 3) : 3;
    } else i++;
  }
  return rows;
}

/** Modules per side of a byte-mode QR (error level M) holding `n` bytes (177, version 40, when none does). */
function qrSide(n: number): number {
  const v = qrVersionForBytes(Math.max(1, n), 'M');
  return v === undefined ? 177 : v * 4 + 17;
}
