// The payments-and-refunds feed for the authority's systems. Events are written by database triggers
// (migration 007) whenever a payment or a refund row is recorded, each with a stable id
// (`<type>:<channel>:<txnId>`), so a consumer de-duplicates by id and the same payment can never appear
// under two ids. A consumer reads after its cursor and acknowledges what it has stored; reading without
// a cursor starts after its last acknowledgement. Exactly once on the consumer's side = at least once
// from here + de-duplication by id there.
import { z } from 'zod';
import { fail, ok, type Result } from '../../protocol/result.ts';
import type { HubQueryable } from '../db.ts';
import { sequenceFeed } from '../feed/order.ts';

export const FEED_EVENT_TYPES = [
  'payment.settled',
  'payment.refund_due',
  'refund.requested',
  'refund.resolved',
] as const;

export const feedEventSchema = z.object({
  id: z.string().describe('Stable event id, e.g. payment.settled:alipay:2026…; de-duplicate by it'),
  cursor: z.number().int().describe('Position in the feed; acknowledge it once stored'),
  type: z.enum(FEED_EVENT_TYPES),
  createdAt: z.number().int().describe('Unix seconds'),
  data: z.object({
    channel: z.string(),
    txnId: z.string(),
    billNo: z.string(),
    decisionNo: z.string().nullable().optional(),
    amountFen: z.number().int().describe('Integer fen'),
    paidAt: z.number().int().optional(),
    source: z.string().optional(),
    deviceId: z.string().nullable().optional(),
    outTradeNo: z.string().optional(),
    reason: z.string().optional(),
    resolvedAt: z.number().int().nullable().optional(),
  }),
});
export type FeedEvent = z.infer<typeof feedEventSchema>;

export const feedPageSchema = z.object({
  events: z.array(feedEventSchema),
  cursor: z.number().int().describe('Cursor after the last event of this page'),
  more: z.boolean(),
  acked: z.number().int().describe('The cursor this key last acknowledged'),
});

interface Row {
  pos: number;
  event_id: string;
  type: FeedEvent['type'];
  data: FeedEvent['data'];
  created_at: number;
}

export function eventFromRow(r: Row): FeedEvent {
  return {
    id: r.event_id,
    cursor: Number(r.pos),
    type: r.type,
    createdAt: Number(r.created_at),
    data: r.data,
  };
}

export async function ackedCursor(db: HubQueryable, consumer: string): Promise<number> {
  const r = await db.query<{ acked: number }>('SELECT acked FROM feed_consumers WHERE key_id = $1', [
    consumer,
  ]);
  return Number(r.rows[0]?.acked ?? 0);
}

/** Events after `after` (default: the consumer's acknowledged cursor), oldest first. */
export async function readFeed(
  db: HubQueryable,
  consumer: string,
  after: number | undefined,
  limit: number,
): Promise<z.infer<typeof feedPageSchema>> {
  await sequenceFeed(db);
  const acked = await ackedCursor(db, consumer);
  const from = after ?? acked;
  const r = await db.query<Row>('SELECT * FROM feed_events WHERE pos > $1 ORDER BY pos LIMIT $2', [
    from,
    limit + 1,
  ]);
  const events = r.rows.slice(0, limit).map(eventFromRow);
  return { events, cursor: events.at(-1)?.cursor ?? from, more: r.rows.length > limit, acked };
}

/** Moves the consumer's acknowledged cursor forward (never back); MALFORMED past the feed's end. */
export async function ackFeed(
  db: HubQueryable,
  consumer: string,
  cursor: number,
  nowS: number,
): Promise<Result<{ acked: number }>> {
  const head = await db.query<{ m: number | null }>('SELECT max(pos) AS m FROM feed_events');
  if (cursor > Number(head.rows[0]?.m ?? 0)) return fail('MALFORMED', 'cursor is past the end of the feed');
  const r = await db.query<{ acked: number }>(
    `INSERT INTO feed_consumers (key_id, acked, acked_at) VALUES ($1, $2, $3)
     ON CONFLICT (key_id) DO UPDATE SET acked = greatest(feed_consumers.acked, EXCLUDED.acked), acked_at = EXCLUDED.acked_at
     RETURNING acked`,
    [consumer, cursor, nowS],
  );
  return ok({ acked: Number(r.rows[0]!.acked) });
}
