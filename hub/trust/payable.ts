// May this bill be paid now? The pay page asks before it opens a channel order (issue 10):
// its device is enabled, its amount equals the hub's own computation for the fine and the bill's Shanghai
// issue day, its issuedAt is not in the future beyond the clock tolerance, and the fine is unpaid with no
// other bill of it paid or in the middle of a payment.
import { billAmount } from '../../protocol/money.ts';
import { fail, ok, type Result } from '../../protocol/result.ts';
import type { Fine } from '../../protocol/fines.ts';
import type { HubQueryable } from '../db.ts';

export interface PayableBill {
  billNo: string;
  deviceId: string;
  decisionNo: string;
  amountFen: number;
  issuedAt: number;
  expiresAt: number;
}

/**
 * A bill dated in the future is refused before this, by protocol/billtime.ts (BILL_FROM_FUTURE).
 * Codes: DEVICE_DISABLED, UNKNOWN_DEVICE, FINE_NOT_FOUND, FINE_NOT_PAYABLE,
 * AMOUNT_MISMATCH, FINE_PAYMENT_PENDING. `nowS` is the hub's Unix seconds.
 */
export async function checkPayable(q: HubQueryable, b: PayableBill, nowS: number): Promise<Result<void>> {
  const r = await q.query<{
    enabled: boolean | null;
    data: Fine | null;
    other_paid: number;
    other_open: number;
  }>(
    `SELECT (SELECT enabled FROM devices WHERE id = $1) AS enabled,
            (SELECT data FROM fines WHERE decision_no = $2) AS data,
            (SELECT count(*)::int FROM bills WHERE decision_no = $2 AND bill_no <> $3 AND status = 'paid') AS other_paid,
            (SELECT count(*)::int FROM pay_orders o JOIN bills ob ON ob.bill_no = o.bill_no
              WHERE ob.decision_no = $2 AND ob.bill_no <> $3 AND ob.status = 'live' AND ob.expires_at > $4
                AND o.status = 'open' AND o.expires_at > $4) AS other_open`,
    [b.deviceId, b.decisionNo, b.billNo, nowS],
  );
  const row = r.rows[0]!;
  if (row.enabled === null) return fail('UNKNOWN_DEVICE', b.deviceId);
  if (!row.enabled) return fail('DEVICE_DISABLED', b.deviceId);
  const fine = row.data;
  if (!fine) return fail('FINE_NOT_FOUND', b.decisionNo);
  if (fine.status !== 'unpaid' || Number(row.other_paid) > 0) return fail('FINE_NOT_PAYABLE', b.decisionNo);
  const want = billAmount(fine, b.issuedAt).amountFen;
  if (want !== b.amountFen)
    return fail('AMOUNT_MISMATCH', `bill ${b.amountFen} fen, the fine is ${want} fen`);
  if (Number(row.other_open) > 0) return fail('FINE_PAYMENT_PENDING', b.decisionNo);
  return ok(undefined);
}
