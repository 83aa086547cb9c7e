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
