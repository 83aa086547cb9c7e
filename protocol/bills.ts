// Bill states, one vocabulary for kiosk and hub (DESIGN.md "Rules of the domain"; issue 10).
//   live    issued, payable until expiresAt
//   paid    a payment was accepted for it
//   voided  closed by a reissue, by staff, or by the hub (another bill of the fine was paid)
//   expired past expiresAt without payment (the kiosk stores it; the hub derives it from the time)
// The hub's bills table stores live, paid and voided; "expired" is live with expiresAt in the past.

export const BILL_STATES = ['live', 'paid', 'voided', 'expired'] as const;
export type BillState = (typeof BILL_STATES)[number];

/**
 * The transitions a bill may take. A payment may land on an expired bill (paid in time, learned later)
 * and on a voided one when the payment is one the hub holds: money the hub holds beats an offline void.
 */
const TRANSITIONS: Record<BillState, readonly BillState[]> = {
  live: ['paid', 'voided', 'expired'],
  expired: ['paid'],
  voided: ['paid'],
  paid: [],
};

/** True when a bill in state `from` may move to `to`. */
export function canTransition(from: BillState, to: BillState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** The state a stored bill shows at time `nowS` (Unix seconds): live past its expiry reads as expired. */
export function effectiveBillState(stored: BillState, expiresAt: number, nowS: number): BillState {
  return stored === 'live' && expiresAt < nowS ? 'expired' : stored;
}
