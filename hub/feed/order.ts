// How a write joins the change feed (fines.rev, changes.pos, feed_events.pos), without a global lock
// (migration 11, docs/scale.md "The change feed").
//
// A writer takes no position: a fine it changes gets rev NULL, a change or an integration event pos NULL, each
// with `pend` (the order of writing). Positions are handed out later by one sequencing run at a time
// (fk_feed_sequence, under a per-schema advisory lock), to committed rows only, in `pend` order, so a reader
// that has read up to position p can never meet a later row below p: a row committed late simply gets a later
// position. Every reader of the feed calls sequenceFeed first; several calls in one process share a run.
//
// A bulk writer (the fines import) may instead hold the sequencer lock for its final statement and take
// positions from feed_seq itself (lockSequencer): no sequencing run interleaves with it.
import { FEED_CHANNEL, type HubQueryable } from '../db.ts';
import { SEQUENCER_LOCK_ARGS } from '../migrations/011_feed_order.ts';

/** Rows one sequencing statement positions; a run loops until fewer are left. */
const RUN_ROWS = 20_000;
/** How long a run waits for the lock (a fines import holds it for its apply) before it leaves the rows for later. */
const LOCK_WAIT_MS = 1_000;

/** Holds the sequencer lock for the rest of the transaction (a bulk writer that takes positions itself). */
export async function lockSequencer(tx: HubQueryable): Promise<void> {
  await tx.query(`SELECT pg_advisory_xact_lock(${SEQUENCER_LOCK_ARGS})`);
}

/** Wakes long polls (in every hub process) once the transaction commits. */
export async function notifyFeed(tx: HubQueryable): Promise<void> {
  await tx.query(`SELECT pg_notify('${FEED_CHANNEL}', '')`);
}

interface Runs {
  current: Promise<void> | undefined;
  next: Promise<void> | undefined;
}
const runs = new WeakMap<HubQueryable, Runs>();

async function runOnce(db: HubQueryable): Promise<void> {
  for (;;) {
    const r = await db.query<{ n: number }>('SELECT fk_feed_sequence($1, $2) AS n', [RUN_ROWS, LOCK_WAIT_MS]);
    // -1: a bulk writer holds the lock; its commit announces itself and the next reader sequences.
    if (Number(r.rows[0]?.n ?? 0) < RUN_ROWS) return;
  }
}

/**
 * Gives a position to every feed row committed before this call (unless a fines import holds the sequencer
 * lock for longer than LOCK_WAIT_MS: then they wait for the next call). Call it on the database handle, outside
 * a transaction, before reading the feed. Concurrent calls in one process share runs: a call made while a run
 * is under way waits for the run after it, which starts after the call and so sees what the caller committed.
 */
export function sequenceFeed(db: HubQueryable): Promise<void> {
  let s = runs.get(db);
  if (!s) {
    s = { current: undefined, next: undefined };
    runs.set(db, s);
  }
  const state = s;
  const start = (): Promise<void> => {
    const p = runOnce(db).finally(() => {
      if (state.current === p) state.current = undefined;
    });
    state.current = p;
    return p;
  };
  if (!state.current) return start();
  if (!state.next) {
    const after = state.current.catch(() => undefined);
    state.next = after.then(() => {
      state.next = undefined;
      return start();
    });
  }
  return state.next;
}
