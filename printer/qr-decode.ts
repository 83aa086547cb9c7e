// Reads the QR code back from a printed page's PNG (tests, including other areas' end-to-end tests).
// jsQR is a development dependency: import this module from tests and tools only.
import { readFileSync } from 'node:fs';
import jsQRModule from 'jsqr';
import { PNG } from 'pngjs';

// jsqr is CommonJS with an ES-style default export in its types.
type JsQr = (
  d: Uint8ClampedArray,
  w: number,
  h: number,
  o?: { inversionAttempts?: 'dontInvert' },
) => { data: string } | null;
const jsQR = ((jsQRModule as unknown as { default?: JsQr }).default ?? jsQRModule) as unknown as JsQr;

/** The text of the first QR code found in a PNG (file path or bytes), or undefined. */
export function decodeQrFromPng(png: string | Uint8Array): string | undefined {
  const img = PNG.sync.read(Buffer.from(typeof png === 'string' ? readFileSync(png) : png));
  const rgba = new Uint8ClampedArray(img.data.buffer, img.data.byteOffset, img.data.length);
  return jsQR(rgba, img.width, img.height, { inversionAttempts: 'dontInvert' })?.data;
}
