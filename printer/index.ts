// The printing package: encoder and layout blocks (for further documents), documents, profiles, status,
// transports, the driver, the print service and the virtual printer. The QR decoder for tests is in
// ./qr-decode.ts (it uses a development dependency).
export * from './bitmap.ts';
export * as commands from './commands.ts';
export * from './documents/index.ts';
export * from './driver.ts';
export * from './encoder.ts';
export { drawText, glyphBitmap, CELL_H, CELL_W } from './font.ts';
export * from './layout.ts';
export * from './profiles.ts';
export * from './service.ts';
export * from './status.ts';
export * from './transports/index.ts';
export * from './virtual/interpreter.ts';
export { bitmapToPng } from './virtual/png.ts';
export * from './virtual/server.ts';
export * from './width.ts';
