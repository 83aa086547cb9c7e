// Bills: a signed, 4-hour payment request for one unpaid fine. amount = fine + late fee on the day of
// issue. At most one live bill per fine: issuing again voids the earlier one (a unique index enforces it).
import { BILL_NEXT_SEQ_SQL, issueGuard } from '../sync/guard.ts';
import type { Database } from '../../db/connection.ts';
import { billNoSchema } from '../../protocol/ids.ts';
import { billAmount } from '../../protocol/money.ts';
import type { BillState } from '../../protocol/bills.ts';
import { fail, ok, type Result } from '../../protocol/result.ts';
import { unixSeconds, type Clock } from '../../protocol/time.ts';
import { BILL_VALIDITY_SECONDS, billUrl, makeBillToken } from '../../protocol/tokens.ts';
import type { Channel } from '../../protocol/ids.ts';
import type { Identity } from '../identity/identity.ts';
import { appendEvent } from '../outbox/outbox.ts';
import type { Settings } from '../settings/settings.ts';
import { fineFromRow, type Fine, type FineRow, type FinesService } from '../fines/fines.ts';

/** The bill states of protocol/bills.ts, one vocabulary with the hub. */
export type BillStatus = BillState;
export type VoidReason = 'reissued' | 'staff' | 'expired' | 'hub';

export interface BillView {
  billNo: string;
  decisionNo: string;
  fineFen: number;
  lateFeeFen: number;
  amountFen: number;
  issuedAt: number;
  expiresAt: number;
  token: string;
  url: string;
  deviceId: string;
  status: BillStatus;
  voidReason?: string;
  fine: Fine;
  payment?: { channel: Channel; txnId: string; paidAt: number; amountFen: number };
}

export interface BillRow {
  bill_no: string;
  seq: number;
  decision_no: string;
  fine_fen: number;
  late_fee_fen: number;
  amount_fen: number;
  issued_at: number;
  expires_at: number;
  token: string;
  status: BillStatus;
  void_reason: string | null;
  closed_at: number | null;
}

export interface BillsService {
  issue(decisionNo: string): Result<BillView>;
  get(billNo: string): Result<BillView>;
  void(billNo: string, reason?: VoidReason): Result<BillView>;
  /** Marks live bills past their expiry as expired (each with its event); returns how many. */
  expireDue(): number;
  /** Bills issued at or after `since` (Unix seconds), oldest first. */
  listSince(since: number): BillView[];
  /** The live bill of a fine, if any (and not past expiry). */
  liveFor(decisionNo: string): BillView | undefined;
}

/** billNo: the device id in capitals, a dash, the device's bill sequence: unique forever on this device. */
export function makeBillNo(deviceId: string, seq: number): string {
  return `${deviceId.toUpperCase()}-${seq}`;
}

