// The virtual printer bounds what one job may cost: a flood of line feeds or random bytes ends the job with
// a clear message (page too long, job too large) and memory stays that of one page; commands it does not
// draw are consumed whole and named; ESC ! (print size) is drawn. A file written by another program's
// encoder (@point-of-sale/receipt-printer-encoder, not ours) renders, and says what it did not draw.
import ReceiptPrinterEncoder from '@point-of-sale/receipt-printer-encoder';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, interpretBytes } from '../../printer/virtual/interpreter.ts';

/** A seeded byte stream (xorshift32): the same "random" bytes on every run. */
function randomBytes(n: number, seed = 0x9e3779b9): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

describe('virtual printer bounds', () => {
  it('4 MiB of line feeds: the page ends at the height limit with a clear message, memory of one page', () => {
    const before = process.memoryUsage().rss;
    const pages = interpretBytes(new Uint8Array(4 << 20).fill(0x0a), 576);
    expect(pages).toHaveLength(1);
    expect(pages[0]!.ended).toMatch(/job ended/);
    expect(pages[0]!.bitmap.height).toBeLessThanOrEqual(DEFAULT_LIMITS.maxPageDots);
    // One page of 576 × 16,000 one-byte dots is 9 MB; the old interpreter grew by gigabytes.
    expect(process.memoryUsage().rss - before).toBeLessThan(256 << 20);
  });

  it('100 KB of random bytes: interpreted or ended with a message, never unbounded', () => {
    const before = process.memoryUsage().rss;
    const pages = interpretBytes(randomBytes(100_000), 576);
    for (const p of pages) expect(p.bitmap.height).toBeLessThanOrEqual(DEFAULT_LIMITS.maxPageDots);
    expect(pages.flatMap((p) => p.unknown).length).toBeGreaterThan(0);
    expect(process.memoryUsage().rss - before).toBeLessThan(256 << 20);
  });

  it('a job over the byte limit ends with a message saying so', () => {
    const big = new Uint8Array(DEFAULT_LIMITS.maxJobBytes + 1).fill(0x41);
    const pages = interpretBytes(big, 576);
    expect(pages.at(-1)!.ended).toMatch(/more than \d+ bytes/);
  });

  it('ESC ! double width and height is drawn larger; GS k barcodes never print as stray text', () => {
    const plain = interpretBytes(Buffer.from('\x1b@AB\n\x1dV\x00', 'latin1'), 576)[0]!;
    const big = interpretBytes(Buffer.from('\x1b@\x1b!\x30AB\n\x1dV\x00', 'latin1'), 576)[0]!;
    expect(big.lines).toEqual(['AB']);
    expect(big.bitmap.height).toBeGreaterThan(plain.bitmap.height);
    const ink = (p: typeof plain) => p.bitmap.data.reduce((a, v) => a + v, 0);
    expect(ink(big)).toBeGreaterThan(ink(plain) * 3);
    const bar = interpretBytes(
      Buffer.from('\x1b@\x1dh\x50\x1dk\x02590123412345\x00X\n\x1dV\x00', 'latin1'),
    )[0]!;
    expect(bar.lines).toEqual(['X']);
    expect(bar.unknown).toContain('GS k barcode: not rendered');
  });

  it('a receipt written by another encoder renders its text and QR and names what it does not draw', () => {
    const enc = new ReceiptPrinterEncoder({ language: 'esc-pos', columns: 48 });
    const bytes = enc
      .initialize()
      .text('Receipt 12')
      .newline()
      .bold(true)
      .text('TOTAL 200.00')
      .bold(false)
      .newline()
      .size(2, 2)
      .text('BIG')
      .size(1, 1)
      .newline()
      .barcode('3130630574613', 'ean13', 60)
      .newline()
      .qrcode('https://pay.example/b/12')
      .newline()
      .cut()
      .encode();
    const pages = interpretBytes(bytes, 576);
    expect(pages.length).toBeGreaterThanOrEqual(1);
    const p = pages[0]!;
    expect(p.ended).toBeUndefined();
    expect(p.lines).toEqual(expect.arrayContaining(['Receipt 12', 'TOTAL 200.00', 'BIG']));
    expect(p.qrData).toEqual(['https://pay.example/b/12']);
    expect(p.unknown).toContain('GS k barcode: not rendered');
    // Nothing of the barcode's digits leaks into the text.
    expect(p.lines.join('\n')).not.toContain('3130630574613');
  });
});
