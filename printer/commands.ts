// ESC/POS command bytes, as given in Epson's ESC/POS command reference (also what the Chinese-market
// printers implement). Each function returns the exact bytes of one command; tests pin them byte by byte.
export const ESC = 0x1b;
export const GS = 0x1d;
export const FS = 0x1c;
export const DLE = 0x10;
export const EOT = 0x04;
export const LF = 0x0a;

const u8 = (...b: number[]): Uint8Array => Uint8Array.from(b);

/** ESC @ — initialize printer. */
export const init = (): Uint8Array => u8(ESC, 0x40);
/** ESC a n — justification: 0 left, 1 center, 2 right. */
export const align = (a: 'left' | 'center' | 'right'): Uint8Array =>
  u8(ESC, 0x61, a === 'left' ? 0 : a === 'center' ? 1 : 2);
/** ESC E n — emphasized (bold) on/off. */
export const bold = (on: boolean): Uint8Array => u8(ESC, 0x45, on ? 1 : 0);
/** GS ! n — character size: high nibble width multiplier - 1, low nibble height multiplier - 1. */
export const size = (width: number, height: number): Uint8Array => {
  if (width < 1 || width > 8 || height < 1 || height > 8) throw new RangeError('size multipliers are 1..8');
  return u8(GS, 0x21, ((width - 1) << 4) | (height - 1));
};
/** FS & — select Kanji (here: GB18030 Chinese) character mode. */
export const kanjiOn = (): Uint8Array => u8(FS, 0x26);
/** FS . — cancel Kanji character mode. */
export const kanjiOff = (): Uint8Array => u8(FS, 0x2e);
/** ESC d n — print the buffer and feed n lines. */
export const feedLines = (n: number): Uint8Array => u8(ESC, 0x64, clampByte(n));
/** ESC B n t — beep n times, each t × 50 ms (buzzer of Chinese-market printers). */
export const beep = (times = 1, units50ms = 2): Uint8Array =>
  u8(ESC, 0x42, clampByte(times), clampByte(units50ms));
/**
 * GS V — cut. Without feed: GS V 0 (full) / GS V 1 (partial) [function A]. With feed: GS V 65/66 n
 * feeds n dots to the cutting position and cuts [function B].
 */
export const cut = (mode: 'full' | 'partial' = 'partial', feedDots?: number): Uint8Array =>
  feedDots === undefined
    ? u8(GS, 0x56, mode === 'full' ? 0 : 1)
    : u8(GS, 0x56, mode === 'full' ? 65 : 66, clampByte(feedDots));
/**
 * DLE EOT n — real-time status: 1 printer, 2 offline cause, 3 error cause, 4 roll paper sensor. Answered
 * on receipt, before data already in the buffer prints: it proves the printer's state, never a job.
 */
export const statusRequest = (n: 1 | 2 | 3 | 4): Uint8Array => u8(DLE, EOT, n);
/**
 * GS ( H pL pH fn m d1 d2 d3 d4 with fn = 48, m = 48 — transmit a process-id response. Processed in
 * order: the printer answers `37 22 d1 d2 d3 d4 00` when everything before it has been printed (Epson
 * ESC/POS reference, GS ( H <Function 48>). d1..d4 are 0x30..0x39.
 */
export const processIdRequest = (id: string): Uint8Array => {
  if (!/^[0-9]{4}$/.test(id)) throw new RangeError('process id is 4 digits');
  return u8(GS, 0x28, 0x48, 6, 0, 48, 48, ...[...id].map((c) => c.charCodeAt(0)));
};
/** The reply header of a process-id response (0x37 0x22) and its length (7 bytes with the NUL). */
export const PROCESS_ID_REPLY = { header: [0x37, 0x22] as const, length: 7 };
/**
 * GS r 1 — transmit the paper sensor status. Processed in order (after the data before it), one reply
 * byte: bits 0-1 roll paper near end, bits 2-3 roll paper end; bit 4 is 0 (Epson ESC/POS reference, GS r).
 */
export const paperStatusRequest = (): Uint8Array => u8(GS, 0x72, 1);
/** XON and XOFF: serial flow control bytes a printer sends between replies; never status. */
export const XON = 0x11;
export const XOFF = 0x13;

// GS ( k — 2D symbol, cn = 49 (QR Code).
/** Function 165: select the model (n1 = 49 model 1, 50 model 2, 51 micro QR). */
export const qrModel = (model: 1 | 2 = 2): Uint8Array => u8(GS, 0x28, 0x6b, 4, 0, 49, 65, 48 + model, 0);
/** Function 167: module size in dots (1..16). */
export const qrModuleSize = (dots: number): Uint8Array => {
  if (dots < 1 || dots > 16) throw new RangeError('QR module size is 1..16 dots');
  return u8(GS, 0x28, 0x6b, 3, 0, 49, 67, dots);
};
/** Function 169: error correction level (48 L, 49 M, 50 Q, 51 H). */
export const qrErrorLevel = (level: 'L' | 'M' | 'Q' | 'H' = 'M'): Uint8Array =>
  u8(GS, 0x28, 0x6b, 3, 0, 49, 69, 48 + 'LMQH'.indexOf(level));
/** Function 180: store the data in the symbol storage area (pL pH = k + 3). */
export const qrStore = (data: Uint8Array): Uint8Array => {
  const len = data.length + 3;
  if (data.length < 1 || len > 7092) throw new RangeError('QR data is 1..7089 bytes');
  const out = new Uint8Array(8 + data.length);
  out.set([GS, 0x28, 0x6b, len & 0xff, len >> 8, 49, 80, 48]);
  out.set(data, 8);
  return out;
};
/** Function 181: print the symbol data in the storage area. */
export const qrPrint = (): Uint8Array => u8(GS, 0x28, 0x6b, 3, 0, 49, 81, 48);

/**
 * GS v 0 m xL xH yL yH d1..dk — print a raster bit image; m = 0 normal, 1 double width, 2 double
 * height, 3 quadruple (each dot 2 × 2); x = bytes per row, y = rows; each byte is 8 horizontal dots,
 * most significant bit leftmost, 1 = black.
 */
export const rasterImage = (
  bytesPerRow: number,
  rows: number,
  data: Uint8Array,
  mode: 0 | 1 | 2 | 3 = 0,
): Uint8Array => {
  if (data.length !== bytesPerRow * rows) throw new RangeError('raster data does not match its size');
  if (bytesPerRow < 1 || bytesPerRow > 0xffff || rows < 1 || rows > 0xffff)
    throw new RangeError('raster size');
  const out = new Uint8Array(8 + data.length);
  out.set([GS, 0x76, 0x30, mode, bytesPerRow & 0xff, bytesPerRow >> 8, rows & 0xff, rows >> 8]);
  out.set(data, 8);
  return out;
};

function clampByte(n: number): number {
  return Math.max(0, Math.min(255, Math.trunc(n)));
}
