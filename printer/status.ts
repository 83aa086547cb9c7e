// Real-time status (DLE EOT n, one reply byte each). Bit meanings from the ESC/POS reference:
//   n=1 printer:        bit3 offline
//   n=2 offline cause:  bit2 cover open, bit5 printing stopped by paper end, bit6 error occurred
//   n=3 error cause:    bit3 autocutter error, bit5 unrecoverable error, bit6 auto-recoverable error
//   n=4 paper sensor:   bits 2,3 roll paper near end, bits 5,6 roll paper end
// Every reply has bit1 and bit4 set and bits 0 and 7 clear (0x12 base), which tells a reply from noise.
import { fail, ok, type Result } from '../protocol/result.ts';
import type { ErrorCode } from '../protocol/errors.ts';

export type PrinterStatus =
  | { state: 'ok' }
  | { state: 'near-end' }
  | { state: 'offline'; detail?: string }
  | { state: 'cover-open' }
  | { state: 'paper-end' }
  | { state: 'cutter-error' }
  | { state: 'unreachable'; detail: string }
  | { state: 'timeout'; detail: string };

export interface StatusBytes {
  printer: number;
  offline: number;
  error: number;
  paper: number;
}

export const STATUS_BASE = 0x12;

export function isStatusByte(b: number): boolean {
  return (b & 0x93) === 0x12;
}

/** Decodes the four replies; the worst condition wins (what stops printing comes first). */
export function decodeStatus(s: StatusBytes): PrinterStatus {
  for (const b of [s.printer, s.offline, s.error, s.paper]) {
    if (!isStatusByte(b)) return { state: 'offline', detail: `unexpected status byte 0x${b.toString(16)}` };
  }
  if ((s.offline & 0x04) !== 0) return { state: 'cover-open' };
  if ((s.offline & 0x20) !== 0 || (s.paper & 0x60) === 0x60) return { state: 'paper-end' };
  if ((s.error & 0x08) !== 0) return { state: 'cutter-error' };
  if ((s.printer & 0x08) !== 0 || (s.offline & 0x40) !== 0 || (s.error & 0x60) !== 0)
    return { state: 'offline' };
  if ((s.paper & 0x0c) === 0x0c) return { state: 'near-end' };
  return { state: 'ok' };
}

/** The reply bytes a printer in this condition sends (used by the virtual printer and fakes). */
export function encodeStatus(f: {
  offline?: boolean;
  coverOpen?: boolean;
  paperEnd?: boolean;
  nearEnd?: boolean;
  cutterError?: boolean;
}): StatusBytes {
  const stopped = !!(f.offline || f.coverOpen || f.paperEnd || f.cutterError);
  return {
    printer: STATUS_BASE | (stopped ? 0x08 : 0),
    offline: STATUS_BASE | (f.coverOpen ? 0x04 : 0) | (f.paperEnd ? 0x20 : 0) | (f.cutterError ? 0x40 : 0),
    error: STATUS_BASE | (f.cutterError ? 0x08 : 0),
    paper: STATUS_BASE | (f.nearEnd || f.paperEnd ? 0x0c : 0) | (f.paperEnd ? 0x60 : 0),
  };
}

/** A printer may take a job in these states (near end is a warning, not a stop). */
export function isHealthy(s: PrinterStatus): boolean {
  return s.state === 'ok' || s.state === 'near-end';
}

const CODES: Record<Exclude<PrinterStatus['state'], 'ok' | 'near-end'>, ErrorCode> = {
  offline: 'PRINTER_OFFLINE',
  'cover-open': 'PRINTER_COVER_OPEN',
  'paper-end': 'PRINTER_PAPER_END',
  'cutter-error': 'PRINTER_CUTTER_ERROR',
  unreachable: 'PRINTER_UNREACHABLE',
  timeout: 'PRINTER_TIMEOUT',
};

/** ok(status) for a healthy printer, else the failure that names the reason. */
export function statusResult(s: PrinterStatus): Result<PrinterStatus> {
  if (isHealthy(s)) return ok(s);
  const st = s.state as keyof typeof CODES;
  return fail(CODES[st], 'detail' in s ? s.detail : undefined, { status: st });
}

export function errorCodeFor(s: PrinterStatus): ErrorCode | undefined {
  return isHealthy(s) ? undefined : CODES[s.state as keyof typeof CODES];
}
