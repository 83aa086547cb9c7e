// The printer's own QR encoder (printer/qr.ts) against two other sides: the qrcode package, which must
// build the very same symbol module for module when given the same mode, level and mask, at every
// version; and two independent decoders, zbarimg and jsQR, which must read back exactly the payload.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import QRCode from 'qrcode';
import { describe, expect, it } from 'vitest';
import { Bitmap } from '../../printer/bitmap.ts';
import { encodeQr, qrRaster, qrVersionForBytes, type QrEcLevel } from '../../printer/qr.ts';
import { decodeQrFromPng } from '../../printer/qr-decode.ts';
import { bitmapToPng } from '../../printer/virtual/png.ts';

/** Printable ASCII of a given length, varied so that every mask and block layout is exercised. */
const payload = (len: number, seed = 0): string =>
  Array.from({ length: len }, (_, i) => String.fromCharCode(33 + ((i * 7919 + len * 31 + seed) % 94))).join(
    '',
  );

/** The qrcode package's symbol of these bytes in byte mode with a given mask. */
function libSymbol(data: string, ecl: QrEcLevel, mask: number) {
  // The package's own types do not list segment arrays or maskPattern; both are documented options.
  return QRCode.create(
    [{ data, mode: 'byte' }] as unknown as string,
    {
      errorCorrectionLevel: ecl,
      maskPattern: mask,
    } as QRCode.QRCodeOptions & { maskPattern: number },
  );
}

function sameAsLib(data: string, ecl: QrEcLevel): void {
  const own = encodeQr(Buffer.from(data, 'latin1'), ecl)!;
  const lib = libSymbol(data, ecl, own.mask);
  expect(own.version, `${data.length} B at ${ecl}`).toBe(lib.version);
  expect(own.size).toBe(lib.modules.size);
  const libBits = Uint8Array.from(lib.modules.data as ArrayLike<number>, (v) => (v ? 1 : 0));
  expect(Buffer.from(own.modules).equals(Buffer.from(libBits)), `${data.length} B at ${ecl}`).toBe(true);
}

/**
 * The mask penalty as the standard words it (ISO/IEC 18004:2015 7.8.3, in the reading of the widely used
 * reference implementations), written plainly over a module grid: N1 each run of 5+ same-colour modules
 * in a row or column scores 3 + (length - 5); N2 each 2 × 2 same-colour block 3; N3 each 1:1:3:1:1
 * dark-light-dark-light-dark pattern with 4 light modules (or the edge) on one side 40; N4 10 for each
 * full 5 % the dark share is away from 50 %.
 */
function referencePenalty(g: boolean[][]): number {
  const n = g.length;
  let score = 0;
  const lines: boolean[][] = [];
  for (let i = 0; i < n; i++) {
    lines.push(g[i]!);
    lines.push(g.map((r) => r[i]!));
  }
  for (const line of lines) {
    // Runs, with the light border beyond both edges as part of the outer light runs.
    const runs: { dark: boolean; len: number }[] = [{ dark: false, len: n }];
    for (const c of line) {
      const last = runs[runs.length - 1]!;
      if (last.dark === c) last.len++;
      else runs.push({ dark: c, len: 1 });
    }
    if (runs[runs.length - 1]!.dark) runs.push({ dark: false, len: n });
    else runs[runs.length - 1]!.len += n;
    for (const [k, r] of runs.entries()) {
      const len = k === 0 ? r.len - n : k === runs.length - 1 ? r.len - n : r.len;
      if (len >= 5) score += 3 + (len - 5);
    }
    // Runs k .. k + 4 dark, light, dark (3 units), light, dark, with the light runs either side.
    for (let k = 1; k + 4 < runs.length; k++) {
      const [a, b, c, d, e] = [runs[k]!, runs[k + 1]!, runs[k + 2]!, runs[k + 3]!, runs[k + 4]!];
      if (!a.dark) continue;
      const u = a.len;
      if (b.len !== u || c.len !== 3 * u || d.len !== u || e.len !== u) continue;
      const before = runs[k - 1]!.len;
      const after = runs[k + 5]?.len ?? 0;
      if (before >= 4 * u && after >= u) score += 40;
      if (after >= 4 * u && before >= u) score += 40;
    }
  }
  let dark = 0;
  for (let y = 0; y < n; y++)
    for (let x = 0; x < n; x++) {
      if (g[y]![x]) dark++;
      if (x + 1 < n && y + 1 < n) {
        const c = g[y]![x];
        if (g[y]![x + 1] === c && g[y + 1]![x] === c && g[y + 1]![x + 1] === c) score += 3;
      }
    }
  score += (Math.ceil(Math.abs(dark * 20 - n * n * 10) / (n * n)) - 1) * 10;
  return score;
}

