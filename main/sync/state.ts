// The sync engine's stored state (the sync_state row) and the status staff see: queue, cursor, last contact,
// clock offset, refused events and changes. Everything here reads or writes SQLite only, never the network.
import type { Database } from '../../db/connection.ts';
import type { Clock } from '../../protocol/time.ts';
import { messages, type ErrorCode } from '../../protocol/errors.ts';
import type { Failure } from '../../protocol/result.ts';
import type { Kiosk } from '../kiosk.ts';

export interface RejectedView {
  seq: number;
  eventId: string;
  type: string;
  code: string;
  reason: string;
  at: number;
}

export interface SyncStatus {
  enrolled: boolean;
  hubUrl: string | null;
  deviceId: string;
  region: string | null;
  /** Events in the outbox the hub does not hold yet. */
  queued: number;
  ackedSeq: number;
  lastSeq: number;
  cursor: number;
  lastSuccessAt: number | null;
  lastError: { code: string; message: string; messageZh: string; at: number } | null;
  /** This kiosk's clock minus the hub's, seconds (null until the hub has answered). */
  clockOffsetSeconds: number | null;
  /** A plain sentence when the clock is off by more than the hub accepts. */
  clockWarning: string | null;
  rejected: RejectedView[];
  /** The hub holds more of this device's events than its database: it issues nothing until recovered. */
  rolledBack: boolean;
  /** Highest seq of this device the hub said it holds (null until it said). */
  hubSeq: number | null;
  /** Local events a recovery set aside (the hub holds other events under their numbers). */
  setAside: number;
  /** Pulled changes this kiosk could not apply, with their reason (newest first, at most 100). */
  refusedChanges: RefusedChangeView[];
}

export interface RefusedChangeView {
  cursor: number;
  kind: string;
  code: string;
  reason: string;
  at: number;
}

/** The sync_state row (one row, id 1). Times are Unix seconds. */
export interface StateRow {
  hub_url: string | null;
  device_name: string | null;
  region: string | null;
  enrolled_at: number | null;
  cursor: number;
  acked_seq: number;
  last_success_at: number | null;
  last_error_code: string | null;
  last_error: string | null;
  last_error_at: number | null;
  clock_offset_s: number | null;
  hub_config: string | null;
  hub_device_seq: number | null;
  rolled_back_at: number | null;
  feed_epoch: string | null;
  bill_seq_floor: number;
  recovered_at: number | null;
}

/** Makes sure the sync_state row exists. */
export function ensureState(db: Database): void {
  db.prepare('INSERT INTO sync_state (id) VALUES (1) ON CONFLICT (id) DO NOTHING').run();
}

/** Reads the sync_state row (made first when missing). */
export function readState(db: Database): StateRow {
  const row = peekState(db);
  if (row !== NEVER_SYNCED) return row;
  ensureState(db);
  return db.prepare('SELECT * FROM sync_state WHERE id = 1').get() as StateRow;
}

/** A kiosk that never enrolled nor synced has no sync_state row: this is what it reads as. */
const NEVER_SYNCED: StateRow = Object.freeze({
  hub_url: null,
  device_name: null,
  region: null,
  enrolled_at: null,
  cursor: 0,
  acked_seq: 0,
  last_success_at: null,
  last_error_code: null,
  last_error: null,
  last_error_at: null,
  clock_offset_s: null,
  hub_config: null,
  hub_device_seq: null,
  rolled_back_at: null,
  feed_epoch: null,
  bill_seq_floor: 0,
  recovered_at: null,
});

/** The sync state without writing anything (readers on a full disk): NEVER_SYNCED when there is no row. */
function peekState(db: Database): StateRow {
  return (db.prepare('SELECT * FROM sync_state WHERE id = 1').get() as StateRow | undefined) ?? NEVER_SYNCED;
}

/** True when `c` is one of protocol/errors.ts's codes. */
export function isCode(c: string): c is ErrorCode {
  return c in messages;
}

