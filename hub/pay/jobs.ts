// Durable background work of the pay area, kept in pay_jobs so a crash or a restart loses none of it and
// any hub process can do it: closing a paid bill's other channel orders, executing refunds. Jobs are
// claimed with FOR UPDATE SKIP LOCKED, made once per (kind, key), retried with growing delay.
import type { HubQueryable } from '../db.ts';

export type PayJobKind = 'close_orders' | 'refund' | 'reconcile';

export interface PayJob {
  id: number;
  kind: PayJobKind;
  key: string;
  payload: Record<string, unknown>;
  attempts: number;
}

/** What a handler says: done, or try again later (the reason is kept). */
export type JobOutcome = { done: true } | { done: false; error: string; giveUp?: boolean };

/** Seconds before attempt n+1: 5, 10, 20 … capped at an hour. */
export function retryDelay(attempts: number): number {
  return Math.min(3600, 5 * 2 ** Math.min(attempts, 10));
}

/** Queues a job once; a second call with the same kind and key changes nothing. */
export async function enqueueJob(
  db: HubQueryable,
  kind: PayJobKind,
  key: string,
  payload: Record<string, unknown>,
  now: number,
): Promise<void> {
  await db.query(
    `INSERT INTO pay_jobs (kind, job_key, payload, next_at, created_at) VALUES ($1, $2, $3, $4, $4)
     ON CONFLICT (kind, job_key) DO NOTHING`,
    [kind, key, JSON.stringify(payload), now],
  );
}

/** Makes a finished or failed job due again (a refund approved after it had given up, say). */
export async function requeueJob(db: HubQueryable, kind: PayJobKind, key: string, now: number): Promise<void> {
  await db.query(
    "UPDATE pay_jobs SET status = 'pending', next_at = $3, attempts = 0 WHERE kind = $1 AND job_key = $2",
    [kind, key, now],
  );
}

/**
 * Runs due jobs: claims up to `limit` (pushing their next_at forward so a crashed worker's claim
 * expires), runs each handler, and records done, retry or failed.
 */
export async function runDueJobs(
  db: HubQueryable,
  handlers: Record<PayJobKind, (job: PayJob) => Promise<JobOutcome>>,
  now: number,
  limit = 50,
): Promise<{ done: number; retried: number; failed: number }> {
  const claimed = await db.query<{ id: string | number; kind: PayJobKind; job_key: string; payload: string; attempts: number }>(
    `UPDATE pay_jobs SET next_at = $1 + 300, attempts = attempts + 1 WHERE id IN (
       SELECT id FROM pay_jobs WHERE status = 'pending' AND next_at <= $1
       ORDER BY next_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
     RETURNING id, kind, job_key, payload, attempts`,
    [now, limit],
  );
  const out = { done: 0, retried: 0, failed: 0 };
  for (const row of claimed.rows) {
    const job: PayJob = {
      id: Number(row.id),
      kind: row.kind,
      key: row.job_key,
      payload: JSON.parse(row.payload) as Record<string, unknown>,
      attempts: Number(row.attempts),
    };
    let r: JobOutcome;
    try {
      r = await handlers[job.kind](job);
    } catch (e) {
      r = { done: false, error: (e as Error).message.slice(0, 500) };
    }
    if (r.done) {
      await db.query("UPDATE pay_jobs SET status = 'done', done_at = $2, last_error = NULL WHERE id = $1", [job.id, now]);
      out.done++;
    } else if (r.giveUp || job.attempts >= 20) {
      await db.query("UPDATE pay_jobs SET status = 'failed', last_error = $2 WHERE id = $1", [job.id, r.error]);
      out.failed++;
    } else {
      await db.query('UPDATE pay_jobs SET next_at = $2, last_error = $3 WHERE id = $1', [
        job.id,
        now + retryDelay(job.attempts),
        r.error,
      ]);
      out.retried++;
    }
  }
  return out;
}

/**
 * Queues the closing of the open channel orders of bills that can no longer take money: the bill voided
 * (at the hub, at its kiosk, or because its fine was paid by another bill), expired, paid (its other
 * orders), or its fine paid or cancelled (API, console, file import). Every path that ends a bill or a fine
 * calls this inside its own transaction, restricted to what it changed; the scheduled query calls it with
 * no restriction as the safety net. One close_orders job per bill (closing all its open orders); a job
 * already done or failed is made due again. Returns the number of jobs queued or made due.
 */
export async function queueCloseEndedOrders(
  db: HubQueryable,
  now: number,
  only?: { billNos?: readonly string[]; decisionNos?: readonly string[] },
): Promise<number> {
  if (only && !only.billNos?.length && !only.decisionNos?.length) return 0;
  const r = await db.query(
    `INSERT INTO pay_jobs (kind, job_key, payload, next_at, created_at)
     SELECT 'close_orders', x.bill_no, json_build_object('billNo', x.bill_no)::text, $1, $1 FROM (
       SELECT DISTINCT o.bill_no FROM pay_orders o
       JOIN bills b ON b.bill_no = o.bill_no
       LEFT JOIN fines f ON f.decision_no = b.decision_no
       WHERE o.status = 'open'
         AND (b.status <> 'live' OR f.status IN ('paid', 'cancelled'))
         AND ($2::text[] IS NULL OR o.bill_no = ANY($2::text[]))
         AND ($3::text[] IS NULL OR b.decision_no = ANY($3::text[]))) AS x
     ON CONFLICT (kind, job_key) DO UPDATE SET status = 'pending', next_at = EXCLUDED.next_at, attempts = 0
       WHERE pay_jobs.status <> 'pending'`,
    [now, only?.billNos ? [...only.billNos] : null, only?.decisionNos ? [...only.decisionNos] : null],
  );
  return r.rowCount;
}
