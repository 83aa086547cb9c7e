// Daily reconciliation (对账): a channel's statement for one Beijing day against the hub's payments and
// refunds. Payments match by the channel's transaction id, refunds by our refund request number.
// What the channel holds and the hub missed (a notification lost and never queried) is settled here;
// what is on one side only, or differs in amount, is reported. Reports are kept per channel and day.
import type { Channel } from '../../protocol/ids.ts';
import { fail, ok, type Failure, type Result } from '../../protocol/result.ts';
import type { ChannelAdapter, ChannelPayment, ChannelRefund, StatementRow } from '../channels/types.ts';
import type { HubQueryable } from '../db.ts';

export interface ReconcileLine {
  outTradeNo: string;
  txnId: string;
  amountFen: number;
  outRefundNo?: string;
  /** For an amount difference: what the hub holds. */
  hubFen?: number;
  /** For a settled one: what settling gave (settled, duplicate, refund). */
  outcome?: string;
}

export interface ReconcileReport {
  date: string;
  channel: Channel;
  /** Unix seconds. */
  ranAt: number;
  statement: { payments: number; refunds: number; paymentsFen: number; refundsFen: number };
  matched: { payments: number; refunds: number };
  /** On the statement, not in the hub, for one of our orders: settled now. */
  settled: ReconcileLine[];
  /** On the statement only, and not settled (unknown order, or settling refused). */
  channelOnly: ReconcileLine[];
  /** In the hub only. */
  hubOnly: ReconcileLine[];
  /** On both, with different amounts (hubFen is the hub's). */
  amountDiffs: ReconcileLine[];
  errors: Failure[];
}

/** Beijing day → [start, end) in Unix seconds. */
export function beijingDay(date: string): [number, number] {
  const start = Date.parse(`${date}T00:00:00+08:00`) / 1000;
  return [start, start + 86_400];
}

export const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

export interface ReconcileDeps {
  db: HubQueryable;
  adapter: ChannelAdapter;
  now: () => number;
  /** Settles a paid channel payment found on the statement (the pay service's settlePayment). */
  settle: (channel: Channel, p: ChannelPayment) => Promise<Result<string>>;
  /**
   * Records a refund the statement shows done on the hub's refund of that request number (the refunds
   * area's notified): the statement is the channel's word, as a notification is.
   */
  refunded?: (channel: Channel, r: ChannelRefund) => Promise<Result<unknown>>;
}

