// How long the hub keeps a bill payable, by its own clock. A bill's issuedAt and expiresAt are the
// kiosk's word, and a kiosk's clock can be wrong (hours behind, a day ahead). The hub keeps the time
// it first saw the bill (a push, or the pay page's first scan) and holds the bill to it:
//   - an issue time more than 5 minutes after the hub first saw it comes from a clock running ahead:
//     the bill is not payable at all (DESIGN.md, Sync: the 5-minute tolerance);
//   - a bill is payable until min(expiresAt, firstSeenAt + 4 hours): never beyond 4 hours of real time
//     as the hub measures it, and never beyond the expiry printed on it.
// One pure function, used by the pay page, settlement and anything else that asks "payable now?".
import { fail, ok, type Result } from './result.ts';
import { MAX_CLOCK_SKEW_SECONDS } from './sync.ts';
import { BILL_VALIDITY_SECONDS } from './tokens.ts';

export interface BillTimes {
  /** Unix seconds, from the bill token (the kiosk's clock, hub-corrected when it knew its offset). */
  issuedAt: number;
  expiresAt: number;
}

/** Until when (Unix seconds, exclusive) the hub keeps this bill payable, given when it first saw it. */
export function billPayableUntil(b: BillTimes, firstSeenAt: number): number {
  return Math.min(b.expiresAt, firstSeenAt + BILL_VALIDITY_SECONDS);
}

/**
 * Whether the bill may be paid at `now` (hub seconds): BILL_FROM_FUTURE when its issue time is more
 * than 5 minutes after the hub first saw it, BILL_EXPIRED at or after billPayableUntil; else the
 * deadline.
 */
export function billTimeCheck(
  b: BillTimes,
  firstSeenAt: number,
  now: number,
): Result<{ payableUntil: number }> {
  if (b.issuedAt > firstSeenAt + MAX_CLOCK_SKEW_SECONDS) {
    return fail(
      'BILL_FROM_FUTURE',
      `issued ${b.issuedAt - firstSeenAt} s after the hub first saw it: the issuing device's clock is ahead`,
    );
  }
  const payableUntil = billPayableUntil(b, firstSeenAt);
  if (now >= payableUntil) return fail('BILL_EXPIRED');
  return ok({ payableUntil });
}

/**
 * No true clock reading is earlier than this (Unix seconds, 2026-01-01 00:00 UTC): this version was
 * built after it. A clock reading before it has been reset (a dead RTC battery, a wrong manual setting).
 */
export const EARLIEST_TRUE_TIME_S = 1_767_225_600;

/**
 * Whether a device's clock may stamp a new record: CLOCK_OFF when `nowS` (Unix seconds) is before
 * EARLIEST_TRUE_TIME_S, or more than 5 minutes (MAX_CLOCK_SKEW_SECONDS) before `lastRecordS`, the
 * time of the newest record the device already committed (a clock that jumped back). Catches the
 * backward jumps the hub's offset cannot, offline included; details: { floorS, behindSeconds }.
 */
export function clockFloorCheck(nowS: number, lastRecordS?: number): Result<void> {
  if (nowS < EARLIEST_TRUE_TIME_S) {
    return fail(
      'CLOCK_OFF',
      `the clock reads ${new Date(nowS * 1000).toISOString()}, before this version was built`,
      {
        floorS: EARLIEST_TRUE_TIME_S,
        behindSeconds: EARLIEST_TRUE_TIME_S - nowS,
      },
    );
  }
  if (lastRecordS !== undefined && nowS < lastRecordS - MAX_CLOCK_SKEW_SECONDS) {
    const m = Math.ceil((lastRecordS - nowS) / 60);
    return fail('CLOCK_OFF', `the clock went back ${m} minute(s) before the last record this device wrote`, {
      floorS: lastRecordS,
      behindSeconds: lastRecordS - nowS,
    });
  }
  return ok(undefined);
}