export function createBillsService(
  db: Database,
  clock: Clock,
  identity: Identity,
  settings: Settings,
  fines: FinesService,
): BillsService {
  const fineRow = db.prepare<[string], FineRow>('SELECT * FROM fines WHERE decision_no = ?');
  const billRow = db.prepare<[string], BillRow>('SELECT * FROM bills WHERE bill_no = ?');
  const liveOf = db.prepare<[string], BillRow>(
    "SELECT * FROM bills WHERE decision_no = ? AND status = 'live'",
  );
  const nextSeq = db.prepare<[], { n: number }>(BILL_NEXT_SEQ_SQL);
  const insert = db.prepare(`
    INSERT INTO bills (bill_no, seq, decision_no, fine_fen, late_fee_fen, amount_fen, issued_at, expires_at, token, status)
    VALUES (@bill_no, @seq, @decision_no, @fine_fen, @late_fee_fen, @amount_fen, @issued_at, @expires_at, @token, 'live')`);
  const close = db.prepare<[BillStatus, string | null, number, string]>(
    "UPDATE bills SET status = ?, void_reason = ?, closed_at = ? WHERE bill_no = ? AND status = 'live'",
  );
  const due = db.prepare<[number], { bill_no: string }>(
    "SELECT bill_no FROM bills WHERE status = 'live' AND expires_at < ? ORDER BY seq",
  );
  const since = db.prepare<[number], BillRow>('SELECT * FROM bills WHERE issued_at >= ? ORDER BY seq');
  const paymentOf = db.prepare<
    [string],
    { channel: Channel; txn_id: string; paid_at: number; amount_fen: number }
  >(
    'SELECT channel, txn_id, paid_at, amount_fen FROM payments WHERE bill_no = ? ORDER BY recorded_at LIMIT 1',
  );

  const toView = (r: BillRow, now: number, fine?: FineRow): BillView => {
    const fr = fine ?? fineRow.get(r.decision_no);
    if (!fr) throw new Error(`bill ${r.bill_no} refers to a missing fine`);
    const status: BillStatus = r.status === 'live' && r.expires_at < now ? 'expired' : r.status;
    const v: BillView = {
      billNo: r.bill_no,
      decisionNo: r.decision_no,
      fineFen: r.fine_fen,
      lateFeeFen: r.late_fee_fen,
      amountFen: r.amount_fen,
      issuedAt: r.issued_at,
      expiresAt: r.expires_at,
      token: r.token,
      url: billUrl(settings.hubBase(), r.token),
      deviceId: identity.deviceId,
      status,
      fine: fineFromRow(fr),
    };
    if (r.void_reason) v.voidReason = r.void_reason;
    if (r.status === 'paid') {
      const p = paymentOf.get(r.bill_no);
      if (p) v.payment = { channel: p.channel, txnId: p.txn_id, paidAt: p.paid_at, amountFen: p.amount_fen };
    }
    return v;
  };

  /** Closes a live bill with its event; runs inside the caller's transaction. */
  const closeLive = (billNo: string, status: 'voided' | 'expired', reason: VoidReason, now: number): void => {
    close.run(status, reason, now, billNo);
    appendEvent(db, 'bill.voided', { billNo, reason, at: now }, clock.now());
  };

  const issueTx = db.transaction((decisionNo: string): Result<BillView> => {
    const guard = issueGuard(db, clock.now());
    if (!guard.ok) return guard;
    const fr = fineRow.get(decisionNo);
    if (!fr) return fail('FINE_NOT_FOUND', decisionNo);
    if (fr.status !== 'unpaid') return fail('FINE_NOT_PAYABLE', `the fine is ${fr.status}`);
    const now = unixSeconds(clock);
    const { lateFeeFen: lateFee, amountFen } = billAmount(
      { fineFen: fr.fine_fen, decidedOn: fr.decided_on },
      now,
    );
    const seq = nextSeq.get()!.n;
    const billNo = makeBillNo(identity.deviceId, seq);
    const claims = {
      billNo,
      decisionNo,
      amountFen,
      issuedAt: now,
      expiresAt: now + BILL_VALIDITY_SECONDS,
      deviceId: identity.deviceId,
    };
    const token = makeBillToken(claims, identity.privateKey);
    const old = liveOf.get(decisionNo);
    if (old) {
      // A live bill past its expiry is expired, not voided by the reissue.
      if (old.expires_at < now) closeLive(old.bill_no, 'expired', 'expired', now);
      else closeLive(old.bill_no, 'voided', 'reissued', now);
    }
    const row: BillRow = {
      bill_no: billNo,
      seq,
      decision_no: decisionNo,
      fine_fen: fr.fine_fen,
      late_fee_fen: lateFee,
      amount_fen: claims.amountFen,
      issued_at: now,
      expires_at: claims.expiresAt,
      token,
      status: 'live',
      void_reason: null,
      closed_at: null,
    };
    insert.run({
      bill_no: row.bill_no,
      seq: row.seq,
      decision_no: row.decision_no,
      fine_fen: row.fine_fen,
      late_fee_fen: row.late_fee_fen,
      amount_fen: row.amount_fen,
      issued_at: row.issued_at,
      expires_at: row.expires_at,
      token,
    });
    appendEvent(
      db,
      'bill.issued',
      {
        billNo,
        decisionNo,
        fineFen: row.fine_fen,
        lateFeeFen: lateFee,
        amountFen: row.amount_fen,
        issuedAt: now,
        expiresAt: row.expires_at,
        token,
        ...(old && old.expires_at >= now ? { replaces: old.bill_no } : {}),
      },
      clock.now(),
    );
    return ok(toView(row, now, fr));
  });

  const parseBillNo = (billNo: unknown): Result<string> => {
    const p = billNoSchema.safeParse(typeof billNo === 'string' ? billNo.trim() : billNo);
    return p.success ? ok(p.data) : fail('MALFORMED', p.error.issues[0]?.message);
  };

  return {
    issue: (decisionNo) => {
      const c = fines.checkDecisionNo(decisionNo);
      if (!c.ok) return c;
      return issueTx.immediate(c.value);
    },
    get: (billNo) => {
      const b = parseBillNo(billNo);
      if (!b.ok) return b;
      const r = billRow.get(b.value);
      return r ? ok(toView(r, unixSeconds(clock))) : fail('BILL_NOT_FOUND', b.value);
    },
    void: (billNo, reason = 'staff') => {
      const b = parseBillNo(billNo);
      if (!b.ok) return b;
      return db
        .transaction((): Result<BillView> => {
          const r = billRow.get(b.value);
          if (!r) return fail('BILL_NOT_FOUND', b.value);
          const now = unixSeconds(clock);
          if (r.status === 'paid') return fail('BILL_PAID', b.value);
          if (r.status === 'voided') return fail('BILL_VOIDED', b.value);
          if (r.status === 'expired' || r.expires_at < now) return fail('BILL_EXPIRED', b.value);
          closeLive(r.bill_no, 'voided', reason, now);
          return ok(toView(billRow.get(b.value)!, now));
        })
        .immediate();
    },
    expireDue: () =>
      db
        .transaction(() => {
          const now = unixSeconds(clock);
          const rows = due.all(now);
          for (const r of rows) closeLive(r.bill_no, 'expired', 'expired', now);
          return rows.length;
        })
        .immediate(),
    listSince: (t) => {
      const now = unixSeconds(clock);
      return since.all(t).map((r) => toView(r, now));
    },
    liveFor: (decisionNo) => {
      const r = liveOf.get(decisionNo);
      const now = unixSeconds(clock);
      return r && r.expires_at >= now ? toView(r, now) : undefined;
    },
  };
}