/** Matches given statement rows (already read) with the hub; pure over the database, used by the bench. */
export async function reconcileRows(
  deps: ReconcileDeps,
  date: string,
  rows: StatementRow[],
): Promise<ReconcileReport> {
  const channel = deps.adapter.channel;
  const [from, to] = beijingDay(date);
  const report: ReconcileReport = {
    date,
    channel,
    ranAt: deps.now(),
    statement: { payments: 0, refunds: 0, paymentsFen: 0, refundsFen: 0 },
    matched: { payments: 0, refunds: 0 },
    settled: [],
    channelOnly: [],
    hubOnly: [],
    amountDiffs: [],
    errors: [],
  };
  // The hub's side of the day: settled payments and flagged ones (money the channel holds either way).
  const hubPay = new Map<string, { amountFen: number; outTradeNo: string }>();
  const pays = await deps.db.query<{ txn_id: string; amount_fen: string | number; out_trade_no: string | null }>(
    `SELECT p.txn_id, p.amount_fen, o.out_trade_no FROM payments p
       LEFT JOIN pay_orders o ON o.channel = p.channel AND o.txn_id = p.txn_id
      WHERE p.channel = $1 AND p.paid_at >= $2 AND p.paid_at < $3
     UNION ALL
     SELECT r.txn_id, r.amount_fen, r.out_trade_no FROM pay_refunds r
      WHERE r.channel = $1 AND r.created_at >= $2 AND r.created_at < $3
        AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.channel = r.channel AND p.txn_id = r.txn_id)`,
    [channel, from, to],
  );
  for (const p of pays.rows) hubPay.set(p.txn_id, { amountFen: Number(p.amount_fen), outTradeNo: p.out_trade_no ?? '' });
  const hubRefund = new Map<string, { amountFen: number; outTradeNo: string; txnId: string }>();
  const refs = await deps.db.query<{ out_refund_no: string; amount_fen: string | number; out_trade_no: string; txn_id: string }>(
    `SELECT out_refund_no, amount_fen, out_trade_no, txn_id FROM pay_refunds
      WHERE channel = $1 AND status = 'success' AND done_at >= $2 AND done_at < $3 AND out_refund_no IS NOT NULL`,
    [channel, from, to],
  );
  for (const r of refs.rows)
    hubRefund.set(r.out_refund_no, { amountFen: Number(r.amount_fen), outTradeNo: r.out_trade_no, txnId: r.txn_id });

  const seenPay = new Set<string>();
  const seenRefund = new Set<string>();
  for (const row of rows) {
    if (row.kind === 'payment') {
      report.statement.payments++;
      report.statement.paymentsFen += row.amountFen;
      // A transaction listed again is never matched again: the statement's total would exceed the hub's.
      if (seenPay.has(row.txnId)) {
        report.channelOnly.push({ outTradeNo: row.outTradeNo, txnId: row.txnId, amountFen: row.amountFen, outcome: 'STATEMENT_DUPLICATE' });
        continue;
      }
      seenPay.add(row.txnId);
      const h = hubPay.get(row.txnId);
      if (h) {
        if (h.amountFen === row.amountFen) report.matched.payments++;
        else report.amountDiffs.push({ outTradeNo: row.outTradeNo, txnId: row.txnId, amountFen: row.amountFen, hubFen: h.amountFen });
        continue;
      }
      // Paid at the channel, unknown to the hub: maybe paid on another day in our books, else settle.
      // (A payment the hub keeps only flagged for refund counts too: the hub knows the money.)
      const other = await deps.db.query<{ amount_fen: string | number }>(
        `SELECT amount_fen FROM payments WHERE channel = $1 AND txn_id = $2
         UNION ALL SELECT amount_fen FROM pay_refunds WHERE channel = $1 AND txn_id = $2 LIMIT 1`,
        [channel, row.txnId],
      );
      if (other.rows[0]) {
        if (Number(other.rows[0].amount_fen) === row.amountFen) report.matched.payments++;
        else report.amountDiffs.push({ outTradeNo: row.outTradeNo, txnId: row.txnId, amountFen: row.amountFen, hubFen: Number(other.rows[0].amount_fen) });
        continue;
      }
      const s = await deps.settle(channel, { outTradeNo: row.outTradeNo, txnId: row.txnId, amountFen: row.amountFen, paidAt: row.at, status: 'paid' });
      if (s.ok) report.settled.push({ outTradeNo: row.outTradeNo, txnId: row.txnId, amountFen: row.amountFen, outcome: s.value });
      else {
        if (s.error.code === 'AMOUNT_MISMATCH') {
          const o = await deps.db.query<{ amount_fen: string | number }>('SELECT amount_fen FROM pay_orders WHERE out_trade_no = $1', [row.outTradeNo]);
          report.amountDiffs.push({ outTradeNo: row.outTradeNo, txnId: row.txnId, amountFen: row.amountFen, hubFen: Number(o.rows[0]?.amount_fen ?? 0) });
        } else report.channelOnly.push({ outTradeNo: row.outTradeNo, txnId: row.txnId, amountFen: row.amountFen, outcome: s.error.code });
      }
    } else {
      report.statement.refunds++;
      report.statement.refundsFen += row.amountFen;
      const no = row.outRefundNo ?? '';
      if (seenRefund.has(no)) {
        report.channelOnly.push({ outTradeNo: row.outTradeNo, txnId: row.txnId, outRefundNo: no, amountFen: row.amountFen, outcome: 'STATEMENT_DUPLICATE' });
        continue;
      }
      seenRefund.add(no);
      const h = hubRefund.get(no);
      if (h) {
        if (h.amountFen === row.amountFen) report.matched.refunds++;
        else report.amountDiffs.push({ outTradeNo: row.outTradeNo, txnId: row.txnId, outRefundNo: no, amountFen: row.amountFen, hubFen: h.amountFen });
        continue;
      }
      // Not done on this day in the hub's books: done on another day, or still under way in the hub (its
      // notification lost): recorded now, as a payment found here is settled.
      const other = await deps.db.query<{ amount_fen: string | number; status: string; out_trade_no: string }>(
        'SELECT amount_fen, status, out_trade_no FROM pay_refunds WHERE channel = $1 AND out_refund_no = $2',
        [channel, no],
      );
      const hr = other.rows[0];
      if (hr && hr.out_trade_no === row.outTradeNo) {
        const line = { outTradeNo: row.outTradeNo, txnId: row.txnId, outRefundNo: no, amountFen: row.amountFen };
        if (Number(hr.amount_fen) !== row.amountFen) report.amountDiffs.push({ ...line, hubFen: Number(hr.amount_fen) });
        else if (hr.status === 'success') report.matched.refunds++;
        else if (deps.refunded) {
          const r = await deps.refunded(channel, { outRefundNo: no, amountFen: row.amountFen, status: 'success', doneAt: row.at, outTradeNo: row.outTradeNo });
          if (r.ok) report.settled.push({ ...line, outcome: 'refunded' });
          else report.channelOnly.push({ ...line, outcome: r.error.code });
        } else report.channelOnly.push({ ...line, outcome: hr.status });
        continue;
      }
      report.channelOnly.push({ outTradeNo: row.outTradeNo, txnId: row.txnId, outRefundNo: no, amountFen: row.amountFen });
    }
  }
  for (const [txnId, h] of hubPay) {
    if (!seenPay.has(txnId)) report.hubOnly.push({ outTradeNo: h.outTradeNo, txnId, amountFen: h.amountFen });
  }
  for (const [no, h] of hubRefund) {
    if (!seenRefund.has(no)) report.hubOnly.push({ outTradeNo: h.outTradeNo, txnId: h.txnId, outRefundNo: no, amountFen: h.amountFen });
  }
  return report;
}

/** Downloads the statement, matches it, keeps the report (replacing an earlier run of the same day). */
export async function reconcileDay(deps: ReconcileDeps, date: string): Promise<Result<ReconcileReport>> {
  if (!DATE_RE.test(date) || Number.isNaN(beijingDay(date)[0])) return fail('MALFORMED', 'date is YYYY-MM-DD');
  const st = await deps.adapter.statement(date);
  if (!st.ok) return st;
  const report = await reconcileRows(deps, date, st.value);
  await deps.db.query(
    `INSERT INTO pay_reconciliations (bill_date, channel, report, created_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (bill_date, channel) DO UPDATE SET report = EXCLUDED.report, created_at = EXCLUDED.created_at`,
    [date, deps.adapter.channel, JSON.stringify(report), deps.now()],
  );
  return ok(report);
}

/** Kept reports, newest day first. */
export async function listReconciliations(db: HubQueryable, date?: string): Promise<ReconcileReport[]> {
  const r = await db.query<{ report: string }>(
    date
      ? 'SELECT report FROM pay_reconciliations WHERE bill_date = $1 ORDER BY channel'
      : 'SELECT report FROM pay_reconciliations ORDER BY bill_date DESC, channel LIMIT 60',
    date ? [date] : [],
  );
  return r.rows.map((x) => JSON.parse(x.report) as ReconcileReport);
}
