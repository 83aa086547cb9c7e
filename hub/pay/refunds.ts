// Refunds through the channels. A payment the hub cannot keep (a second payment of a paid fine, money
// for a voided or expired bill) is flagged in pay_refunds, by this area or by the hub's settlement. Each
// flagged row gets a refund request number (out_request_no / out_refund_no, letters, digits and
// underscore so both channels take it) and is executed by the job worker: automatically, or after an
// operator approves when the `refundApproval` setting asks for it. The same number sent again is the
// same refund at both channels, so a retry after a lost answer never pays twice.
import type { Channel } from '../../protocol/ids.ts';
import { messages, type ErrorCode } from '../../protocol/errors.ts';
import { fail, ok, type Result } from '../../protocol/result.ts';
import type { ChannelAdapter, ChannelRefund } from '../channels/types.ts';
import type { HubQueryable } from '../db.ts';
import { enqueueJob, requeueJob, type JobOutcome, type PayJob } from './jobs.ts';

/** flagged → (pending_approval →) approved → processing → success | failed. */
export const REFUND_STATES = ['flagged', 'pending_approval', 'approved', 'processing', 'success', 'failed'] as const;
export type RefundState = (typeof REFUND_STATES)[number];

export interface RefundRecord {
  channel: string;
  txnId: string;
  billNo: string;
  outTradeNo: string;
  amountFen: number;
  /** Why the hub could not keep the payment: an error code of protocol/errors.ts (BILL_PAID, BILL_VOIDED...). */
  reason: string;
  /** The reason as the catalogue words it, in both languages (the code itself when it is not a known one). */
  reasonText: { zh: string; en: string };
  outRefundNo: string | null;
  status: RefundState;
  refundId: string | null;
  lastError: string | null;
  /** The operator who approved it (`cli`, `operator:<id>`), and when (Unix seconds); null when automatic. */
  approvedBy: string | null;
  approvedAt: number | null;
  /** When the payment was flagged, and when the channel reported the refund done (Unix seconds). */
  flaggedAt: number;
  doneAt: number | null;
}

interface Row {
  channel: string;
  txn_id: string;
  bill_no: string;
  out_trade_no: string;
  amount_fen: string | number;
  reason: string;
  out_refund_no: string | null;
  status: RefundState;
  refund_id: string | null;
  last_error: string | null;
  approved_by: string | null;
  approved_at: string | number | null;
  created_at: string | number;
  done_at: string | number | null;
}

/** Reasons written before they were codes. */
const OLD_REASONS: Record<string, ErrorCode> = { 'bill already paid by another transaction': 'BILL_PAID' };

function reasonText(reason: string): { zh: string; en: string } {
  const code = OLD_REASONS[reason] ?? reason;
  const m = (messages as Record<string, { zh: string; en: string } | undefined>)[code];
  return m ? { zh: m.zh, en: m.en } : { zh: reason, en: reason };
}

function view(r: Row): RefundRecord {
  return {
    channel: r.channel,
    txnId: r.txn_id,
    billNo: r.bill_no,
    outTradeNo: r.out_trade_no,
    amountFen: Number(r.amount_fen),
    reason: r.reason,
    reasonText: reasonText(r.reason),
    outRefundNo: r.out_refund_no,
    status: r.status,
    refundId: r.refund_id,
    lastError: r.last_error,
    approvedBy: r.approved_by,
    approvedAt: r.approved_at === null ? null : Number(r.approved_at),
    flaggedAt: Number(r.created_at),
    doneAt: r.done_at === null ? null : Number(r.done_at),
  };
}

/** The refund request number of a flagged payment: one per payment, accepted by both channels. */
export function refundRequestNo(channel: string, txnId: string): string {
  return `RF${channel === 'alipay' ? 'A' : 'W'}_${txnId.replace(/[^A-Za-z0-9]/g, '').slice(-40)}`;
}

/**
 * Every refund with its state and approval, newest first: the one listing behind `hub pay refunds`,
 * `hub refund list` and the console's refunds page.
 */
export async function listRefunds(db: HubQueryable): Promise<RefundRecord[]> {
  const r = await db.query<Row>('SELECT * FROM pay_refunds ORDER BY created_at DESC, channel, txn_id');
  return r.rows.map(view);
}

