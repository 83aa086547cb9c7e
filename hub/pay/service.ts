// The pay service behind the bill's QR: checks the bill, opens (or reuses) the channel order that
// expires with the bill, settles verified notifications and scheduled queries through the hub's
// payments.settle, and flags money that cannot be kept for refund. Everything lives in the database,
// so any hub process can take any request.
import { billTimeCheck } from '../../protocol/billtime.ts';
import { randomInt } from 'node:crypto';
import type { Channel } from '../../protocol/ids.ts';
import { fail, ok, type Failure, type Result } from '../../protocol/result.ts';
import { systemClock, unixSeconds, type Clock } from '../../protocol/time.ts';
import { parseBillToken, type BillClaims } from '../../protocol/tokens.ts';
import type { BillState } from '../../protocol/bills.ts';
import type {
  ChannelAdapter,
  ChannelPayment,
  ChannelRefund,
  CreateOrderInput,
  RawNotification,
} from '../channels/types.ts';
import { enqueueJob, queueCloseEndedOrders, runDueJobs, type JobOutcome, type PayJob } from './jobs.ts';
import { createRefunds, listRefunds, type RefundRecord } from './refunds.ts';
import { reconcileDay, type ReconcileReport } from './reconcile.ts';
import { shanghaiTimestamp } from '../channels/util.ts';

type CreateJsapiInput = CreateOrderInput & { openid: string };

/** The part of the hub's service this area uses (hub/service/index.ts provides it). */
export interface PayHub {
  clock?: Clock;
  db: {
    query<R = Record<string, unknown>>(
      sql: string,
      params?: unknown[],
    ): Promise<{ rows: R[]; rowCount: number }>;
  };
  bills: {
    ensureKnown(claims: BillClaims, token: string): Promise<Result<PayBill>>;
    get(billNo: string): Promise<PayBill | undefined>;
    /** May the bill be paid now: device enabled, amount the hub's own, not from the future, fine unpaid. */
    payable(bill: PayBill): Promise<Result<void>>;
  };
  fines?: { byDecisionNo(decisionNo: string): Promise<PayFine | undefined> };
  payments: {
    settle(input: {
      outTradeNo?: string;
      billNo: string;
      amountFen: number;
      channel: Channel;
      txnId: string;
      paidAt: number;
    }): Promise<Result<{ status: 'settled' | 'duplicate' | 'refund'; token?: string }>>;
    forBill(
      billNo: string,
    ): Promise<{ channel: string; txnId: string; status: string; token: string | null }[]>;
  };
}

/** What the pay page shows of the fine (the hub's fines row). */
export interface PayFine {
  status: string;
  description?: string;
  descriptionEn?: string;
  points?: number;
  fineFen?: number;
  place?: string;
  occurredAt?: string;
}

export interface PayBill {
  billNo: string;
  deviceId: string;
  decisionNo: string;
  amountFen: number;
  issuedAt: number;
  expiresAt: number;
  /** protocol/bills.ts; the hub stores live, paid and voided. */
  status: BillState;
  /** The signed bill token the hub recorded. */
  token?: string;
  /** When the hub first saw it, and until when it keeps it payable (protocol/billtime.ts). */
  firstSeenAt?: number;
  payableUntil?: number;
}

/** The end of a bill's payability by the hub's clock (the token's expiry for a hub without the record). */
const payableUntil = (b: PayBill): number => b.payableUntil ?? b.expiresAt;

export interface PayServiceOptions {
  hub: PayHub;
  channels: Partial<Record<Channel, ChannelAdapter>>;
  clock?: Clock;
  /** How often one open order is queried at most, seconds. */
  queryEverySeconds?: number;
  /** A bill with less time left than this gets no new order: the payer could not finish in time. */
  minRemainingSeconds?: number;
  log?: (msg: string, data?: Record<string, unknown>) => void;
  /** When true, refunds of flagged payments wait for an operator's approval. */
  refundApproval?: boolean;
  /** Called when a job is queued, so a worker can run it at once instead of at its next tick. */
  onJobQueued?: () => void;
}

export type OpenOutcome =
  | { kind: 'choose'; bill: PayBill; channels: Channel[]; fine?: PayFine }
  | {
      kind: 'order';
      bill: PayBill;
      channel: Channel;
      payUrl: string;
      outTradeNo: string;
      reused: boolean;
      fine?: PayFine;
    }
  | { kind: 'paid'; bill: PayBill; confirmation?: string; payment?: PaidWith; fine?: PayFine }
  | { kind: 'expired'; bill: PayBill }
  | { kind: 'voided'; bill: PayBill };

