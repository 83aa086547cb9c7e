// A 1-bit image as printed: one byte per dot (0 white, 1 black) for simple drawing, packed to ESC/POS
// raster rows (8 dots a byte, MSB left) on output.
export class Bitmap {
  readonly data: Uint8Array;
  constructor(
    readonly width: number,
    readonly height: number,
    data?: Uint8Array,
  ) {
    this.data = data ?? new Uint8Array(width * height);
  }

  get(x: number, y: number): number {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return 0;
    return this.data[y * this.width + x]!;
  }

  set(x: number, y: number, v = 1): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    this.data[y * this.width + x] = v;
  }

  fillRect(x: number, y: number, w: number, h: number, v = 1): void {
    const x0 = Math.max(0, x);
    const x1 = Math.min(this.width, x + w);
    for (let yy = Math.max(0, y); yy < Math.min(this.height, y + h); yy++) {
      this.data.fill(v, yy * this.width + x0, yy * this.width + Math.max(x0, x1));
    }
  }

  /** ORs `src` onto this bitmap at (x, y), optionally scaled by whole factors. */
  blit(src: Bitmap, x: number, y: number, sx = 1, sy = 1): void {
    for (let j = 0; j < src.height; j++) {
      for (let i = 0; i < src.width; i++) {
        if (!src.data[j * src.width + i]) continue;
        if (sx === 1 && sy === 1) this.set(x + i, y + j);
        else this.fillRect(x + i * sx, y + j * sy, sx, sy);
      }
    }
  }

  /** Packs to raster rows: ceil(width / 8) bytes per row, MSB is the leftmost dot. */
  pack(): { bytesPerRow: number; rows: number; data: Uint8Array } {
    const bytesPerRow = Math.ceil(this.width / 8);
    const out = new Uint8Array(bytesPerRow * this.height);
    for (let y = 0; y < this.height; y++) {
      const row = y * this.width;
      for (let x = 0; x < this.width; x++) {
        if (this.data[row + x]) out[y * bytesPerRow + (x >> 3)]! |= 0x80 >> (x & 7);
      }
    }
    return { bytesPerRow, rows: this.height, data: out };
  }

  /** The bitmap with each dot drawn sx × sy (GS v 0 double width / height). */
  scaled(sx: number, sy: number): Bitmap {
    if (sx === 1 && sy === 1) return this;
    const out = new Bitmap(this.width * sx, this.height * sy);
    out.blit(this, 0, 0, sx, sy);
    return out;
  }

  static unpack(bytesPerRow: number, rows: number, data: Uint8Array): Bitmap {
    const bm = new Bitmap(bytesPerRow * 8, rows);
    for (let y = 0; y < rows; y++) {
      for (let x = 0; x < bytesPerRow * 8; x++) {
        if ((data[y * bytesPerRow + (x >> 3)]! & (0x80 >> (x & 7))) !== 0) bm.data[y * bm.width + x] = 1;
      }
    }
    return bm;
  }
}
