// Payment and refund look-ups shared by the integration API and the operator console.
import { z } from 'zod';
import type { HubQueryable } from '../db.ts';

export const paymentViewSchema = z.object({
  channel: z.string(),
  txnId: z.string(),
  billNo: z.string(),
  decisionNo: z.string().nullable(),
  amountFen: z.number().int().describe('Integer fen'),
  paidAt: z.number().int().describe('Unix seconds'),
  status: z.string().describe('settled, or refund when a paid bill was paid again'),
  source: z.string(),
  deviceId: z.string().nullable(),
});
export type PaymentView = z.infer<typeof paymentViewSchema>;

export const paymentSearchSchema = z
  .object({
    decisionNo: z.string().min(1).max(32).optional(),
    billNo: z.string().min(1).max(32).optional(),
    txnId: z.string().min(1).max(64).optional(),
  })
  .refine((q) => q.decisionNo || q.billNo || q.txnId, 'give decisionNo, billNo or txnId');

/** Payments by decision number (决定书编号), bill number or channel transaction id. */
export async function searchPayments(
  db: HubQueryable,
  q: { decisionNo?: string | undefined; billNo?: string | undefined; txnId?: string | undefined },
  limit = 100,
): Promise<PaymentView[]> {
  const r = await db.query<{
    channel: string;
    txn_id: string;
    bill_no: string;
    decision_no: string | null;
    amount_fen: number;
    paid_at: number;
    status: string;
    source: string;
    device_id: string | null;
  }>(
    `SELECT p.channel, p.txn_id, p.bill_no, b.decision_no, p.amount_fen, p.paid_at, p.status, p.source, p.device_id
     FROM payments p LEFT JOIN bills b ON b.bill_no = p.bill_no
     WHERE ($1::text IS NULL OR b.decision_no = $1) AND ($2::text IS NULL OR p.bill_no = $2)
       AND ($3::text IS NULL OR p.txn_id = $3)
     ORDER BY p.paid_at DESC, p.txn_id LIMIT $4`,
    [q.decisionNo ?? null, q.billNo ?? null, q.txnId ?? null, limit],
  );
  return r.rows.map((x) => ({
    channel: x.channel,
    txnId: x.txn_id,
    billNo: x.bill_no,
    decisionNo: x.decision_no,
    amountFen: Number(x.amount_fen),
    paidAt: Number(x.paid_at),
    status: x.status,
    source: x.source,
    deviceId: x.device_id,
  }));
}
