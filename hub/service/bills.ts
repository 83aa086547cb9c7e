// Bills: a kiosk's signed bill made known to the hub, its payability, voiding at the hub.
import type { KeyObject } from 'node:crypto';
import { fail, ok, type Result } from '../../protocol/result.ts';
import { publicKeyFromRaw } from '../../protocol/signing.ts';
import { verifyBillToken, type BillClaims } from '../../protocol/tokens.ts';
import { isOwnBillNo } from '../trust/acts.ts';
import { checkPayable } from '../trust/payable.ts';
import { recordSecurity } from '../trust/security.ts';
import type { HubQueryable } from '../db.ts';
import type { HubCtx } from './context.ts';
import type { HubDevices } from './devices.ts';
import { billFromRow, type BillRow } from './rows.ts';
import type { HubBill } from './types.ts';
import { queueCloseEndedOrders } from '../pay/jobs.ts';

/** Builds hub.bills: ensureKnown, payable, get, void. */
export function createBills(ctx: HubCtx, devices: HubDevices) {
  const { db, nowS, notifyFeed, addChange } = ctx;

  async function deviceKey(id: string, q: HubQueryable = db): Promise<KeyObject | undefined> {
    const d = await devices.get(id, q);
    return d ? publicKeyFromRaw(d.publicKey) : undefined;
  }

  const bills = {
    /** Makes sure the hub knows a bill issued (perhaps offline) by a kiosk: checks the device's signature. */
    async ensureKnown(claims: BillClaims, token: string): Promise<Result<HubBill>> {
      const dk = await deviceKey(claims.deviceId);
      const v = verifyBillToken(token, (id) => (id === claims.deviceId ? dk : undefined));
      if (!v.ok) return v;
      if (v.value.billNo !== claims.billNo || v.value.amountFen !== claims.amountFen) {
        return fail('MALFORMED', 'claims do not match the token');
      }
      const c = v.value;
      const refuse = async (code: 'NOT_OWN_BILL' | 'BILL_CONFLICT' | 'DEVICE_DISABLED', why: string) => {
        await recordSecurity(db, [
          {
            at: nowS(),
            deviceId: c.deviceId,
            source: 'pay',
            code,
            reason: why,
            eventSeq: null,
            eventType: null,
            subject: c.billNo,
          },
        ]);
        return fail<HubBill>(code, why);
      };
      // A device signs bills only in its own number range; anything else is another device's number.
      if (!isOwnBillNo(c.deviceId, c.billNo))
        return refuse('NOT_OWN_BILL', `${c.billNo} is not a number of ${c.deviceId}`);
      const stored = await bills.get(c.billNo);
      if (!stored) {
        const d = await devices.get(c.deviceId);
        if (d && !d.enabled) return refuse('DEVICE_DISABLED', c.deviceId);
        await db.query(
          `INSERT INTO bills (bill_no, device_id, decision_no, amount_fen, issued_at, expires_at, token, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (bill_no) DO NOTHING`,
          [c.billNo, c.deviceId, c.decisionNo, c.amountFen, c.issuedAt, c.expiresAt, token, nowS()],
        );
      }
      const b = stored ?? (await bills.get(c.billNo));
      if (!b) return fail('BILL_NOT_FOUND', c.billNo);
      // The same number with another token (a kiosk whose database went back in time): never serve the
      // stored bill for it, and never take money for either token's fine by mistake.
      if (b.token !== token) return refuse('BILL_CONFLICT', `bill ${c.billNo} is held with another token`);
      return ok(b);
    },
    /** May this bill be paid now (hub/trust/payable.ts)? A refusal is kept in the security log. */
    async payable(b: HubBill): Promise<Result<void>> {
      const r = await checkPayable(db, b, nowS());
      if (!r.ok && ['DEVICE_DISABLED', 'AMOUNT_MISMATCH', 'UNKNOWN_DEVICE'].includes(r.error.code)) {
        await recordSecurity(db, [
          {
            at: nowS(),
            deviceId: b.deviceId,
            source: 'pay',
            code: r.error.code,
            reason: r.error.message,
            eventSeq: null,
            eventType: null,
            subject: b.billNo,
          },
        ]);
      }
      return r;
    },
    async get(billNo: string, q: HubQueryable = db): Promise<HubBill | undefined> {
      const r = await q.query<BillRow>('SELECT * FROM bills WHERE bill_no = $1', [billNo]);
      return r.rows[0] ? billFromRow(r.rows[0]) : undefined;
    },
    /** Voids an open bill at the hub and tells the kiosk that issued it. */
    async void(billNo: string, reason: string): Promise<Result<HubBill>> {
      return db.transaction(async (tx) => {
        const r = await tx.query<BillRow>('SELECT * FROM bills WHERE bill_no = $1 FOR UPDATE', [billNo]);
        const b = r.rows[0];
        if (!b) return fail<HubBill>('BILL_NOT_FOUND', billNo);
        if (b.status === 'paid') return fail<HubBill>('BILL_PAID', billNo);
        await tx.query("UPDATE bills SET status = 'voided' WHERE bill_no = $1", [billNo]);
        // Its open channel orders are closed by the pay jobs, queued with the void.
        await queueCloseEndedOrders(tx, nowS(), { billNos: [billNo] });
        await tx.query('INSERT INTO voids (bill_no, reason, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [
          billNo,
          reason,
          nowS(),
        ]);
        await addChange(tx, 'void', { deviceId: b.device_id }, { billNo, reason });
        await notifyFeed(tx);
        return ok(billFromRow({ ...b, status: 'voided' }));
      });
    },
  };

  return bills;
}
