// What must hold before this kiosk gives out a number (a bill, a ticket): its database is not behind
// what the hub holds of it, and its clock is within 5 minutes of the hub's when that is known. Read
// inside the issuing transaction, so a detection committed by the sync loop stops the very next issue.
import type { Database } from '../../db/connection.ts';
import { fail, ok, type Result } from '../../protocol/result.ts';
import { clockFloorCheck } from '../../protocol/billtime.ts';
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
  /** Newest `at` (ms) among the last events written: a clock reading far before it went back. */
  last_at: number | null;
}

const cache = new WeakMap<Database, { get(): GuardRow | undefined }>();

/**
 * ok when this kiosk may issue at `nowMs` (its hub-corrected clock, ms); DB_ROLLED_BACK when the hub
 * holds more of its events than it does (stop: recover first); CLOCK_OFF when its known clock offset
 * exceeds 5 minutes, or when the clock reads before the build date or more than 5 minutes before the
 * newest event it already wrote (a clock that jumped back; protocol/billtime.ts clockFloorCheck).
 */
export function issueGuard(db: Database, nowMs: number): Result<void> {
  let st = cache.get(db);
  if (!st) {
    // The last 64 events by seq (the primary key): a bounded read, whatever the log's length.
    const s = db.prepare<[], GuardRow>(
      `SELECT s.rolled_back_at, s.hub_device_seq, s.clock_offset_s,
              (SELECT max(at) FROM (SELECT at FROM outbox ORDER BY seq DESC LIMIT 64)) AS last_at
         FROM (SELECT 1) LEFT JOIN sync_state s ON s.id = 1`,
    );
    st = { get: () => s.get() };
    cache.set(db, st);
  }
  const row = st.get();
  if (!row) return ok(undefined);
  const floor = clockFloorCheck(
    Math.floor(nowMs / 1000),
    row.last_at === null ? undefined : Math.floor(row.last_at / 1000),
  );
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
  return floor;
}
