// Acceptance of a payment confirmation: ONE order of checks and ONE set of codes, used by the kiosk
// (a scanned c1 token, a payment pulled from the hub) and by the hub (a channel payment being settled, a
// confirmation a device pushes). DESIGN.md "Wire formats, version 1", last paragraph:
//   the token parses; the key id is trusted and the signature holds; the bill exists, is not voided, and
//   its amount equals the token's; paidAt <= expiresAt of the bill; the txnId was never accepted before.
// Anything else is refused with its reason and changes nothing.
import type { KeyObject } from 'node:crypto';
import type { BillState } from './bills.ts';
import { fail, ok, type Result } from './result.ts';
import { verifyText } from './signing.ts';
import { MAX_CLOCK_SKEW_SECONDS } from './sync.ts';
import { parseConfirmationToken, type ConfirmationClaims } from './tokens.ts';

/** A trusted hub key; `retiredAt` (Unix seconds) when it was retired: it then verifies only earlier payments. */
export interface TrustedHubKey {
  key: KeyObject;
  retiredAt?: number | null;
}

/** The bill as the accepting side holds it. */
export interface AcceptBill {
  billNo: string;
  status: BillState;
  amountFen: number;
  /** When the bill was issued (Unix seconds): no payment of it can be older. */
  issuedAt: number;
  expiresAt: number;
}

/** The payment's facts: a verified token's claims, or a verified channel payment. */
export interface PaymentFacts {
  billNo: string;
  amountFen: number;
  txnId: string;
  paidAt: number;
}

export interface AcceptContext {
  /** The bill named by the payment, if this side holds it. */
  bill: AcceptBill | undefined;
  /** Where this txnId was accepted before: nowhere, for this very bill, or for another bill. */
  txnSeen: 'never' | 'this-bill' | 'other-bill';
  /** The same payment again is harmless ("repeat"); when false it is ALREADY_USED (a second scan). */
  repeatIsHarmless: boolean;
  /** The payment is one the hub holds (hub-signed and reported by the hub): it wins over a void. */
  heldByHub: boolean;
}

/**
 * Decides whether a payment may pay its bill. Returns 'new' (record it), 'repeat' (already recorded for
 * this bill; change nothing) or a failure with one of: BILL_NOT_FOUND, WRONG_BILL, BILL_VOIDED,
 * AMOUNT_MISMATCH, PAID_BEFORE_ISSUE, PAID_AFTER_EXPIRY, ALREADY_USED, BILL_PAID. Amounts in fen, times in Unix seconds.
 * The hub turns BILL_PAID, BILL_VOIDED and PAID_AFTER_EXPIRY of money a channel already took into a refund.
 */
export function acceptPayment(p: PaymentFacts, c: AcceptContext): Result<'new' | 'repeat'> {
  const b = c.bill;
  if (!b) return fail('BILL_NOT_FOUND', p.billNo);
  if (b.billNo !== p.billNo) return fail('WRONG_BILL', `${p.billNo} is not ${b.billNo}`);
  if (c.txnSeen === 'this-bill' && c.repeatIsHarmless) return ok('repeat');
  if (b.status === 'voided' && !c.heldByHub) return fail('BILL_VOIDED', p.billNo);
  if (p.amountFen !== b.amountFen) {
    return fail('AMOUNT_MISMATCH', `bill ${b.amountFen} fen, payment ${p.amountFen} fen`);
  }
  // A payment is never older than its bill (less the clock skew tolerated between devices): else a retired,
  // leaked hub key could sign a payment "before its retirement" for a bill issued after it.
  if (p.paidAt < b.issuedAt - MAX_CLOCK_SKEW_SECONDS) {
    return fail('PAID_BEFORE_ISSUE', `paid ${p.paidAt}, issued ${b.issuedAt}`);
  }
  if (p.paidAt > b.expiresAt) return fail('PAID_AFTER_EXPIRY', `paid ${p.paidAt}, expired ${b.expiresAt}`);
  if (c.txnSeen !== 'never') return fail('ALREADY_USED', p.txnId);
  if (b.status === 'paid') return fail('BILL_PAID', p.billNo);
  return ok('new');
}

/**
 * Checks a c1 confirmation token: syntax, then the key (trusted; a retired key only for payments made
 * before it retired), then the signature. Codes: MALFORMED, UNKNOWN_KEY, KEY_RETIRED, BAD_SIGNATURE.
 */
export function verifyConfirmation(
  token: string,
  hubKey: (keyId: string) => TrustedHubKey | undefined,
): Result<ConfirmationClaims> {
  const parsed = parseConfirmationToken(token);
  if (!parsed.ok) return parsed;
  const c = parsed.value.claims;
  const k = hubKey(c.keyId);
  if (!k) return fail('UNKNOWN_KEY', `key ${c.keyId}`);
  if (k.retiredAt !== undefined && k.retiredAt !== null && c.paidAt >= k.retiredAt) {
    return fail('KEY_RETIRED', `key ${c.keyId} retired at ${k.retiredAt}, payment at ${c.paidAt}`);
  }
  if (!verifyText(k.key, parsed.value.signed, parsed.value.sig)) return fail('BAD_SIGNATURE');
  return ok(c);
}

/** The whole acceptance of a confirmation token: verifyConfirmation, then acceptPayment, in that order. */
export function acceptConfirmation(
  token: string,
  hubKey: (keyId: string) => TrustedHubKey | undefined,
  context: (claims: ConfirmationClaims) => AcceptContext,
): Result<{ claims: ConfirmationClaims; outcome: 'new' | 'repeat' }> {
  const v = verifyConfirmation(token, hubKey);
  if (!v.ok) return v;
  const a = acceptPayment(v.value, context(v.value));
  if (!a.ok) return a;
  return ok({ claims: v.value, outcome: a.value });
}
