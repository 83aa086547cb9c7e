// Payment confirmations: a hub-signed c1 token scanned from the citizen's phone, or a payment the hub
// reports on sync. Accepted only under the rules of docs/domain.md (Confirmations); every refusal names its reason and changes nothing.
import type { Database } from '../../db/connection.ts';
import { z } from 'zod';
import {
  billNoSchema,
  channelSchema,
  fenSchema,
  keyIdSchema,
  txnIdSchema,
  unixSecondsSchema,
  type Channel,
} from '../../protocol/ids.ts';
import { fail, ok, type Result } from '../../protocol/result.ts';
import type { Clock } from '../../protocol/time.ts';
import { acceptPayment, verifyConfirmation } from '../../protocol/acceptance.ts';
import type { ConfirmationClaims } from '../../protocol/tokens.ts';
import type { BillRow } from '../bills/bills.ts';
import { appendEvent } from '../outbox/outbox.ts';
import type { TrustService } from './trust.ts';

const claimsSchema = z.object({
  billNo: billNoSchema,
  amountFen: fenSchema,
  channel: channelSchema,
  txnId: txnIdSchema,
  paidAt: unixSecondsSchema,
  keyId: keyIdSchema,
});

export interface PaymentView {
  txnId: string;
  billNo: string;
  decisionNo: string;
  channel: Channel;
  amountFen: number;
  paidAt: number;
  source: 'scan' | 'hub';
  recordedAt: number;
}

export interface ConfirmResult {
  billNo: string;
  status: 'paid';
  decisionNo: string;
  amountFen: number;
  channel: Channel;
  txnId: string;
  paidAt: number;
  /** True when the hub reported a payment already recorded here (nothing changed). */
  duplicate?: boolean;
}

export interface PaymentsService {
  confirm(token: string): Result<ConfirmResult>;
  /** A payment the hub reports (already verified by the sync layer). Idempotent on the same txnId and bill. */
  recordFromHub(claims: ConfirmationClaims, token?: string): Result<ConfirmResult>;
  /** Payments made at or after `since` (Unix seconds), oldest first. */
  listSince(since: number): PaymentView[];
}

export function createPaymentsService(db: Database, clock: Clock, trust: TrustService): PaymentsService {
  const billRow = db.prepare<[string], BillRow>('SELECT * FROM bills WHERE bill_no = ?');
  const txn = db.prepare<[string], { bill_no: string }>('SELECT bill_no FROM payments WHERE txn_id = ?');
  const insert = db.prepare(`
    INSERT INTO payments (txn_id, bill_no, channel, amount_fen, paid_at, source, token, recorded_at)
    VALUES (@txn_id, @bill_no, @channel, @amount_fen, @paid_at, @source, @token, @recorded_at)`);
  // A voided bill that a hub-held payment paid keeps its void reason as history.
  const billPaid = db.prepare<[number, string]>(
    "UPDATE bills SET status = 'paid', closed_at = ? WHERE bill_no = ?",
  );
  const finePaid = db.prepare<[number, string]>(
    "UPDATE fines SET status = 'paid', updated_at = ? WHERE decision_no = ? AND status = 'unpaid'",
  );
  const since = db.prepare(`
    SELECT p.txn_id, p.bill_no, b.decision_no, p.channel, p.amount_fen, p.paid_at, p.source, p.recorded_at
    FROM payments p JOIN bills b ON b.bill_no = p.bill_no WHERE p.paid_at >= ? ORDER BY p.paid_at, p.txn_id`);

  const apply = db.transaction(
    (c: ConfirmationClaims, source: 'scan' | 'hub', token: string | undefined): Result<ConfirmResult> => {
      const b = billRow.get(c.billNo);
      const used = txn.get(c.txnId);
      // One order of checks and one set of codes, shared with the hub (protocol/acceptance.ts). The hub
      // repeating a payment we hold already is harmless; a second scan of a used token is refused. A payment
      // the hub holds wins over a void made here offline: the money is there, the citizen gets a receipt.
      const a = acceptPayment(c, {
        bill: b
          ? {
              billNo: b.bill_no,
              status: b.status,
              amountFen: b.amount_fen,
              issuedAt: b.issued_at,
              expiresAt: b.expires_at,
            }
          : undefined,
        txnSeen: !used ? 'never' : used.bill_no === c.billNo ? 'this-bill' : 'other-bill',
        repeatIsHarmless: source === 'hub',
        heldByHub: source === 'hub',
      });
      if (!a.ok) return a;
      const result: ConfirmResult = {
        billNo: b!.bill_no,
        status: 'paid',
        decisionNo: b!.decision_no,
        amountFen: c.amountFen,
        channel: c.channel,
        txnId: c.txnId,
        paidAt: c.paidAt,
      };
      if (a.value === 'repeat') return ok({ ...result, duplicate: true });
      const now = Math.floor(clock.now() / 1000);
      insert.run({
        txn_id: c.txnId,
        bill_no: b!.bill_no,
        channel: c.channel,
        amount_fen: c.amountFen,
        paid_at: c.paidAt,
        source,
        token: token ?? null,
        recorded_at: now,
      });
      // A bill the kiosk marked expired may still be paid: the citizen paid in time and scanned later.
      billPaid.run(now, b!.bill_no);
      finePaid.run(now, b!.decision_no);
      appendEvent(
        db,
        'payment.confirmed',
        {
          billNo: b!.bill_no,
          decisionNo: b!.decision_no,
          amountFen: c.amountFen,
          channel: c.channel,
          txnId: c.txnId,
          paidAt: c.paidAt,
          source,
          ...(token ? { token } : {}),
        },
        clock.now(),
      );
      return ok(result);
    },
  );

  return {
    confirm: (token) => {
      if (typeof token !== 'string') return fail('MALFORMED', 'confirmation token must be text');
      const t = token.trim();
      const v = verifyConfirmation(t, (id) => trust.trusted(id));
      if (!v.ok) return v;
      return apply.immediate(v.value, 'scan', t);
    },
    recordFromHub: (claims, token) => {
      const c = claimsSchema.safeParse(claims);
      if (!c.success) return fail('MALFORMED', c.error.issues[0]?.message);
      return apply.immediate(c.data, 'hub', token);
    },
    listSince: (t) =>
      (
        since.all(t) as {
          txn_id: string;
          bill_no: string;
          decision_no: string;
          channel: Channel;
          amount_fen: number;
          paid_at: number;
          source: 'scan' | 'hub';
          recorded_at: number;
        }[]
      ).map((r) => ({
        txnId: r.txn_id,
        billNo: r.bill_no,
        decisionNo: r.decision_no,
        channel: r.channel,
        amountFen: r.amount_fen,
        paidAt: r.paid_at,
        source: r.source,
        recordedAt: r.recorded_at,
      })),
  };
}
