// QR Code symbols in byte mode (ISO/IEC 18004:2015), built for the printer: one encode per bill, in well
// under a millisecond. The general-purpose library spent most of a bill's encode time choosing
// segments (a shortest-path search over character modes) and scoring masks on arrays of arrays; a bill
// URL is printable ASCII, which byte mode carries at a version no larger than any mixed segmentation
// would need for such text, and the mask scoring here works on one flat byte array.
//
// Structure follows the standard: data bits (mode 0100, count, bytes, terminator, pad 0xEC 0x11),
// Reed-Solomon error correction per block over GF(256) with the polynomial 0x11D, interleaving, function
// patterns (finders, separators, timing, alignment, format and version information), the zig-zag
// placement, and the mask with the lowest penalty (N1 runs of 5+, N2 2×2 blocks, N3 finder-like
// 1:1:3:1:1 runs with 4 light modules beside them, N4 dark balance). The per-version block tables
// are the standard's Table 9; tests/printer/qr.test.ts checks them and the symbols, module for module,
// against the qrcode package built with the same mask, and decodes them with zbarimg and jsQR.

export type QrEcLevel = 'L' | 'M' | 'Q' | 'H';

/** A QR symbol: `size` × `size` modules, row-major, 1 = dark; no quiet zone. */
export interface QrSymbol {
  version: number;
  size: number;
  mask: number;
  modules: Uint8Array;
}