/** The settled payment an electronic receipt names: the channel and its transaction id. */
export interface PaidWith {
  channel: Channel;
  txnId: string;
  paidAt?: number;
}

/**
 * settled: the bill is paid by it; duplicate: already settled; refund: kept and flagged for refund;
 * refunded: a refund notification recorded on the hub's refund; ignored: nothing to do (not paid, or a
 * refund the hub did not make, which the day's reconciliation reports).
 */
export type SettleOutcome = 'settled' | 'duplicate' | 'refund' | 'refunded' | 'ignored';

export interface OrderRow {
  out_trade_no: string;
  bill_no: string;
  channel: Channel;
  amount_fen: number;
  expires_at: number;
  pay_url: string | null;
  status: 'open' | 'paid' | 'closed' | 'refund' | 'failed';
  txn_id: string | null;
  created_at: number;
  url_at: number;
  checked_at: number;
}

/** Channel codes live about 2 hours; one older than this is fetched again for the same out_trade_no. */
const URL_FRESH_S = 90 * 60;
const SUFFIX_ALPHABET = '0123456789ABCDEFGHJKLMNPQRSTUVWXYZ';

/**
 * billNo (its '-' as '_') + "_" + channel letter + 4 random characters, at most 32 (WeChat's limit).
 * Only letters, digits and underscore: Alipay refuses anything else in out_trade_no.
 */
export function makeOutTradeNo(billNo: string, channel: Channel): string {
  let s = '';
  for (let i = 0; i < 4; i++) s += SUFFIX_ALPHABET[randomInt(SUFFIX_ALPHABET.length)];
  return `${billNo.replace(/[^A-Za-z0-9]/g, '_').slice(0, 26)}_${channel === 'alipay' ? 'A' : 'W'}${s}`;
}

export function subjectFor(bill: PayBill): string {
  return `交通违法罚款 缴款单${bill.billNo}`;
}

export type PayService = ReturnType<typeof createPayService>;