function symbolPng(data: string, ecl: QrEcLevel, dots = 3): Buffer {
  const q = encodeQr(Buffer.from(data, 'latin1'), ecl)!;
  const r = qrRaster(q, dots);
  const bm = Bitmap.unpack(r.bytesPerRow, r.rows, r.data);
  return bitmapToPng(bm, 4 * dots + 8);
}

describe('printer QR encoder', () => {
  it('every version at level M, and versions across L, Q, H, match the qrcode package module for module', () => {
    for (let v = 1; v <= 40; v++) {
      // The largest payload of version v: one byte more needs version v + 1.
      let n = 1;
      while (qrVersionForBytes(n + 1, 'M') !== undefined && qrVersionForBytes(n + 1, 'M')! <= v) n++;
      expect(qrVersionForBytes(n, 'M')).toBe(v);
      sameAsLib(payload(n, v), 'M');
    }
    for (const ecl of ['L', 'Q', 'H'] as const)
      for (const len of [1, 17, 60, 150, 400, 1000]) sameAsLib(payload(len), ecl);
  });

  it('chooses the mask with the lowest penalty as the standard scores it', () => {
    for (const [len, ecl] of [
      [20, 'M'],
      [120, 'M'],
      [170, 'M'],
      [300, 'L'],
      [50, 'H'],
      [700, 'Q'],
    ] as const) {
      const data = payload(len, 3);
      const scores = Array.from({ length: 8 }, (_, k) => {
        const lib = libSymbol(data, ecl, k);
        const s = lib.modules.size;
        const g = Array.from({ length: s }, (_, y) =>
          Array.from({ length: s }, (_, x) => Boolean(lib.modules.data[y * s + x])),
        );
        return referencePenalty(g);
      });
      const best = scores.indexOf(Math.min(...scores));
      expect(
        encodeQr(Buffer.from(data, 'latin1'), ecl)!.mask,
        `${len} B at ${ecl}: ${scores.join(' ')}`,
      ).toBe(best);
    }
  });

  it('refuses what fits no version and picks the smallest that holds the data', () => {
    expect(encodeQr(new Uint8Array(2332), 'M')).toBeUndefined();
    expect(encodeQr(new Uint8Array(2331), 'M')!.version).toBe(40);
    expect(encodeQr(new Uint8Array(14), 'M')!.version).toBe(1);
    expect(encodeQr(new Uint8Array(15), 'M')!.version).toBe(2);
  });

  it('reads back with zbarimg and jsQR to exactly the payload (bill URL, long URL, all levels)', () => {
    const cases: [string, QrEcLevel][] = [
      ['https://pay.finekiosk.example.cn/p/b1.' + payload(150).replace(/[^A-Za-z0-9]/g, 'x'), 'M'],
      ['https://hub.example.cn/p/b1.short', 'L'],
      [payload(300, 5), 'Q'],
      [payload(90, 9), 'H'],
    ];
    const dir = mkdtempSync(path.join(os.tmpdir(), 'qr-'));
    try {
      for (const [i, [data, ecl]] of cases.entries()) {
        const png = symbolPng(data, ecl);
        expect(decodeQrFromPng(png), `jsQR ${i}`).toBe(data);
        const f = path.join(dir, `${i}.png`);
        writeFileSync(f, png);
        const out = execFileSync('zbarimg', ['--quiet', '--raw', '-Sdisable', '-Sqrcode.enable', f], {
          encoding: 'latin1',
        });
        expect(out.replace(/\n$/, ''), `zbarimg ${i}`).toBe(data);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
