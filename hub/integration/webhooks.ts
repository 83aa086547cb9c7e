// Webhooks: the feed pushed to a URL of the authority's, one event per POST, in feed order, each signed by
// the hub. Signature (HMAC-SHA256 with the webhook's secret, shown once when the webhook is made):
//   x-fk-signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
//   x-fk-event-id: the event's stable id (de-duplicate by it; a delivery may come twice)
// A 2xx answer within the timeout delivers; anything else is retried with exponential backoff and full
// jitter (capped); after `maxAttempts` the event goes to the webhook's dead letters and delivery moves
// on. An operator replays dead letters (they are delivered again before newer events).
// Several hub processes may run the worker: a webhook is claimed by an atomic lease (next_at moved ahead).
import { createHmac, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { fail, ok, type Result } from '../../protocol/result.ts';
import type { HubDb } from '../db.ts';
import { sequenceFeed } from '../feed/order.ts';
import { eventFromRow, type FeedEvent } from './feed.ts';

export interface WebhookOptions {
  nowMs: () => number;
  random?: () => number;
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export const webhookAddSchema = z.object({
  url: z
    .string()
    .url()
    .refine((u) => /^https?:\/\//.test(u), 'http(s) URL'),
  /** Deliver events from the start of the feed (default: only events after now). */
  fromStart: z.boolean().default(false),
});

export interface WebhookInfo {
  id: string;
  url: string;
  enabled: boolean;
  cursor: number;
  attempts: number;
  lastError: string | null;
  dead: number;
}

/** The signature header value for a body at time t (seconds). */
export function signWebhook(secret: string, t: number, body: string): string {
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

export async function addWebhook(
  db: HubDb,
  input: z.input<typeof webhookAddSchema>,
  nowS: number,
): Promise<Result<{ id: string; url: string; secret: string }>> {
  const p = webhookAddSchema.safeParse(input);
  if (!p.success) return fail('MALFORMED', p.error.issues[0]?.message);
  const id = 'wh' + randomBytes(5).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  await sequenceFeed(db);
  const head = await db.query<{ m: number | null }>('SELECT max(pos) AS m FROM feed_events');
  await db.query('INSERT INTO webhooks (id, url, secret, cursor, created_at) VALUES ($1, $2, $3, $4, $5)', [
    id,
    p.data.url,
    secret,
    p.data.fromStart ? 0 : Number(head.rows[0]?.m ?? 0),
    nowS,
  ]);
  return ok({ id, url: p.data.url, secret });
}

export async function listWebhooks(db: HubDb): Promise<WebhookInfo[]> {
  const r = await db.query<{
    id: string;
    url: string;
    enabled: boolean;
    cursor: number;
    attempts: number;
    last_error: string | null;
    dead: number;
  }>(
    `SELECT w.id, w.url, w.enabled, w.cursor, w.attempts, w.last_error,
       (SELECT count(*)::int FROM webhook_dead d WHERE d.webhook_id = w.id AND d.state = 'dead') AS dead
     FROM webhooks w ORDER BY w.created_at, w.id`,
  );
  return r.rows.map((w) => ({
    id: w.id,
    url: w.url,
    enabled: w.enabled,
    cursor: Number(w.cursor),
    attempts: Number(w.attempts),
    lastError: w.last_error,
    dead: Number(w.dead),
  }));
}

export async function removeWebhook(db: HubDb, id: string): Promise<Result<{ id: string }>> {
  const r = await db.query('UPDATE webhooks SET enabled = false WHERE id = $1', [id]);
  return r.rowCount ? ok({ id }) : fail('NOT_FOUND', id);
}

export async function deadLetters(
  db: HubDb,
  webhookId?: string,
): Promise<
  {
    webhookId: string;
    cursor: number;
    eventId: string;
    attempts: number;
    lastError: string | null;
    state: string;
  }[]
> {
  const r = await db.query<{
    webhook_id: string;
    pos: number;
    event_id: string;
    attempts: number;
    last_error: string | null;
    state: string;
  }>('SELECT * FROM webhook_dead WHERE ($1::text IS NULL OR webhook_id = $1) ORDER BY webhook_id, pos', [
    webhookId ?? null,
  ]);
  return r.rows.map((d) => ({
    webhookId: d.webhook_id,
    cursor: Number(d.pos),
    eventId: d.event_id,
    attempts: Number(d.attempts),
    lastError: d.last_error,
    state: d.state,
  }));
}

/** Queues a webhook's dead letters for delivery again; returns how many. */
export async function replayDead(
  db: HubDb,
  webhookId: string,
  nowS: number,
): Promise<Result<{ queued: number }>> {
  const r = await db.query(
    "UPDATE webhook_dead SET state = 'queued', attempts = 0, replayed_at = $2 WHERE webhook_id = $1 AND state = 'dead'",
    [webhookId, nowS],
  );
  await db.query('UPDATE webhooks SET next_at = 0 WHERE id = $1', [webhookId]);
  return ok({ queued: r.rowCount });
}

/** Full-jitter exponential backoff, ms. */
export function backoffMs(attempt: number, base: number, cap: number, random: () => number): number {
  return Math.floor(random() * Math.min(cap, base * 2 ** Math.max(0, attempt - 1)));
}

/**
 * One pass of the delivery worker: for each due webhook, delivers its next event (a queued dead letter
 * first). Returns how many deliveries were attempted, so a caller loops while there is work.
 */
export async function deliverOnce(db: HubDb, o: WebhookOptions): Promise<number> {
  const maxAttempts = o.maxAttempts ?? 8;
  const base = o.baseDelayMs ?? 1000;
  const cap = o.maxDelayMs ?? 10 * 60_000;
  const timeoutMs = o.timeoutMs ?? 5000;
  const doFetch = o.fetch ?? fetch;
  const random = o.random ?? Math.random;
  const ids = await db.query<{ id: string }>(
    'SELECT id FROM webhooks WHERE enabled AND next_at <= $1 ORDER BY id',
    [o.nowMs()],
  );
  let attempted = 0;
  for (const { id } of ids.rows) {
    // Claim by lease (no transaction held across the HTTP call: PGlite serves one transaction at a time);
    // a process that dies mid-delivery leaves the lease to expire and the event is delivered again.
    const w = (
      await db.query<{ id: string; url: string; secret: string; cursor: number; attempts: number }>(
        'UPDATE webhooks SET next_at = $3 WHERE id = $1 AND enabled AND next_at <= $2 RETURNING *',
        [id, o.nowMs(), o.nowMs() + timeoutMs + 5000],
      )
    ).rows[0];
    if (!w) continue;
    const release = (next: number): Promise<unknown> =>
      db.query('UPDATE webhooks SET next_at = $2 WHERE id = $1', [id, next]);
    const replay = (
      await db.query<{ pos: number; attempts: number }>(
        "SELECT pos, attempts FROM webhook_dead WHERE webhook_id = $1 AND state = 'queued' ORDER BY pos LIMIT 1",
        [id],
      )
    ).rows[0];
    const pos = replay ? Number(replay.pos) : undefined;
    if (pos === undefined) await sequenceFeed(db);
    const ev = (
      await db.query<Parameters<typeof eventFromRow>[0]>(
        pos !== undefined
          ? 'SELECT * FROM feed_events WHERE pos = $1'
          : 'SELECT * FROM feed_events WHERE pos > $1 ORDER BY pos LIMIT 1',
        [pos ?? Number(w.cursor)],
      )
    ).rows[0];
    if (!ev) {
      await release(0);
      continue;
    }
    attempted++;
    const event: FeedEvent = eventFromRow(ev);
    const body = JSON.stringify(event);
    const t = Math.floor(o.nowMs() / 1000);
    let error: string | null = null;
    try {
      const res = await doFetch(w.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-fk-signature': signWebhook(w.secret, t, body),
          'x-fk-event-id': event.id,
        },
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.status < 200 || res.status > 299) error = `answered ${res.status}`;
    } catch (e) {
      error =
        (e as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e as Error).message;
    }
    const attempts = (replay ? Number(replay.attempts) : Number(w.attempts)) + 1;
    await db.transaction(async (tx) => {
      if (error === null) {
        if (replay) {
          await tx.query("UPDATE webhook_dead SET state = 'delivered' WHERE webhook_id = $1 AND pos = $2", [
            id,
            pos,
          ]);
          await tx.query('UPDATE webhooks SET next_at = 0 WHERE id = $1', [id]);
        } else {
          await tx.query(
            'UPDATE webhooks SET cursor = greatest(cursor, $2), attempts = 0, last_error = NULL, next_at = 0 WHERE id = $1',
            [id, event.cursor],
          );
        }
        return;
      }
      if (attempts >= maxAttempts) {
        // Dead letter: kept for the operator; delivery moves on to the next event.
        await tx.query(
          `INSERT INTO webhook_dead (webhook_id, pos, event_id, attempts, last_error, at) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (webhook_id, pos) DO UPDATE SET state = 'dead', attempts = EXCLUDED.attempts, last_error = EXCLUDED.last_error`,
          [id, event.cursor, event.id, attempts, error, t],
        );
        await tx.query(
          `UPDATE webhooks SET cursor = CASE WHEN $4 THEN cursor ELSE greatest(cursor, $2) END,
             attempts = CASE WHEN $4 THEN attempts ELSE 0 END, last_error = $3, next_at = 0 WHERE id = $1`,
          [id, event.cursor, error, replay !== undefined],
        );
        return;
      }
      const next = o.nowMs() + backoffMs(attempts, base, cap, random);
      if (replay) {
        await tx.query(
          'UPDATE webhook_dead SET attempts = $3, last_error = $4 WHERE webhook_id = $1 AND pos = $2',
          [id, pos, attempts, error],
        );
        await tx.query('UPDATE webhooks SET next_at = $2 WHERE id = $1', [id, next]);
      } else {
        await tx.query('UPDATE webhooks SET attempts = $2, last_error = $3, next_at = $4 WHERE id = $1', [
          id,
          attempts,
          error,
          next,
        ]);
      }
    });
  }
  return attempted;
}

/** Runs deliverOnce in the background: at once on a feed change, else every `idleMs`. */
export function startWebhookWorker(
  db: HubDb,
  o: WebhookOptions & { idleMs?: number },
): { stop(): Promise<void>; kick(): void } {
  let stopped = false;
  let wake: () => void = () => undefined;
  const off = db.onFeedChange(() => wake());
  const loop = (async () => {
    while (!stopped) {
      // Storage away for a moment: try again after the idle wait.
      const n = await deliverOnce(db, o).catch(() => 0);
      if (n > 0 || stopped) continue;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, o.idleMs ?? 1000);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  })();
  return {
    kick: () => wake(),
    async stop() {
      stopped = true;
      off();
      wake();
      await loop;
    },
  };
}