export function createPayService(opts: PayServiceOptions) {
  const { hub } = opts;
  const clock = opts.clock ?? systemClock;
  const every = opts.queryEverySeconds ?? 60;
  const minRemaining = opts.minRemainingSeconds ?? 60;
  const log = opts.log ?? (() => undefined);
  const nowS = (): number => unixSeconds(clock);
  const configured = (Object.keys(opts.channels) as Channel[]).filter((c) => opts.channels[c]).sort();

  async function confirmationFor(billNo: string): Promise<string | undefined> {
    const ps = await hub.payments.forBill(billNo);
    return ps.find((p) => p.status === 'settled' && p.token)?.token ?? undefined;
  }

  /** The payment that paid the bill (its signed confirmation and channel transaction), for the receipt. */
  async function receiptFor(billNo: string): Promise<{ confirmation?: string; payment?: PaidWith }> {
    const ps = await hub.payments.forBill(billNo);
    const p = ps.find((x) => x.status === 'settled' && x.token) ?? ps.find((x) => x.status === 'settled');
    if (!p) return {};
    const channel = p.channel === 'alipay' || p.channel === 'wechat' ? p.channel : undefined;
    return {
      ...(p.token ? { confirmation: p.token } : {}),
      ...(channel ? { payment: { channel, txnId: p.txnId } } : {}),
    };
  }

  async function openOrderRow(billNo: string, channel: Channel): Promise<OrderRow | undefined> {
    const r = await hub.db.query<OrderRow>(
      "SELECT * FROM pay_orders WHERE bill_no = $1 AND channel = $2 AND status = 'open'",
      [billNo, channel],
    );
    return r.rows[0];
  }

  async function fetchPayUrl(
    adapter: ChannelAdapter,
    bill: PayBill,
    outTradeNo: string,
    notifyUrl: string | undefined,
  ): Promise<Result<string>> {
    const r = await adapter.createOrder({
      outTradeNo,
      amountFen: bill.amountFen,
      subject: subjectFor(bill),
      // Never later than the bill as the hub holds it (protocol/billtime.ts).
      expiresAt: payableUntil(bill),
      ...(notifyUrl ? { notifyUrl } : {}),
    });
    if (!r.ok) return r;
    await hub.db.query('UPDATE pay_orders SET pay_url = $2, url_at = $3 WHERE out_trade_no = $1', [
      outTradeNo,
      r.value.payUrl,
      nowS(),
    ]);
    return ok(r.value.payUrl);
  }

  /** The bill's open order on this channel, made once however often and however concurrently it is scanned. */
  async function orderFor(
    bill: PayBill,
    channel: Channel,
    notifyBase: string | undefined,
  ): Promise<Result<{ payUrl: string; outTradeNo: string; reused: boolean }>> {
    const adapter = opts.channels[channel];
    if (!adapter) return fail('MALFORMED', `channel ${channel} is not configured`);
    const notifyUrl = notifyBase ? `${notifyBase.replace(/\/+$/, '')}/notify/${channel}` : undefined;
    for (let attempt = 0; attempt < 40; attempt++) {
      const existing = await openOrderRow(bill.billNo, channel);
      if (existing?.pay_url?.startsWith('jsapi:')) {
        // A JSAPI order is payable only inside WeChat by the payer it was made for: never shown to another
        // browser as a Native code (it would hold that payer's openid). Closed first, as jsapiOrder does
        // the other way round; then a Native order is made.
        const c = await adapter.close(existing.out_trade_no);
        if (!c.ok && c.error.details?.channelCode !== 'ORDER_NOT_EXIST') return c;
        await hub.db.query(
          "UPDATE pay_orders SET status = 'closed' WHERE out_trade_no = $1 AND status = 'open'",
          [existing.out_trade_no],
        );
        continue;
      }
      if (existing) {
        if (existing.pay_url && nowS() - Number(existing.url_at) < URL_FRESH_S) {
          return ok({ payUrl: existing.pay_url, outTradeNo: existing.out_trade_no, reused: true });
        }
        if (existing.pay_url || nowS() - Number(existing.created_at) > 15) {
          // Stale code (or a creator that died): ask again for the same out_trade_no.
          const u = await fetchPayUrl(adapter, bill, existing.out_trade_no, notifyUrl);
          if (!u.ok) return u;
          return ok({ payUrl: u.value, outTradeNo: existing.out_trade_no, reused: true });
        }
        // Another request is creating it right now.
        await new Promise((r) => setTimeout(r, 75));
        continue;
      }
      const outTradeNo = makeOutTradeNo(bill.billNo, channel);
      const ins = await hub.db.query(
        // checked_at = now: the first query is due one interval after the order is made.
        `INSERT INTO pay_orders (out_trade_no, bill_no, channel, amount_fen, expires_at, created_at, checked_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT DO NOTHING`,
        [outTradeNo, bill.billNo, channel, bill.amountFen, payableUntil(bill), nowS()],
      );
      if (ins.rowCount === 0) continue;
      const u = await fetchPayUrl(adapter, bill, outTradeNo, notifyUrl);
      if (!u.ok) {
        await hub.db.query("UPDATE pay_orders SET status = 'failed' WHERE out_trade_no = $1", [outTradeNo]);
        return u;
      }
      return ok({ payUrl: u.value, outTradeNo, reused: false });
    }
    return fail('CHANNEL_ERROR', 'the order is still being created; try again');
  }

  /**
   * Inside WeChat: the JSAPI order for the payer known by openid (OAuth2 snsapi_base). One open WeChat
   * order per bill: a Native one, or one for another payer, is closed first (a Native code_url and a
   * JSAPI prepay cannot share an out_trade_no). The prepay_id is kept in pay_url as jsapi:{openid}:{id}.
   */
  async function jsapiOrder(
    bill: PayBill,
    openid: string,
  ): Promise<Result<{ prepayId: string; outTradeNo: string }>> {
    const adapter = opts.channels.wechat as
      | (ChannelAdapter & {
          createJsapiOrder?: (i: CreateJsapiInput) => Promise<Result<{ prepayId: string }>>;
        })
      | undefined;
    if (!adapter?.createJsapiOrder) return fail('MALFORMED', 'wechat JSAPI is not configured');
    const existing = await openOrderRow(bill.billNo, 'wechat');
    const mine = `jsapi:${openid}:`;
    if (existing?.pay_url?.startsWith(mine) && nowS() - Number(existing.url_at) < URL_FRESH_S) {
      return ok({ prepayId: existing.pay_url.slice(mine.length), outTradeNo: existing.out_trade_no });
    }
    if (existing) {
      const c = await adapter.close(existing.out_trade_no);
      if (!c.ok && c.error.details?.channelCode !== 'ORDER_NOT_EXIST') return c;
      await hub.db.query(
        "UPDATE pay_orders SET status = 'closed' WHERE out_trade_no = $1 AND status = 'open'",
        [existing.out_trade_no],
      );
    }
    const outTradeNo = makeOutTradeNo(bill.billNo, 'wechat');
    const ins = await hub.db.query(
      `INSERT INTO pay_orders (out_trade_no, bill_no, channel, amount_fen, expires_at, created_at, checked_at)
       VALUES ($1, $2, 'wechat', $3, $4, $5, $5) ON CONFLICT DO NOTHING`,
      [outTradeNo, bill.billNo, bill.amountFen, payableUntil(bill), nowS()],
    );
    if (ins.rowCount === 0) return fail('CHANNEL_ERROR', 'the order is being created; try again');
    const r = await adapter.createJsapiOrder({
      outTradeNo,
      amountFen: bill.amountFen,
      subject: subjectFor(bill),
      expiresAt: payableUntil(bill),
      openid,
    });
    if (!r.ok) {
      await hub.db.query("UPDATE pay_orders SET status = 'failed' WHERE out_trade_no = $1", [outTradeNo]);
      return r;
    }
    await hub.db.query('UPDATE pay_orders SET pay_url = $2, url_at = $3 WHERE out_trade_no = $1', [
      outTradeNo,
      `${mine}${r.value.prepayId}`,
      nowS(),
    ]);
    return ok({ prepayId: r.value.prepayId, outTradeNo });
  }

  /** GET /p/{token}: the whole decision of what the payer sees. */
  async function open(
    token: string,
    channel: Channel | undefined,
    notifyBase?: string,
  ): Promise<Result<OpenOutcome>> {
    const parsed = parseBillToken(token);
    if (!parsed.ok) return parsed;
    const known = await hub.bills.ensureKnown(parsed.value.claims, token);
    if (!known.ok) return known;
    const bill = known.value;
    if (bill.status === 'paid') {
      // The electronic receipt: the itemised bill, the channel's transaction and the signed confirmation.
      const paidFine = await hub.fines?.byDecisionNo(bill.decisionNo);
      return ok({ kind: 'paid', bill, ...(await receiptFor(bill.billNo)), ...(paidFine ? { fine: paidFine } : {}) });
    }
    if (bill.status === 'voided') return ok({ kind: 'voided', bill });
    // Paid another way (counter, another bill) or cancelled: taking money would only make a refund.
    const fine = await hub.fines?.byDecisionNo(bill.decisionNo);
    if (fine && fine.status !== 'unpaid') return fail('FINE_NOT_PAYABLE', bill.decisionNo);
    // Times by the hub's own clock: a bill from a clock running ahead is refused, and none is payable
    // beyond 4 hours after the hub first saw it.
    const times = billTimeCheck(bill, bill.firstSeenAt ?? bill.issuedAt, nowS() + minRemaining);
    if (!times.ok && times.error.code === 'BILL_FROM_FUTURE') return times;
    if (!times.ok) return ok({ kind: 'expired', bill });
    const payable = await hub.bills.payable(bill);
    if (!payable.ok) return payable;
    const shown = fine ? { fine } : {};
    if (!channel || !opts.channels[channel])
      return ok({ kind: 'choose', bill, channels: configured, ...shown });
    const o = await orderFor(bill, channel, notifyBase);
    if (!o.ok) return o;
    return ok({ kind: 'order', bill, channel, ...o.value, ...shown });
  }

  /** For the waiting page's poll: open, paid, voided or expired. */
  async function status(token: string): Promise<Result<{ status: string; confirmation?: string }>> {
    const parsed = parseBillToken(token);
    if (!parsed.ok) return parsed;
    const bill = await hub.bills.get(parsed.value.claims.billNo);
    // Only the exact token the hub checked and stored reads the status (and the confirmation). Another
    // validly signed token under a held number is a re-used number (a kiosk gone back in time): the one
    // check in hub.bills.ensureKnown refuses it with BILL_CONFLICT and logs it; a forged one reads nothing.
    if (!bill) return fail('BILL_NOT_FOUND');
    if (bill.token !== token) {
      const known = await hub.bills.ensureKnown(parsed.value.claims, token);
      return !known.ok && known.error.code === 'BILL_CONFLICT' ? known : fail('BILL_NOT_FOUND');
    }
    if (bill.status === 'paid') {
      const confirmation = await confirmationFor(bill.billNo);
      return ok({ status: 'paid', ...(confirmation ? { confirmation } : {}) });
    }
    if (bill.status === 'voided') return ok({ status: 'voided' });
    return ok({ status: nowS() >= payableUntil(bill) ? 'expired' : 'open' });
  }

  async function flagRefund(order: OrderRow, p: ChannelPayment, reason: string): Promise<void> {
    await hub.db.query(
      `INSERT INTO pay_refunds (channel, txn_id, bill_no, out_trade_no, amount_fen, reason, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
      [order.channel, p.txnId, order.bill_no, order.out_trade_no, p.amountFen, reason, nowS()],
    );
    await hub.db.query(
      "UPDATE pay_orders SET status = 'refund', txn_id = $2, settled_at = $3 WHERE out_trade_no = $1 AND status <> 'refund'",
      [order.out_trade_no, p.txnId, nowS()],
    );
    log('payment flagged for refund', { billNo: order.bill_no, channel: order.channel, reason });
  }

  /**
   * Once a bill is paid its other open orders are closed, so nobody pays it twice by accident. This is
   * a durable job, not part of the notification: the other channel may be slow, and the channel that
   * notified wants its answer within seconds.
   */
  async function queueCloseOthers(billNo: string, except: string): Promise<void> {
    await enqueueJob(hub.db, 'close_orders', billNo, { billNo, except }, nowS());
    opts.onJobQueued?.();
  }

  /** The job: close every open order of the bill but the paid one; done when none is left open. */
  async function closeOrdersJob(job: PayJob): Promise<JobOutcome> {
    const { billNo, except } = job.payload as { billNo: string; except?: string };
    const r = await hub.db.query<OrderRow>(
      "SELECT * FROM pay_orders WHERE bill_no = $1 AND status = 'open' AND out_trade_no <> $2",
      [billNo, except ?? ''],
    );
    const errors: string[] = [];
    for (const o of r.rows) {
      const adapter = opts.channels[o.channel];
      if (!adapter) continue;
      const c = await adapter.close(o.out_trade_no);
      if (c.ok) {
        await hub.db.query(
          "UPDATE pay_orders SET status = 'closed' WHERE out_trade_no = $1 AND status = 'open'",
          [o.out_trade_no],
        );
      } else if (
        c.error.details?.channelCode === 'ACQ.TRADE_STATUS_ERROR' ||
        c.error.details?.channelCode === 'ORDERPAID'
      ) {
        // Paid meanwhile: the query settles it (and flags the refund); no longer ours to close.
        const q = await adapter.query(o.out_trade_no);
        if (q.ok && q.value.status === 'paid') {
          const s = await settlePayment(o.channel, q.value, 'query');
          if (!s.ok) errors.push(`${o.out_trade_no}: ${s.error.code}`);
        }
      } else errors.push(`${o.out_trade_no}: ${c.error.code}`);
    }
    return errors.length ? { done: false, error: errors.join('; ').slice(0, 500) } : { done: true };
  }

  const refundsSvc = createRefunds({
    db: hub.db,
    channels: opts.channels,
    now: nowS,
    approval: opts.refundApproval ?? false,
    log,
  });

  // The in-process worker: kick() starts a round (or asks for another when one runs); it never blocks
  // the caller. whenIdle() lets tests and shutdown wait for it.
  let working: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  function kick(): void {
    if (stopped) return;
    if (working) {
      again = true;
      return;
    }
    working = (async () => {
      do {
        again = false;
        try {
          await work();
        } catch (e) {
          log('pay jobs failed', { error: (e as Error).message });
        }
      } while (again && !stopped);
    })().finally(() => {
      working = undefined;
    });
  }
  async function whenIdle(): Promise<void> {
    while (working) await working;
  }
  async function stop(): Promise<void> {
    stopped = true;
    await whenIdle();
  }

  /** Reconciles one Beijing day with every configured channel; reports are kept. */
  async function reconcile(date: string): Promise<Result<ReconcileReport[]>> {
    const out: ReconcileReport[] = [];
    for (const ch of configured) {
      const adapter = opts.channels[ch]!;
      const r = await reconcileDay(
        {
          db: hub.db,
          adapter,
          now: nowS,
          settle: (c, p) => settlePayment(c, p, 'reconcile'),
          refunded: (c, r) => refundsSvc.notified(c, r),
        },
        date,
      );
      if (!r.ok) return r;
      out.push(r.value);
    }
    return ok(out);
  }

  /** Queues the reconciliation of the day before (Beijing) once it is past `hour` o'clock there. */
  async function scheduleDailyReconcile(hour: number): Promise<void> {
    if (hour < 0) return;
    const now = nowS();
    const bjHour = Number(shanghaiTimestamp(now).slice(11, 13));
    if (bjHour < hour) return;
    const yesterday = shanghaiTimestamp(now - 86_400).slice(0, 10);
    await enqueueJob(hub.db, 'reconcile', yesterday, { date: yesterday }, now);
  }

  async function reconcileJob(job: PayJob): Promise<JobOutcome> {
    const r = await reconcile(String(job.payload.date));
    if (r.ok) {
      const issues = r.value.reduce(
        (n, x) => n + x.channelOnly.length + x.hubOnly.length + x.amountDiffs.length,
        0,
      );
      log('reconciliation done', {
        date: job.payload.date,
        issues,
        settled: r.value.reduce((n, x) => n + x.settled.length, 0),
      });
      return { done: true };
    }
    return { done: false, error: r.error.code };
  }

  /** One round of background work: admit flagged refunds, run due jobs. */
  async function work(limit = 50): Promise<{ done: number; retried: number; failed: number }> {
    await refundsSvc.admitFlagged();
    return runDueJobs(
      hub.db,
      { close_orders: closeOrdersJob, refund: refundsSvc.execute, reconcile: reconcileJob },
      nowS(),
      limit,
    );
  }

  /** A verified, paid channel payment (from a notification or a query) against our order. */
  async function settlePayment(
    channel: Channel,
    p: ChannelPayment,
    source: 'notify' | 'query' | 'reconcile',
  ): Promise<Result<SettleOutcome>> {
    const r = await hub.db.query<OrderRow>(
      'SELECT * FROM pay_orders WHERE out_trade_no = $1 AND channel = $2',
      [p.outTradeNo, channel],
    );
    const order = r.rows[0];
    if (!order) return settleUnknownOrder(channel, p, source);
    if (Number(order.amount_fen) !== p.amountFen) {
      return fail('AMOUNT_MISMATCH', `order ${order.amount_fen} fen, channel says ${p.amountFen}`);
    }
    // The same transaction again (a retry, a duplicate, the query after the notification): already
    // settled on this order, so nothing to do and no lock to take.
    if ((order.status === 'paid' || order.status === 'refund') && order.txn_id === p.txnId) {
      return ok(order.status === 'paid' ? 'duplicate' : 'refund');
    }
    const s = await hub.payments.settle({
      outTradeNo: order.out_trade_no,
      billNo: order.bill_no,
      amountFen: p.amountFen,
      channel,
      txnId: p.txnId,
      paidAt: p.paidAt,
    });
    let outcome: SettleOutcome;
    if (s.ok) {
      outcome = s.value.status;
      if (outcome === 'refund') {
        await flagRefund(order, p, 'BILL_PAID');
        opts.onJobQueued?.();
      } else {
        // Order update and audit row in one statement: one commit.
        await hub.db.query(
          `WITH u AS (
             UPDATE pay_orders SET status = 'paid', txn_id = $2, settled_at = $3
             WHERE out_trade_no = $1 AND status IN ('open', 'closed'))
           INSERT INTO pay_notifications (channel, out_trade_no, txn_id, amount_fen, source, outcome, received_at)
           VALUES ($4, $1, $2, $5, $6, $7, $3)`,
          [order.out_trade_no, p.txnId, nowS(), channel, p.amountFen, source, outcome],
        );
        if (outcome === 'settled') await queueCloseOthers(order.bill_no, order.out_trade_no);
        return ok(outcome);
      }
    } else if (
      ['BILL_VOIDED', 'PAID_AFTER_EXPIRY', 'PAID_BEFORE_ISSUE', 'BILL_NOT_FOUND'].includes(s.error.code)
    ) {
      // The channel has the money but the bill cannot take it: keep the record, pay it back.
      outcome = 'refund';
      await flagRefund(order, p, s.error.code);
      opts.onJobQueued?.();
    } else {
      return s;
    }
    await hub.db.query(
      `INSERT INTO pay_notifications (channel, out_trade_no, txn_id, amount_fen, source, outcome, received_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [channel, p.outTradeNo, p.txnId, p.amountFen, source, outcome, nowS()],
    );
    return ok(outcome);
  }

  /**
   * A verified payment for an out_trade_no the hub does not hold (its database restored from a backup
   * taken before the scan, say) is never dropped: the out_trade_no names its bill (makeOutTradeNo), so
   * the order is rebuilt from the stored bill (kept closed, so it never competes with the bill's open
   * order) and settled as usual (refunded if the bill is voided or paid). A bill the hub does not hold
   * either: the payment is kept and flagged for refund (BILL_NOT_FOUND). The notification is recorded.
   */
  async function settleUnknownOrder(
    channel: Channel,
    p: ChannelPayment,
    source: 'notify' | 'query' | 'reconcile',
  ): Promise<Result<SettleOutcome>> {
    const m = /^([A-Za-z0-9_]{1,26})_([AW])[0-9A-Z]{4}$/.exec(p.outTradeNo);
    if (!m || m[2] !== (channel === 'alipay' ? 'A' : 'W')) {
      // Not an out_trade_no this hub makes: not ours to settle or refund (reconciliation lists it as
      // channel-only); a notification of it is still recorded.
      if (source === 'notify') {
        await hub.db.query(
          `INSERT INTO pay_notifications (channel, out_trade_no, txn_id, amount_fen, source, outcome, received_at)
           VALUES ($1, $2, $3, $4, $5, 'unknown', $6)`,
          [channel, p.outTradeNo, p.txnId, p.amountFen, source, nowS()],
        );
      }
      return fail('NOT_FOUND', `no ${channel} order ${p.outTradeNo}`);
    }
    let bill: PayBill | undefined;
    {
      const prefix = m[1]!;
      // '_' in LIKE is any one character: exactly what makeOutTradeNo turned into '_'.
      const c = await hub.db.query<{ bill_no: string }>(
        `SELECT bill_no FROM bills WHERE bill_no LIKE $1 LIMIT 20`,
        [prefix.length === 26 ? `${prefix}%` : prefix],
      );
      const no = c.rows
        .map((x) => x.bill_no)
        .find((b) => b.replace(/[^A-Za-z0-9]/g, '_').slice(0, 26) === prefix);
      bill = no ? await hub.bills.get(no) : undefined;
    }
    if (bill) {
      const ins = await hub.db.query(
        `INSERT INTO pay_orders (out_trade_no, bill_no, channel, amount_fen, expires_at, status, created_at, checked_at)
         VALUES ($1, $2, $3, $4, $5, 'closed', $6, $6) ON CONFLICT DO NOTHING`,
        [p.outTradeNo, bill.billNo, channel, bill.amountFen, payableUntil(bill), nowS()],
      );
      const held = await hub.db.query('SELECT 1 FROM pay_orders WHERE out_trade_no = $1 AND channel = $2', [
        p.outTradeNo,
        channel,
      ]);
      if (held.rows.length === 0) return fail('NOT_FOUND', `no ${channel} order ${p.outTradeNo}`);
      if (ins.rowCount) log('order rebuilt from its bill', { billNo: bill.billNo, channel, outTradeNo: p.outTradeNo });
      return settlePayment(channel, p, source);
    }
    const orphan: OrderRow = {
      out_trade_no: p.outTradeNo,
      bill_no: m[1]!,
      channel,
      amount_fen: p.amountFen,
      expires_at: 0,
      pay_url: null,
      status: 'refund',
      txn_id: p.txnId,
      created_at: nowS(),
      url_at: 0,
      checked_at: 0,
    };
    await flagRefund(orphan, p, 'BILL_NOT_FOUND');
    opts.onJobQueued?.();
    await hub.db.query(
      `INSERT INTO pay_notifications (channel, out_trade_no, txn_id, amount_fen, source, outcome, received_at)
       VALUES ($1, $2, $3, $4, $5, 'refund', $6)`,
      [channel, p.outTradeNo, p.txnId, p.amountFen, source, nowS()],
    );
    return ok('refund');
  }

  /** POST /notify/{channel}: verify, then settle; the answer tells the channel whether to retry. */
  async function notify(
    channel: Channel,
    raw: RawNotification,
  ): Promise<{ ack: { status: number; contentType: string; body: string }; result: Result<SettleOutcome> }> {
    const adapter = opts.channels[channel];
    if (!adapter) {
      return {
        ack: { status: 404, contentType: 'text/plain', body: 'not configured' },
        result: fail('NOT_FOUND', channel),
      };
    }
    const v = await adapter.verifyNotification(raw);
    if (!v.ok) {
      log('notification refused', { channel, code: v.error.code });
      return { ack: adapter.ack(false, v.error.code), result: v };
    }
    if (v.value.refund) {
      const r = await refundNotified(channel, v.value, v.value.refund);
      return { ack: adapter.ack(r.ok, r.ok ? undefined : r.error.code), result: r };
    }
    if (v.value.status !== 'paid') return { ack: adapter.ack(true), result: ok('ignored') };
    const s = await settlePayment(channel, v.value, 'notify');
    if (!s.ok) log('notification not settled', { channel, code: s.error.code });
    return { ack: adapter.ack(s.ok, s.ok ? undefined : s.error.code), result: s };
  }

  /**
   * A genuine refund notice on the trade's notify_url (Alipay): recorded on the hub's refund of that
   * request number. A refund the hub did not make (refunded at the merchant's portal), or a total refunded
   * that is not the hub's refund alone, is still the channel's word: it is kept in pay_notifications,
   * logged, the hub's own refund (if any) is asked about at once, and the channel is answered so it stops
   * retrying; the day's reconciliation lists the refund as the channel's only.
   */
  async function refundNotified(
    channel: Channel,
    p: ChannelPayment,
    refund: ChannelRefund,
  ): Promise<Result<SettleOutcome>> {
    const r = await refundsSvc.notified(channel, refund);
    if (r.ok) return ok('refunded');
    if (r.error.code !== 'NOT_FOUND' && r.error.code !== 'AMOUNT_MISMATCH') return r;
    await hub.db.query(
      `INSERT INTO pay_notifications (channel, out_trade_no, txn_id, amount_fen, source, outcome, received_at)
       VALUES ($1, $2, $3, $4, 'notify', $5, $6)`,
      [channel, p.outTradeNo, p.txnId, refund.amountFen, r.error.code === 'NOT_FOUND' ? 'refund_elsewhere' : 'refund_total_differs', nowS()],
    );
    if (await refundsSvc.recheck(channel, refund.outRefundNo)) opts.onJobQueued?.();
    log('refund notification not the hub refund', { channel, code: r.error.code, outRefundNo: refund.outRefundNo });
    return ok('ignored');
  }

  /**
   * The scheduled query: channels stop notifying after about a day, and notifications get lost.
   * Claims due open orders with SKIP LOCKED (several hub processes may run it), asks the channel,
   * settles what is paid and closes what has expired.
   */
  async function sweep(
    limit = 200,
  ): Promise<{ checked: number; settled: number; closed: number; errors: Failure[] }> {
    const now = nowS();
    // The safety net: open orders of bills that ended by any path are queued to be closed.
    if (await queueCloseEndedOrders(hub.db, now)) opts.onJobQueued?.();
    const due = await hub.db.query<OrderRow>(
      `UPDATE pay_orders SET checked_at = $1 WHERE out_trade_no IN (
         SELECT out_trade_no FROM pay_orders WHERE status = 'open' AND checked_at <= $2
         ORDER BY checked_at LIMIT $3 FOR UPDATE SKIP LOCKED)
       RETURNING *`,
      [now, now - every, limit],
    );
    const out = { checked: 0, settled: 0, closed: 0, errors: [] as Failure[] };
    for (const o of due.rows) {
      const adapter = opts.channels[o.channel];
      if (!adapter) continue;
      out.checked++;
      const q = await adapter.query(o.out_trade_no);
      if (!q.ok) {
        out.errors.push(q.error);
        continue;
      }
      if (q.value.status === 'paid') {
        const s = await settlePayment(o.channel, q.value, 'query');
        if (s.ok) out.settled++;
        else out.errors.push(s.error);
        continue;
      }
      if (now >= Number(o.expires_at)) {
        // Expired with the bill: make sure the channel will not take money for it any more.
        if (q.value.status === 'open' || q.value.status === 'failed') {
          const c = await adapter.close(o.out_trade_no);
          if (!c.ok) {
            out.errors.push(c.error);
            continue;
          }
        }
        await hub.db.query(
          "UPDATE pay_orders SET status = 'closed' WHERE out_trade_no = $1 AND status = 'open'",
          [o.out_trade_no],
        );
        out.closed++;
      }
    }
    return out;
  }

  const refunds = (): Promise<RefundRecord[]> => listRefunds(hub.db);

  async function orders(billNo: string): Promise<OrderRow[]> {
    const r = await hub.db.query<OrderRow>(
      'SELECT * FROM pay_orders WHERE bill_no = $1 ORDER BY created_at, out_trade_no',
      [billNo],
    );
    return r.rows;
  }

  /** POST /notify/wechat/refund: a verified REFUND.* notification updates the refund it names. */
  async function notifyRefund(
    channel: Channel,
    raw: RawNotification,
  ): Promise<{ ack: { status: number; contentType: string; body: string }; result: Result<unknown> }> {
    const adapter = opts.channels[channel];
    if (!adapter?.verifyRefundNotification) {
      return {
        ack: { status: 404, contentType: 'text/plain', body: 'not configured' },
        result: fail('NOT_FOUND', channel),
      };
    }
    const v = await adapter.verifyRefundNotification(raw);
    if (!v.ok) {
      log('refund notification refused', { channel, code: v.error.code });
      return { ack: adapter.ack(false, v.error.code), result: v };
    }
    const r = await refundsSvc.notified(channel, v.value);
    return { ack: adapter.ack(r.ok, r.ok ? undefined : r.error.code), result: r };
  }

  return {
    open,
    status,
    notify,
    notifyRefund,
    settlePayment,
    sweep,
    refunds,
    orders,
    work,
    jsapiOrder,
    reconcile,
    scheduleDailyReconcile,
    kick,
    whenIdle,
    stop,
    refundsSvc,
    channels: configured,
    adapters: opts.channels,
    clock,
  };
}