/** A plain sentence when the kiosk's clock is off from the hub's by more than 5 minutes; null otherwise. */
export function clockWarning(offsetSeconds: number | null): string | null {
  if (offsetSeconds === null || Math.abs(offsetSeconds) <= 300) return null;
  const m = Math.round(Math.abs(offsetSeconds) / 60);
  return `This kiosk's clock is ${m} minute(s) ${offsetSeconds > 0 ? 'ahead of' : 'behind'} the hub: the hub refuses it until the time is corrected. 本机时钟${offsetSeconds > 0 ? '快' : '慢'}了约${m}分钟，请校正时间后再同步。`;
}

/** Stores the measured clock offset (kiosk minus hub, seconds) and tells the kiosk. */
export function noteOffset(kiosk: Kiosk, offset: number): void {
  kiosk.db.prepare('UPDATE sync_state SET clock_offset_s = ? WHERE id = 1').run(offset);
  kiosk.setClockOffset?.(offset);
}

/** The hub answered: last success now (clock's Unix seconds), last error cleared. */
export function noteSuccess(db: Database, clock: Clock): void {
  db.prepare(
    'UPDATE sync_state SET last_success_at = ?, last_error_code = NULL, last_error = NULL WHERE id = 1',
  ).run(Math.floor(clock.now() / 1000));
}

/** Stores the last error shown to staff (CLOCK_SKEW as the plain clock sentence). */
export function noteError(db: Database, clock: Clock, f: Failure): void {
  const msg = f.code === 'CLOCK_SKEW' ? (clockWarning(readState(db).clock_offset_s) ?? f.message) : f.message;
  db.prepare('UPDATE sync_state SET last_error_code = ?, last_error = ?, last_error_at = ? WHERE id = 1').run(
    f.code,
    msg,
    Math.floor(clock.now() / 1000),
  );
}

/** What staff see of sync (console and kiosk status screen), read from SQLite. */
export function syncStatus(kiosk: Kiosk): SyncStatus {
  const st = peekState(kiosk.db);
  const lastSeq = (kiosk.db.prepare('SELECT coalesce(max(seq), 0) AS n FROM outbox').get() as { n: number })
    .n;
  const rejected = (
    kiosk.db
      .prepare('SELECT seq, event_id, type, code, reason, at FROM sync_rejected ORDER BY seq')
      .all() as {
      seq: number;
      event_id: string;
      type: string;
      code: string;
      reason: string;
      at: number;
    }[]
  ).map((r) => ({ seq: r.seq, eventId: r.event_id, type: r.type, code: r.code, reason: r.reason, at: r.at }));
  const code = st.last_error_code;
  return {
    enrolled: st.hub_url !== null,
    hubUrl: st.hub_url,
    deviceId: kiosk.identity.deviceId,
    region: st.region,
    queued: Math.max(0, lastSeq - st.acked_seq),
    ackedSeq: st.acked_seq,
    lastSeq,
    cursor: st.cursor,
    lastSuccessAt: st.last_success_at,
    lastError:
      code && st.last_error
        ? {
            code,
            message: st.last_error,
            messageZh: isCode(code) ? messages[code].zh : st.last_error,
            at: st.last_error_at ?? 0,
          }
        : null,
    clockOffsetSeconds: st.clock_offset_s,
    clockWarning: clockWarning(st.clock_offset_s),
    rejected,
    rolledBack: st.rolled_back_at !== null,
    hubSeq: st.hub_device_seq,
    setAside: (kiosk.db.prepare('SELECT count(*) AS n FROM recovery_orphans').get() as { n: number }).n,
    refusedChanges: kiosk.db
      .prepare('SELECT cursor, kind, code, reason, at FROM sync_refused_changes ORDER BY id DESC LIMIT 100')
      .all() as RefusedChangeView[],
  };
}
