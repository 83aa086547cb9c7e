// Push: the outbox goes to the hub in sequence order, in batches, two in flight; the hub's answer (its
// highest seq, refused events) is stored in one transaction.
import type { OutboxEvent } from '../../protocol/events.ts';
import { failure, ok, type Failure, type Result } from '../../protocol/result.ts';
import { pushResponseSchema, SYNC_PATHS, type PushResponse } from '../../protocol/sync.ts';
import type { Clock } from '../../protocol/time.ts';
import type { Kiosk } from '../kiosk.ts';
import type { HubClient } from './client.ts';
import { noteDiverged, noteHubSeq } from './recovery.ts';
import { readState } from './state.ts';

/** What a push needs of the engine. */
export interface PushContext {
  kiosk: Kiosk;
  clock: Clock;
  client: HubClient;
  /** Events per request (at most MAX_PUSH_EVENTS). */
  batchSize: number;
  /** Batches in flight at once (1 = none overlapping). */
  pipeline: number;
  /** True once the engine is stopping. */
  stopped: () => boolean;
  /** Stores a failure as the last error staff see. */
  noteError: (f: Failure) => void;
}

/**
 * Pushes queued events until the queue is empty (or an error): batches of `batchSize` in sequence order,
 * `pipeline` in flight. Returns how many the hub took (applied or refused); SEQ_GAP, CHAIN_BROKEN, the
 * hub's failures and HUB_UNREACHABLE are returned and stored as the last error.
 */
export async function pushAll(c: PushContext): Promise<Result<{ pushed: number }>> {
  let pushed = 0;
  let gapRetries = 0;
  let races = 0;
  // Two batches in flight: the next one travels and is parsed while the hub applies this one. The hub
  // takes a device's batches one at a time (row lock), so order holds; if the second overtakes the first
  // it is refused with SEQ_GAP and simply sent again.
  type Flight = { events: OutboxEvent[]; reply: Promise<Result<unknown>> };
  const send = (afterSeq: number): Flight | undefined => {
    const events = c.kiosk.outbox.list(afterSeq, c.batchSize);
    if (events.length === 0) return undefined;
    return { events, reply: c.client.request('POST', SYNC_PATHS.push, JSON.stringify({ events })) };
  };
  const depth = Math.max(1, c.pipeline);
  const settle = (q: Flight[]): Promise<unknown> => Promise.allSettled(q.map((f) => f.reply));
  while (!c.stopped()) {
    const inflight: Flight[] = [];
    const fill = (): void => {
      while (inflight.length < depth && !c.stopped()) {
        const last = inflight.at(-1);
        const f = send(last ? last.events.at(-1)!.seq : readState(c.kiosk.db).acked_seq);
        if (!f) return;
        inflight.push(f);
      }
    };
    fill();
    if (inflight.length === 0) return ok({ pushed });
    let first = true;
    while (inflight.length) {
      const current = inflight.shift()!;
      const r = await current.reply;
      if (!r.ok) {
        await settle(inflight); // their outcome is re-learned on the next round
        const expected = r.error.details?.expectedSeq;
        if (r.error.code === 'SEQ_GAP' && !first && races++ < 100) break;
        // The hub holds less than we thought (a restored hub): resend from there.
        if (r.error.code === 'SEQ_GAP' && typeof expected === 'number' && gapRetries++ < 3) {
          c.kiosk.db
            .prepare('UPDATE sync_state SET acked_seq = ? WHERE id = 1')
            .run(Math.max(0, expected - 1));
          break;
        }
        // The hub holds other events under our numbers: this database went back in time.
        if (r.error.code === 'CHAIN_BROKEN') noteDiverged(c.kiosk.db, c.clock);
        c.noteError(r.error);
        return r;
      }
      const p = pushResponseSchema.safeParse(r.value);
      if (!p.success) {
        await settle(inflight);
        const f = failure('HUB_UNREACHABLE', 'hub answered a push with an unexpected body');
        c.noteError(f);
        return { ok: false, error: f };
      }
      const res = p.data;
      const events = current.events;
      recordPush(c, events, res);
      pushed += res.applied + res.rejected.length;
      if (res.highestSeq < events.at(-1)!.seq) {
        await settle(inflight);
        const f = failure('SEQ_GAP', `hub holds up to ${res.highestSeq}`);
        c.noteError(f);
        return { ok: false, error: f };
      }
      first = false;
      fill();
    }
  }
  return ok({ pushed });
}

/** Stores a push's outcome in one transaction: refused events, the hub's highest seq, last success. */
function recordPush(c: PushContext, events: OutboxEvent[], res: PushResponse): void {
  const now = Math.floor(c.clock.now() / 1000);
  const types = new Map(events.map((e) => [e.seq, e.type]));
  c.kiosk.db.transaction(() => {
    const ins = c.kiosk.db.prepare(
      'INSERT INTO sync_rejected (seq, event_id, type, code, reason, at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (seq) DO NOTHING',
    );
    for (const x of res.rejected) ins.run(x.seq, x.eventId, types.get(x.seq) ?? '', x.code, x.reason, now);
    // Only the rows this ack newly covers: a range from the previous ack, not a scan from seq 1.
    const before = readState(c.kiosk.db).acked_seq;
    c.kiosk.db.prepare('UPDATE outbox SET pushed = 1 WHERE seq > ? AND seq <= ?').run(before, res.highestSeq);
    c.kiosk.db
      .prepare(
        'UPDATE sync_state SET acked_seq = max(acked_seq, ?), last_success_at = ?, last_error_code = NULL, last_error = NULL WHERE id = 1',
      )
      .run(res.highestSeq, now);
  })();
  // The hub holding more than we ever wrote: this database went back in time.
  noteHubSeq(c.kiosk.db, c.clock, res.highestSeq, 0);
}
