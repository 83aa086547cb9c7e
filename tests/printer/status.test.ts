// DLE EOT replies → status, with the reference bit meanings.
import { describe, expect, it } from 'vitest';
import {
  decodeStatus,
  encodeStatus,
  isHealthy,
  statusResult,
  type StatusBytes,
} from '../../printer/status.ts';

const OK: StatusBytes = { printer: 0x12, offline: 0x12, error: 0x12, paper: 0x12 };

describe('printer status', () => {
  it('all fixed bits only (0x12 each) is ok', () => {
    expect(decodeStatus(OK)).toEqual({ state: 'ok' });
  });

  it('decodes each condition from its bit', () => {
    // n=1 bit3 offline
    expect(decodeStatus({ ...OK, printer: 0x1a })).toEqual({ state: 'offline' });
    // n=2 bit2 cover open
    expect(decodeStatus({ ...OK, printer: 0x1a, offline: 0x16 })).toEqual({ state: 'cover-open' });
    // n=2 bit5 paper end stop
    expect(decodeStatus({ ...OK, offline: 0x32 })).toEqual({ state: 'paper-end' });
    // n=4 bits 5,6 paper end
    expect(decodeStatus({ ...OK, paper: 0x72 })).toEqual({ state: 'paper-end' });
    // n=4 bits 2,3 near end
    expect(decodeStatus({ ...OK, paper: 0x1e })).toEqual({ state: 'near-end' });
    // n=3 bit3 autocutter error
    expect(decodeStatus({ ...OK, error: 0x1a })).toEqual({ state: 'cutter-error' });
    // n=2 bit6 error occurred
    expect(decodeStatus({ ...OK, offline: 0x52 })).toEqual({ state: 'offline' });
  });

  it('a printer out of paper (reference example 1A 32 12 7E) reads paper-end', () => {
    expect(decodeStatus({ printer: 0x1a, offline: 0x32, error: 0x12, paper: 0x7e })).toEqual({
      state: 'paper-end',
    });
  });

  it('a byte without the fixed bits is not trusted', () => {
    expect(decodeStatus({ ...OK, printer: 0x00 }).state).toBe('offline');
    expect(decodeStatus({ ...OK, paper: 0xff }).state).toBe('offline');
  });

  it('encodeStatus round-trips through decodeStatus', () => {
    expect(decodeStatus(encodeStatus({}))).toEqual({ state: 'ok' });
    expect(decodeStatus(encodeStatus({ paperEnd: true }))).toEqual({ state: 'paper-end' });
    expect(decodeStatus(encodeStatus({ coverOpen: true }))).toEqual({ state: 'cover-open' });
    expect(decodeStatus(encodeStatus({ offline: true }))).toEqual({ state: 'offline' });
    expect(decodeStatus(encodeStatus({ nearEnd: true }))).toEqual({ state: 'near-end' });
    expect(decodeStatus(encodeStatus({ cutterError: true }))).toEqual({ state: 'cutter-error' });
  });

  it('maps to error codes; near end is still healthy', () => {
    expect(isHealthy({ state: 'near-end' })).toBe(true);
    const codes = (
      [
        [{ state: 'offline' }, 'PRINTER_OFFLINE'],
        [{ state: 'cover-open' }, 'PRINTER_COVER_OPEN'],
        [{ state: 'paper-end' }, 'PRINTER_PAPER_END'],
        [{ state: 'cutter-error' }, 'PRINTER_CUTTER_ERROR'],
        [{ state: 'unreachable', detail: 'x' }, 'PRINTER_UNREACHABLE'],
        [{ state: 'timeout', detail: 'x' }, 'PRINTER_TIMEOUT'],
      ] as const
    ).map(([s, code]) => {
      const r = statusResult(s);
      return r.ok ? 'ok' : r.error.code === code;
    });
    expect(codes).toEqual([true, true, true, true, true, true]);
    expect(statusResult({ state: 'ok' }).ok).toBe(true);
  });
});
