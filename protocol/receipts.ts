// Rules of a paid bill's receipt shared by the kiosk backend (main/payments/receipts.ts) and its screen.

/**
 * Print failures that mean the printer was not ready (no paper, cover open, offline, not reachable, no
 * answer), not that the receipt cannot be printed: a receipt that failed with one of these is printed
 * again by itself once the printer says it is ready, and the screen says so.
 */
export const PRINTER_NOT_READY: readonly string[] = [
  'PRINTER_PAPER_END',
  'PRINTER_COVER_OPEN',
  'PRINTER_OFFLINE',
  'PRINTER_UNREACHABLE',
  'PRINTER_TIMEOUT',
];

/** Whether a receipt's failure code is one that waits for the printer (PRINTER_NOT_READY). */
export function printerNotReady(code: string | undefined): boolean {
  return code !== undefined && PRINTER_NOT_READY.includes(code);
}

/** Copies of one receipt a citizen gets by scanning its confirmation again; staff may print more. */
export const MAX_SCAN_COPIES = 2;