/** States in which an operator's approval does something: waiting for it, or failed and retried. */
export const APPROVABLE: readonly RefundState[] = ['flagged', 'pending_approval', 'failed'];

/**
 * An operator's approval (or the retry of a failed refund), recorded on the refund itself: who (`by`) and
 * when (`nowS`, Unix seconds), then its job is queued for the worker. A refund that is already approved,
 * under way or done is returned as it is (approving twice changes nothing). NOT_FOUND when the hub flagged
 * no such payment.
 */
export async function approveRefund(
  db: HubQueryable,
  channel: string,
  txnId: string,
  by: string,
  nowS: number,
): Promise<Result<RefundRecord>> {
  const r = await db.query<Row>(
    `UPDATE pay_refunds SET status = 'approved', approved_by = $3, approved_at = $4, last_error = NULL,
       out_refund_no = coalesce(out_refund_no, $5)
     WHERE channel = $1 AND txn_id = $2 AND status = ANY($6::text[]) RETURNING *`,
    [channel, txnId, by, nowS, refundRequestNo(channel, txnId), [...APPROVABLE]],
  );
  const row = r.rows[0];
  if (!row) {
    const cur = await db.query<Row>('SELECT * FROM pay_refunds WHERE channel = $1 AND txn_id = $2', [channel, txnId]);
    if (!cur.rows[0]) return fail('NOT_FOUND', `refund ${channel} ${txnId}`);
    return ok(view(cur.rows[0])); // already approved, under way or done: nothing to do
  }
  await enqueueJob(db, 'refund', row.out_refund_no!, { channel, txnId }, nowS);
  await requeueJob(db, 'refund', row.out_refund_no!, nowS);
  return ok(view(row));
}

export interface RefundsOptions {
  db: HubQueryable;
  channels: Partial<Record<Channel, ChannelAdapter>>;
  now: () => number;
  /** When true an operator approves each refund before it is executed. */
  approval: boolean;
  log?: (msg: string, data?: Record<string, unknown>) => void;
}

