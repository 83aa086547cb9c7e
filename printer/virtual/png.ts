// A printed page as a PNG (black dots on white, with a white margin like the paper around the print).
import { PNG } from 'pngjs';
import type { Bitmap } from '../bitmap.ts';

export const PNG_MARGIN = 16;

export function bitmapToPng(bm: Bitmap, margin = PNG_MARGIN): Buffer {
  const w = bm.width + 2 * margin;
  const h = bm.height + 2 * margin;
  const png = new PNG({ width: w, height: h, colorType: 0, inputColorType: 0, bitDepth: 8 });
  const data = Buffer.alloc(w * h, 0xff);
  for (let y = 0; y < bm.height; y++) {
    for (let x = 0; x < bm.width; x++) if (bm.data[y * bm.width + x]) data[(y + margin) * w + x + margin] = 0;
  }
  png.data = data;
  return PNG.sync.write(png, { colorType: 0, inputColorType: 0, bitDepth: 8 });
}