// Error correction codewords per block and number of blocks, by level and version (index 0 unused).
// prettier-ignore
const ECC_PER_BLOCK: Record<QrEcLevel, readonly number[]> = {
  L: [0, 7, 10, 15, 20, 26, 18, 20, 24, 30, 18, 20, 24, 26, 30, 22, 24, 28, 30, 28, 28, 28, 28, 30, 30, 26, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
  M: [0, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26, 26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28],
  Q: [0, 13, 22, 18, 26, 18, 24, 18, 22, 20, 24, 28, 26, 24, 20, 30, 24, 28, 28, 26, 30, 28, 30, 30, 30, 30, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
  H: [0, 17, 28, 22, 16, 22, 28, 26, 26, 24, 28, 24, 28, 22, 24, 24, 30, 28, 28, 26, 28, 30, 24, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
};
// prettier-ignore
const BLOCKS: Record<QrEcLevel, readonly number[]> = {
  L: [0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 4, 6, 6, 6, 6, 7, 8, 8, 9, 9, 10, 12, 12, 12, 13, 14, 15, 16, 17, 18, 19, 19, 20, 21, 22, 24, 25],
  M: [0, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16, 17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49],
  Q: [0, 1, 1, 2, 2, 4, 4, 6, 6, 8, 8, 8, 10, 12, 16, 12, 17, 16, 18, 21, 20, 23, 23, 25, 27, 29, 34, 34, 35, 38, 40, 43, 45, 48, 51, 53, 56, 59, 62, 65, 68],
  H: [0, 1, 1, 2, 4, 4, 4, 5, 6, 8, 8, 11, 11, 16, 16, 18, 16, 19, 21, 25, 25, 25, 34, 30, 32, 35, 37, 40, 42, 45, 48, 51, 54, 57, 60, 63, 66, 70, 74, 77, 81],
};
/** Format information's two error-level bits. */
const EC_FORMAT_BITS: Record<QrEcLevel, number> = { L: 1, M: 0, Q: 3, H: 2 };

/** Modules a version has for data and error correction (all but the function patterns), in bits. */
function rawDataModules(ver: number): number {
  let r = (16 * ver + 128) * ver + 64;
  if (ver >= 2) {
    const align = Math.floor(ver / 7) + 2;
    r -= (25 * align - 10) * align - 55;
    if (ver >= 7) r -= 36;
  }
  return r;
}

/** Data codewords (bytes) of a version at an error level. */
export function qrDataCodewords(ver: number, ecl: QrEcLevel): number {
  return Math.floor(rawDataModules(ver) / 8) - ECC_PER_BLOCK[ecl][ver]! * BLOCKS[ecl][ver]!;
}

/** The total codewords and the block layout of a version (for the tests' comparison with Table 9). */
export function qrBlockLayout(
  ver: number,
  ecl: QrEcLevel,
): { total: number; blocks: number; eccPerBlock: number } {
  return {
    total: Math.floor(rawDataModules(ver) / 8),
    blocks: BLOCKS[ecl][ver]!,
    eccPerBlock: ECC_PER_BLOCK[ecl][ver]!,
  };
}

/** Smallest version whose byte-mode capacity holds `n` bytes at this level; undefined when none (n > 2,953 at L). */
export function qrVersionForBytes(n: number, ecl: QrEcLevel = 'M'): number | undefined {
  for (let v = 1; v <= 40; v++) {
    const bits = 4 + (v < 10 ? 8 : 16) + 8 * n;
    if (bits <= qrDataCodewords(v, ecl) * 8) return v;
  }
  return undefined;
}

// GF(256) with the polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11D), generator 2.
const EXP = new Uint8Array(512);
const LOG = new Uint8Array(256);
{
  let x = 1;
  for (let i = 0; i < 255; i++) {
    EXP[i] = x;
    LOG[x] = i;
    x <<= 1;
    if (x & 0x100) x ^= 0x11d;
  }
  for (let i = 255; i < 512; i++) EXP[i] = EXP[i - 255]!;
}
const gfMul = (a: number, b: number): number => (a === 0 || b === 0 ? 0 : EXP[LOG[a]! + LOG[b]!]!);

const divisors = new Map<number, Uint8Array>();
/** Generator polynomial of a degree (coefficients from the highest power down, leading 1 dropped). */
function rsDivisor(degree: number): Uint8Array {
  let d = divisors.get(degree);
  if (d) return d;
  d = new Uint8Array(degree);
  d[degree - 1] = 1;
  let root = 1;
  for (let i = 0; i < degree; i++) {
    for (let j = 0; j < degree; j++) {
      d[j] = gfMul(d[j]!, root);
      if (j + 1 < degree) d[j] = d[j]! ^ d[j + 1]!;
    }
    root = gfMul(root, 2);
  }
  divisors.set(degree, d);
  return d;
}

function rsRemainder(data: Uint8Array, from: number, to: number, divisor: Uint8Array): Uint8Array {
  const n = divisor.length;
  const r = new Uint8Array(n);
  for (let k = from; k < to; k++) {
    const factor = data[k]! ^ r[0]!;
    r.copyWithin(0, 1);
    r[n - 1] = 0;
    if (factor === 0) continue;
    const lf = LOG[factor]!;
    for (let i = 0; i < n; i++) {
      const c = divisor[i]!;
      if (c !== 0) r[i] = r[i]! ^ EXP[LOG[c]! + lf]!;
    }
  }
  return r;
}

/** Alignment pattern centres of a version (on both axes). */
function alignmentPositions(ver: number): number[] {
  if (ver === 1) return [];
  const count = Math.floor(ver / 7) + 2;
  const step = Math.floor((ver * 8 + count * 3 + 5) / (count * 4 - 4)) * 2;
  const out = [6];
  for (let pos = ver * 4 + 10; out.length < count; pos -= step) out.splice(1, 0, pos);
  return out;
}

/**
 * The QR symbol of these bytes in byte mode at this error level, the smallest version that holds them
 * (at least `minVersion`), with the lowest-penalty mask unless one is given. Undefined when they do not
 * fit version 40.
 */
export function encodeQr(
  data: Uint8Array,
  ecl: QrEcLevel = 'M',
  opts: { mask?: number; minVersion?: number } = {},
): QrSymbol | undefined {
  let ver = qrVersionForBytes(data.length, ecl);
  if (ver === undefined) return undefined;
  ver = Math.max(ver, opts.minVersion ?? 1);
  const size = ver * 4 + 17;

  // Data codewords: mode, count, bytes, terminator, pad bytes.
  const cap = qrDataCodewords(ver, ecl);
  const cw = new Uint8Array(Math.floor(rawDataModules(ver) / 8));
  let bit = 0;
  const put = (val: number, len: number): void => {
    for (let i = len - 1; i >= 0; i--, bit++) if ((val >>> i) & 1) cw[bit >>> 3]! |= 0x80 >>> (bit & 7);
  };
  put(0b0100, 4);
  put(data.length, ver < 10 ? 8 : 16);
  for (let i = 0; i < data.length; i++) put(data[i]!, 8);
  bit += Math.min(4, cap * 8 - bit);
  bit = (bit + 7) & ~7;
  for (let pad = 0xec; bit < cap * 8; pad ^= 0xec ^ 0x11) put(pad, 8);

  // Error correction per block, then interleaved: data columns, then ECC columns.
  const blocks = BLOCKS[ecl][ver]!;
  const eccLen = ECC_PER_BLOCK[ecl][ver]!;
  const raw = cw.length;
  const shortBlocks = blocks - (raw % blocks);
  const shortLen = Math.floor(raw / blocks) - eccLen; // data bytes in a short block
  const div = rsDivisor(eccLen);
  const starts: number[] = [];
  const eccs: Uint8Array[] = [];
  for (let b = 0, k = 0; b < blocks; b++) {
    const len = shortLen + (b < shortBlocks ? 0 : 1);
    starts.push(k);
    eccs.push(rsRemainder(cw, k, k + len, div));
    k += len;
  }
  const out = new Uint8Array(raw);
  let o = 0;
  for (let i = 0; i <= shortLen; i++) {
    for (let b = 0; b < blocks; b++) {
      if (i === shortLen && b < shortBlocks) continue;
      out[o++] = cw[starts[b]! + i]!;
    }
  }
  for (let i = 0; i < eccLen; i++) for (let b = 0; b < blocks; b++) out[o++] = eccs[b]![i]!;

  // Function patterns.
  const m = new Uint8Array(size * size);
  const fn = new Uint8Array(size * size);
  const setF = (x: number, y: number, dark: boolean): void => {
    m[y * size + x] = dark ? 1 : 0;
    fn[y * size + x] = 1;
  };
  for (let i = 0; i < size; i++) {
    setF(6, i, i % 2 === 0);
    setF(i, 6, i % 2 === 0);
  }
  for (const [cx, cy] of [
    [3, 3],
    [size - 4, 3],
    [3, size - 4],
  ] as const) {
    for (let dy = -4; dy <= 4; dy++) {
      for (let dx = -4; dx <= 4; dx++) {
        const x = cx + dx;
        const y = cy + dy;
        if (x < 0 || y < 0 || x >= size || y >= size) continue;
        const d = Math.max(Math.abs(dx), Math.abs(dy));
        setF(x, y, d !== 2 && d !== 4);
      }
    }
  }
  const al = alignmentPositions(ver);
  for (let i = 0; i < al.length; i++) {
    for (let j = 0; j < al.length; j++) {
      if ((i === 0 && j === 0) || (i === 0 && j === al.length - 1) || (i === al.length - 1 && j === 0))
        continue;
      for (let dy = -2; dy <= 2; dy++)
        for (let dx = -2; dx <= 2; dx++)
          setF(al[i]! + dx, al[j]! + dy, Math.max(Math.abs(dx), Math.abs(dy)) !== 1);
    }
  }
  const drawFormat = (mask: number): void => {
    drawFormatInto(m, size, ecl, mask);
    for (const [x, y] of formatCells(size)) fn[y * size + x] = 1;
    fn[(size - 8) * size + 8] = 1;
  };
  drawFormat(0);
  if (ver >= 7) {
    let rem = ver;
    for (let i = 0; i < 12; i++) rem = (rem << 1) ^ ((rem >>> 11) * 0x1f25);
    const bits = (ver << 12) | rem;
    for (let i = 0; i < 18; i++) {
      const dark = ((bits >>> i) & 1) !== 0;
      const a = size - 11 + (i % 3);
      const b = Math.floor(i / 3);
      setF(a, b, dark);
      setF(b, a, dark);
    }
  }

  // Codewords in the zig-zag, two columns at a time from the right, skipping the vertical timing column.
  let i = 0;
  const total = out.length * 8;
  for (let right = size - 1; right >= 1; right -= 2) {
    if (right === 6) right = 5;
    const upward = ((right + 1) & 2) === 0;
    for (let v = 0; v < size; v++) {
      const y = upward ? size - 1 - v : v;
      for (let j = 0; j < 2; j++) {
        const idx = y * size + right - j;
        if (fn[idx] || i >= total) continue;
        m[idx] = (out[i >>> 3]! >>> (7 - (i & 7))) & 1;
        i++;
      }
    }
  }

  // The masks restricted to the non-function modules of this version, as XOR patterns.
  const masks = maskPatterns(ver, size, fn);
  let mask = opts.mask;
  if (mask === undefined) {
    let best = Infinity;
    const trial = new Uint8Array(size * size);
    for (let k = 0; k < 8; k++) {
      const pat = masks[k]!;
      for (let j = 0; j < trial.length; j++) trial[j] = m[j]! ^ pat[j]!;
      drawFormatInto(trial, size, ecl, k);
      const p = penalty(trial, size);
      if (p < best) {
        best = p;
        mask = k;
      }
    }
  }
  const pat = masks[mask!]!;
  for (let j = 0; j < m.length; j++) m[j] = m[j]! ^ pat[j]!;
  drawFormat(mask!);
  return { version: ver, size, mask: mask!, modules: m };
}

/** The cells of both copies of the format information and the dark module, in bit order. */
function formatCells(size: number): [number, number][] {
  const c: [number, number][] = [];
  for (let i = 0; i <= 5; i++) c.push([8, i]);
  c.push([8, 7], [8, 8], [7, 8]);
  for (let i = 9; i < 15; i++) c.push([14 - i, 8]);
  for (let i = 0; i < 8; i++) c.push([size - 1 - i, 8]);
  for (let i = 8; i < 15; i++) c.push([8, size - 15 + i]);
  return c;
}

/** Writes the format information (error level and mask, BCH-coded) and the dark module into `m`. */
function drawFormatInto(m: Uint8Array, size: number, ecl: QrEcLevel, mask: number): void {
  const d = (EC_FORMAT_BITS[ecl] << 3) | mask;
  let rem = d;
  for (let i = 0; i < 10; i++) rem = (rem << 1) ^ ((rem >>> 9) * 0x537);
  const bits = ((d << 10) | rem) ^ 0x5412;
  const cells = formatCells(size);
  for (let i = 0; i < cells.length; i++) {
    const [x, y] = cells[i]!;
    m[y * size + x] = (bits >>> (i < 15 ? i : i - 15)) & 1;
  }
  m[(size - 8) * size + 8] = 1;
}

const maskCache = new Map<number, Uint8Array[]>();
/** The eight masks of a version as XOR patterns over its non-function modules (cached per version). */
function maskPatterns(ver: number, size: number, fn: Uint8Array): Uint8Array[] {
  let pats = maskCache.get(ver);
  if (pats) return pats;
  pats = MASKS.map((cond) => {
    const p = new Uint8Array(size * size);
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++) if (!fn[y * size + x] && cond(x, y)) p[y * size + x] = 1;
    return p;
  });
  maskCache.set(ver, pats);
  return pats;
}

/** The eight data masks: a module is inverted where its mask's condition holds (x column, y row). */
const MASKS: readonly ((x: number, y: number) => boolean)[] = [
  (x, y) => (x + y) % 2 === 0,
  (_x, y) => y % 2 === 0,
  (x) => x % 3 === 0,
  (x, y) => (x + y) % 3 === 0,
  (x, y) => (Math.floor(x / 3) + Math.floor(y / 2)) % 2 === 0,
  (x, y) => ((x * y) % 2) + ((x * y) % 3) === 0,
  (x, y) => (((x * y) % 2) + ((x * y) % 3)) % 2 === 0,
  (x, y) => (((x + y) % 2) + ((x * y) % 3)) % 2 === 0,
];

/** The standard's mask penalty (N1 = 3, N2 = 3, N3 = 40, N4 = 10) of a symbol. */
function penalty(m: Uint8Array, size: number): number {
  let score = 0;
  // Rows (pass 0), then columns (pass 1). The last seven run lengths are h0 (newest) .. h6; a
  // finder-like pattern is light h6, dark h5, light h4, dark 3×h3, light h2, dark h1, light h0 with
  // 1:1:3:1:1 core and at least 4 light modules on one side (the border beyond the edge counts as light).
  for (let pass = 0; pass < 2; pass++) {
    const lineStep = pass === 0 ? size : 1;
    const step = pass === 0 ? 1 : size;
    for (let a = 0; a < size; a++) {
      let h0 = 0, h1 = 0, h2 = 0, h3 = 0, h4 = 0, h5 = 0; // prettier-ignore
      let h6: number;
      let color = 0;
      let run = 0;
      for (let b = 0, idx = a * lineStep; b < size; b++, idx += step) {
        const c = m[idx]!;
        if (c === color) {
          run++;
          if (run === 5) score += 3;
          else if (run > 5) score++;
          continue;
        }
        // A run ended: push it into the history (the first run gets the light border before it).
        h6 = h5;
        h5 = h4;
        h4 = h3;
        h3 = h2;
        h2 = h1;
        h1 = h0;
        h0 = h1 === 0 ? run + size : run;
        if (color === 0) score += finderLike(h0, h1, h2, h3, h4, h5, h6) * 40;
        color = c;
        run = 1;
      }
      // End of the line: a dark run ends, then the light border beyond the edge joins the last light run.
      if (color === 1) {
        const last = h0 === 0 ? run + size : run;
        h6 = h4;
        h5 = h3;
        h4 = h2;
        h3 = h1;
        h2 = h0;
        h1 = last;
        h0 = size;
      } else {
        h6 = h5;
        h5 = h4;
        h4 = h3;
        h3 = h2;
        h2 = h1;
        h1 = h0;
        h0 = (h1 === 0 ? size : 0) + run + size;
      }
      score += finderLike(h0, h1, h2, h3, h4, h5, h6) * 40;
    }
  }
  let dark = 0;
  for (let y = 0; y < size; y++) {
    const r = y * size;
    for (let x = 0; x < size; x++) dark += m[r + x]!;
    if (y === size - 1) break;
    const r2 = r + size;
    for (let x = 0; x < size - 1; x++) {
      const c = m[r + x]!;
      if (c === m[r + x + 1] && c === m[r2 + x] && c === m[r2 + x + 1]) score += 3;
    }
  }
  const totalModules = size * size;
  score += (Math.ceil(Math.abs(dark * 20 - totalModules * 10) / totalModules) - 1) * 10;
  return score;
}

/** 0, 1 or 2 finder-like patterns ending at the newest light run h0 (see penalty). */
function finderLike(
  h0: number,
  h1: number,
  h2: number,
  h3: number,
  h4: number,
  h5: number,
  h6: number,
): number {
  const n = h1;
  if (n === 0 || h2 !== n || h3 !== n * 3 || h4 !== n || h5 !== n) return 0;
  return (h0 >= n * 4 && h6 >= n ? 1 : 0) + (h6 >= n * 4 && h0 >= n ? 1 : 0);
}

/**
 * The symbol as ESC/POS raster rows (GS v 0 data): `dots` dots per module, no quiet zone, 8 dots a
 * byte with the leftmost dot in the most significant bit, 1 = black.
 */
export function qrRaster(q: QrSymbol, dots: number): { bytesPerRow: number; rows: number; data: Uint8Array } {
  const width = q.size * dots;
  const bytesPerRow = Math.ceil(width / 8);
  const rows = q.size * dots;
  const data = new Uint8Array(bytesPerRow * rows);
  for (let r = 0; r < q.size; r++) {
    const row = r * dots * bytesPerRow;
    for (let c = 0; c < q.size; c++) {
      if (!q.modules[r * q.size + c]) continue;
      for (let x = c * dots, end = x + dots; x < end; x++) data[row + (x >>> 3)]! |= 0x80 >>> (x & 7);
    }
    for (let k = 1; k < dots; k++) data.copyWithin(row + k * bytesPerRow, row, row + bytesPerRow);
  }
  return { bytesPerRow, rows, data };
}
