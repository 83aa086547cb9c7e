// What must hold before this kiosk gives out a number (a bill, a ticket): its database is not behind
// what the hub holds of it, and its clock is within 5 minutes of the hub's when that is known. Read
// inside the issuing transaction, so a detection committed by the sync loop stops the very next issue.
import type { Database } from '../../db/connection.ts';
import { fail, ok, type Result } from '../../protocol/result.ts';
import { MAX_CLOCK_SKEW_SECONDS } from '../../protocol/sync.ts';

/**
 * The next bill sequence: above every bill held and above the numbers a recovery set aside (bills a
 * restored database made again under numbers the hub already holds), so no bill number is given twice.
 */
export const BILL_NEXT_SEQ_SQL = `SELECT max(coalesce((SELECT max(seq) FROM bills), 0),
  coalesce((SELECT bill_seq_floor FROM sync_state WHERE id = 1), 0)) + 1 AS n`;

interface GuardRow {
  rolled_back_at: number | null;
  hub_device_seq: number | null;
  clock_offset_s: number | null;
}

const cache = new WeakMap<Database, { get(): GuardRow | undefined }>();

/**
 * ok when this kiosk may issue; DB_ROLLED_BACK when the hub holds more of its events than it does
 * (stop: recover first), CLOCK_OFF when its known clock offset exceeds 5 minutes.
 */
export function issueGuard(db: Database): Result<void> {
  let st = cache.get(db);
  if (!st) {
    const s = db.prepare<[], GuardRow>(
      'SELECT rolled_back_at, hub_device_seq, clock_offset_s FROM sync_state WHERE id = 1',
    );
    st = { get: () => s.get() };
    cache.set(db, st);
  }
  const row = st.get();
  if (!row) return ok(undefined);
  if (row.rolled_back_at !== null) {
    return fail('DB_ROLLED_BACK', `the hub holds events up to ${row.hub_device_seq ?? '?'} of this device`, {
      hubSeq: row.hub_device_seq,
    });
  }
  if (row.clock_offset_s !== null && Math.abs(row.clock_offset_s) > MAX_CLOCK_SKEW_SECONDS) {
    const m = Math.round(Math.abs(row.clock_offset_s) / 60);
    return fail(
      'CLOCK_OFF',
      `the clock is ${m} minute(s) ${row.clock_offset_s > 0 ? 'ahead of' : 'behind'} the hub`,
      { offsetSeconds: row.clock_offset_s },
    );
  }
  return ok(undefined);
}