export function createRefunds(o: RefundsOptions) {
  const log = o.log ?? (() => undefined);

  /** Gives flagged rows (whoever flagged them) a request number and queues or holds them. */
  async function admitFlagged(): Promise<number> {
    const r = await o.db.query<Row>("SELECT * FROM pay_refunds WHERE status = 'flagged' ORDER BY created_at LIMIT 500");
    for (const row of r.rows) {
      const no = row.out_refund_no ?? refundRequestNo(row.channel, row.txn_id);
      const next: RefundState = o.approval ? 'pending_approval' : 'approved';
      const u = await o.db.query(
        "UPDATE pay_refunds SET out_refund_no = $3, status = $4 WHERE channel = $1 AND txn_id = $2 AND status = 'flagged'",
        [row.channel, row.txn_id, no, next],
      );
      if (u.rowCount && next === 'approved') await enqueueJob(o.db, 'refund', no, { channel: row.channel, txnId: row.txn_id }, o.now());
    }
    return r.rows.length;
  }

  /** An operator's approval (or a retry of a failed one): approveRefund on this area's database. */
  const approve = (channel: string, txnId: string, by: string): Promise<Result<RefundRecord>> =>
    approveRefund(o.db, channel, txnId, by, o.now());

  async function record(row: Row, r: ChannelRefund): Promise<JobOutcome> {
    if (r.status === 'success') {
      await o.db.query(
        `UPDATE pay_refunds SET status = 'success', refund_id = $3, done_at = $4, resolved_at = $4, last_error = NULL
         WHERE channel = $1 AND txn_id = $2`,
        [row.channel, row.txn_id, r.refundId ?? null, r.doneAt ?? o.now()],
      );
      log('refund done', { channel: row.channel, billNo: row.bill_no });
      return { done: true };
    }
    if (r.status === 'closed' || r.status === 'abnormal') {
      await o.db.query("UPDATE pay_refunds SET status = 'failed', last_error = $3 WHERE channel = $1 AND txn_id = $2", [
        row.channel,
        row.txn_id,
        `channel refund ${r.status}`,
      ]);
      return { done: false, error: `refund ${r.status}`, giveUp: true };
    }
    await o.db.query("UPDATE pay_refunds SET status = 'processing', refund_id = $3 WHERE channel = $1 AND txn_id = $2", [
      row.channel,
      row.txn_id,
      r.refundId ?? row.refund_id,
    ]);
    return { done: false, error: 'refund processing at the channel' };
  }

  /** The job: ask the channel (refund, or query when it is already under way), keep the state. */
  async function execute(job: PayJob): Promise<JobOutcome> {
    const { channel, txnId } = job.payload as { channel: Channel; txnId: string };
    const cur = await o.db.query<Row>('SELECT * FROM pay_refunds WHERE channel = $1 AND txn_id = $2', [channel, txnId]);
    const row = cur.rows[0];
    if (!row || !row.out_refund_no) return { done: false, error: 'no such refund', giveUp: true };
    if (row.status === 'success') return { done: true };
    if (row.status !== 'approved' && row.status !== 'processing') return { done: false, error: `refund is ${row.status}`, giveUp: true };
    const adapter = o.channels[channel];
    if (!adapter) return { done: false, error: `channel ${channel} is not configured` };
    const order = await o.db.query<{ amount_fen: string | number }>('SELECT amount_fen FROM pay_orders WHERE out_trade_no = $1', [row.out_trade_no]);
    const totalFen = Number(order.rows[0]?.amount_fen ?? row.amount_fen);
    const r =
      row.status === 'processing'
        ? await adapter.refundQuery(row.out_trade_no, row.out_refund_no)
        : await adapter.refund({
            outTradeNo: row.out_trade_no,
            txnId: row.txn_id,
            outRefundNo: row.out_refund_no,
            amountFen: Number(row.amount_fen),
            totalFen,
            reason: '重复缴款退款',
          });
    if (!r.ok) {
      await o.db.query('UPDATE pay_refunds SET last_error = $3 WHERE channel = $1 AND txn_id = $2', [
        channel,
        txnId,
        `${r.error.code} ${JSON.stringify(r.error.details ?? {})}`.slice(0, 500),
      ]);
      return { done: false, error: r.error.code };
    }
    if (r.value.status === 'notfound') {
      // Asked while processing and the channel holds nothing: send the refund (same number) again.
      await o.db.query("UPDATE pay_refunds SET status = 'approved' WHERE channel = $1 AND txn_id = $2", [channel, txnId]);
      return { done: false, error: 'refund not found at the channel; sending again' };
    }
    return record(row, r.value);
  }

  /**
   * A verified refund notification (WeChat REFUND.*, Alipay's refund notice on the trade's notify_url):
   * records the outcome for its request number. NOT_FOUND when the hub made no such refund on this channel
   * (and order, when the notification names it); AMOUNT_MISMATCH when the amount is not the refund's (for
   * Alipay, refund_fee is the trade's total refunded, which includes refunds made elsewhere). Nothing is
   * changed on a failure.
   */
  async function notified(channel: Channel, r: ChannelRefund): Promise<Result<RefundRecord>> {
    const cur = await o.db.query<Row>('SELECT * FROM pay_refunds WHERE out_refund_no = $1 AND channel = $2', [
      r.outRefundNo,
      channel,
    ]);
    const row = cur.rows[0];
    if (!row || (r.outTradeNo !== undefined && r.outTradeNo !== row.out_trade_no))
      return fail('NOT_FOUND', `refund ${r.outRefundNo}`);
    if (Number(row.amount_fen) !== r.amountFen) return fail('AMOUNT_MISMATCH', `refund ${r.outRefundNo}`);
    if (row.status !== 'success') await record(row, r);
    const again = await o.db.query<Row>('SELECT * FROM pay_refunds WHERE out_refund_no = $1', [r.outRefundNo]);
    return ok(view(again.rows[0]!));
  }

  /** Asks the channel about a refund now (its job, due at once): after a notification the hub could not take. */
  async function recheck(channel: Channel, outRefundNo: string): Promise<boolean> {
    const cur = await o.db.query<Row>(
      "SELECT * FROM pay_refunds WHERE out_refund_no = $1 AND channel = $2 AND status IN ('approved', 'processing')",
      [outRefundNo, channel],
    );
    if (!cur.rows[0]) return false;
    await enqueueJob(o.db, 'refund', outRefundNo, { channel, txnId: cur.rows[0].txn_id }, o.now());
    await requeueJob(o.db, 'refund', outRefundNo, o.now());
    return true;
  }

  return { admitFlagged, approve, execute, notified, recheck, list: () => listRefunds(o.db) };
}
