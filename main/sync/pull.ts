// Pull: one page of the hub's change feed (long poll), applied with its cursor in one transaction.
import { failure, ok, type Failure, type Result } from '../../protocol/result.ts';
import { pullResponseSchema, SYNC_PATHS } from '../../protocol/sync.ts';
import type { Clock } from '../../protocol/time.ts';
import type { Kiosk } from '../kiosk.ts';
import { applyChanges } from './apply.ts';
import type { HubClient } from './client.ts';
import { feedIsAnotherHistory, noteHubSeq } from './recovery.ts';
import { noteSuccess, readState } from './state.ts';

/** What a pull needs of the engine. */
export interface PullContext {
  kiosk: Kiosk;
  clock: Clock;
  client: HubClient;
  /** Changes per page. */
  pullLimit: number;
  /** Stores a failure as the last error staff see. */
  noteError: (f: Failure) => void;
  /** Wakes the engine's loops (the hub holds less of ours than we thought: push again now). */
  wake: () => void;
}

/**
 * One pull (long poll when waitSeconds > 0): applies the changes and moves the cursor in one transaction.
 * Returns how many changes were applied and whether the hub has more; a failure is returned and stored as
 * the last error.
 */
export async function pullOnce(
  c: PullContext,
  waitSeconds = 0,
): Promise<Result<{ applied: number; more: boolean }>> {
  const st = readState(c.kiosk.db);
  const ackedAtSend = st.acked_seq;
  const q = `${SYNC_PATHS.pull}?cursor=${st.cursor}&wait=${waitSeconds}&limit=${c.pullLimit}`;
  const r = await c.client.request('GET', q, '', waitSeconds * 1000);
  if (!r.ok) {
    c.noteError(r.error);
    return r;
  }
  const p = pullResponseSchema.safeParse(r.value);
  if (!p.success) {
    const f = failure('HUB_UNREACHABLE', 'hub answered a pull with an unexpected body');
    c.noteError(f);
    return { ok: false, error: f };
  }
  if (feedIsAnotherHistory(c.kiosk.db, st, p.data)) {
    // Our cursor points into a history the hub no longer has (it was restored): these changes were
    // chosen from that cursor, so drop them and pull again from the start (applying is idempotent).
    noteSuccess(c.kiosk.db, c.clock);
    return ok({ applied: 0, more: true });
  }
  if (p.data.deviceSeq !== undefined) {
    if (noteHubSeq(c.kiosk.db, c.clock, p.data.deviceSeq, ackedAtSend) === 'resend') c.wake();
  }
  // The changes and the cursor in one transaction: a crash leaves either all of the page applied and the
  // cursor past it, or none of it and the cursor before it.
  c.kiosk.db.transaction(() => {
    applyChanges(c.kiosk, c.clock, p.data.changes);
    c.kiosk.db.prepare('UPDATE sync_state SET cursor = max(cursor, ?) WHERE id = 1').run(p.data.cursor);
  })();
  noteSuccess(c.kiosk.db, c.clock);
  return ok({ applied: p.data.changes.length, more: p.data.more });
}
