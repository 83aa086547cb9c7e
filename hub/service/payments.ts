// Payments: settling a payment once per fine (channel money or a kiosk's hub-signed confirmation).
import { ok, type Result } from '../../protocol/result.ts';
import { makeConfirmationToken, type ConfirmationClaims } from '../../protocol/tokens.ts';
import { acceptPayment } from '../../protocol/acceptance.ts';
import { queueCloseEndedOrders } from '../pay/jobs.ts';
import type { HubQueryable } from '../db.ts';
import type { HubCtx } from './context.ts';
import type { HubKeys } from './keys.ts';
import { billFromRow, type BillRow } from './rows.ts';
import type { HubKey, SettleInput, SettleResult } from './types.ts';
import type { Fine } from '../../protocol/fines.ts';

/** Builds hub.payments and settleIn (the in-transaction settlement push uses for a kiosk's confirmation). */
export function createPayments(
  ctx: HubCtx,
  keys: HubKeys,
  setFineStatus: (tx: HubQueryable, decisionNo: string, status: Fine['status']) => Promise<void>,
) {
  const { db, nowS, notifyFeed, addChange, lockFine } = ctx;

  /**
   * Settles one payment inside the caller's transaction, holding the fine's lock (so payments of one fine are
   * decided one after the other). The confirmation rules are protocol/acceptance.ts's; then a fine is paid
   * once: a payment of a fine already paid (by another bill, another channel, at a counter) is recorded and
   * flagged for refund with its amount; the first one voids the fine's other live bills (their kiosks pull
   * the voids) and marks their open channel orders to be closed.
   * `o.token`: a hub-signed token the caller verified (a kiosk's push); otherwise `o.signer` signs one.
   */
  async function settleIn(
    tx: HubQueryable,
    input: SettleInput,
    o: { signer?: HubKey; token?: string; source: 'channel' | 'kiosk'; deviceId?: string },
  ): Promise<Result<SettleResult>> {
    // The same notification arriving twice at once (two hub processes) is decided once: its own lock first.
    await lockFine(tx, `payment:${input.channel}:${input.txnId}`);
    const prev = await tx.query<{ token: string | null; status: string; refund_reason: string | null }>(
      'SELECT token, status, refund_reason FROM payments WHERE channel = $1 AND txn_id = $2',
      [input.channel, input.txnId],
    );
    if (prev.rows[0]) {
      const p = prev.rows[0];
      return ok<SettleResult>(
        p.status === 'refund' || !p.token
          ? { status: 'refund', ...(p.refund_reason ? { reason: p.refund_reason } : {}) }
          : { status: 'duplicate', token: p.token },
      );
    }
    // One settlement per fine at a time (a fine may have several bills): its lock comes before any bill's.
    const pre = await tx.query<{ decision_no: string }>('SELECT decision_no FROM bills WHERE bill_no = $1', [
      input.billNo,
    ]);
    if (pre.rows[0]) await lockFine(tx, pre.rows[0].decision_no);
    const r = await tx.query<BillRow>('SELECT * FROM bills WHERE bill_no = $1 FOR UPDATE', [input.billNo]);
    const b = r.rows[0];
    const flag = async (reason: string): Promise<Result<SettleResult>> => {
      await tx.query(
        `INSERT INTO payments (channel, txn_id, bill_no, amount_fen, paid_at, token, source, status, device_id, refund_fen, refund_reason, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'refund', $8, $4, $9, $10)`,
        [
          input.channel,
          input.txnId,
          input.billNo,
          input.amountFen,
          input.paidAt,
          o.token ?? null,
          o.source,
          o.deviceId ?? null,
          reason,
          nowS(),
        ],
      );
      // Listed for the operator (`hub pay refunds`) and taken by the channels' refund job.
      await tx.query(
        `INSERT INTO pay_refunds (channel, txn_id, bill_no, out_trade_no, amount_fen, reason, created_at)
         VALUES ($1, $2, $3, coalesce($4, (SELECT out_trade_no FROM pay_orders WHERE bill_no = $3 AND channel = $1
                                           ORDER BY (txn_id = $2) DESC, created_at DESC LIMIT 1), ''), $5, $6, $7)
         ON CONFLICT DO NOTHING`,
        [input.channel, input.txnId, input.billNo, input.outTradeNo ?? null, input.amountFen, reason, nowS()],
      );
      return ok<SettleResult>({ status: 'refund', reason });
    };
    const a = acceptPayment(input, {
      // Paid in time means by the hub's own clock: payable until 4 hours after the hub first saw it.
      bill: b
        ? {
            billNo: b.bill_no,
            status: b.status,
            amountFen: Number(b.amount_fen),
            issuedAt: Number(b.issued_at),
            expiresAt: billFromRow(b).payableUntil,
          }
        : undefined,
      txnSeen: 'never',
      repeatIsHarmless: true,
      heldByHub: false,
    });
    if (!a.ok) {
      // Money the channel took for a bill that cannot take it: kept and paid back, never dropped.
      if (b && ['BILL_PAID', 'BILL_VOIDED', 'PAID_AFTER_EXPIRY'].includes(a.error.code))
        return flag(a.error.code);
      // A channel's money dated before its bill (clocks far apart) is still money: paid back. A device's
      // confirmation dated so is no payment at all and records nothing.
      if (b && a.error.code === 'PAID_BEFORE_ISSUE' && o.source === 'channel') return flag(a.error.code);
      return a;
    }
    const bill = b!;
    const f = await tx.query<{ status: string | null; other_paid: number }>(
      `SELECT (SELECT status FROM fines WHERE decision_no = $1) AS status,
              (SELECT count(*)::int FROM bills WHERE decision_no = $1 AND bill_no <> $2 AND status = 'paid') AS other_paid`,
      [bill.decision_no, bill.bill_no],
    );
    const fine = f.rows[0]!;
    if ((fine.status !== null && fine.status !== 'unpaid') || Number(fine.other_paid) > 0) {
      return flag('FINE_NOT_PAYABLE');
    }
    let token = o.token;
    let claims: ConfirmationClaims | undefined;
    if (!token) {
      const signer = o.signer!;
      claims = { ...input, keyId: signer.keyId };
      delete (claims as Partial<SettleInput>).outTradeNo;
      token = makeConfirmationToken(claims, signer.privateKey);
    }
    const keyId = token.split('.')[6] ?? null;
    await tx.query(
      `INSERT INTO payments (channel, txn_id, bill_no, amount_fen, paid_at, key_id, token, source, status, device_id, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'settled', $9, $10)`,
      [
        input.channel,
        input.txnId,
        input.billNo,
        input.amountFen,
        input.paidAt,
        keyId,
        token,
        o.source,
        o.deviceId ?? null,
        nowS(),
      ],
    );
    await tx.query("UPDATE bills SET status = 'paid', paid_txn = $2 WHERE bill_no = $1", [
      input.billNo,
      input.txnId,
    ]);
    // The payment goes into the feed before the fine's new status: a kiosk that saw the fine paid
    // first would void its live bill and then refuse the payment of it.
    await addChange(tx, 'payment', { deviceId: bill.device_id }, { billNo: input.billNo, token });
    await setFineStatus(tx, bill.decision_no, 'paid');
    const others = await tx.query<{ bill_no: string; device_id: string }>(
      "UPDATE bills SET status = 'voided' WHERE decision_no = $1 AND bill_no <> $2 AND status = 'live' RETURNING bill_no, device_id",
      [bill.decision_no, bill.bill_no],
    );
    if (others.rows.length) {
      const nos = others.rows.map((x) => x.bill_no);
      await tx.query(
        `INSERT INTO voids (bill_no, reason, at) SELECT b, 'fine-paid', $2 FROM unnest($1::text[]) AS u(b) ON CONFLICT DO NOTHING`,
        [nos, nowS()],
      );
      for (const x of others.rows) {
        await addChange(
          tx,
          'void',
          { deviceId: x.device_id },
          { billNo: x.bill_no, reason: `fine paid by bill ${bill.bill_no}` },
        );
      }
      // The channels' job closes these orders (a payment that lands before it does is refunded); queued in
      // this transaction, so the decision and the work to do commit together.
      await queueCloseEndedOrders(tx, nowS(), { billNos: nos });
    }
    return ok<SettleResult>({ status: 'settled', token, ...(claims ? { claims } : {}) });
  }

  const payments = {
    /**
     * Records a verified channel payment: marks bill and fine paid once, signs the confirmation token
     * with the current hub key and publishes it to the issuing kiosk's pull feed. Idempotent per
     * (channel, txnId); a second transaction for a paid bill is kept with status 'refund'.
     */
    async settle(input: SettleInput): Promise<Result<SettleResult>> {
      const key = await keys.current();
      return db.transaction(async (tx) => {
        const r = await settleIn(tx, input, { signer: key, source: 'channel' });
        if (r.ok && r.value.status === 'settled') await notifyFeed(tx);
        return r;
      });
    },
    async forBill(
      billNo: string,
    ): Promise<{ channel: string; txnId: string; status: string; token: string | null }[]> {
      const r = await db.query<{ channel: string; txn_id: string; status: string; token: string | null }>(
        'SELECT channel, txn_id, status, token FROM payments WHERE bill_no = $1 ORDER BY created_at',
        [billNo],
      );
      return r.rows.map((x) => ({ channel: x.channel, txnId: x.txn_id, status: x.status, token: x.token }));
    },
  };

  return { payments, settleIn };
}
