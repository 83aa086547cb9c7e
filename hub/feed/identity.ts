// The identity of the hub's change feed (its epoch) and its head. Kiosks keep a cursor into the feed; a
// cursor only means something within one history of the hub's database. A hub restored from a backup
// (pg_dump into a new database or schema, a PGlite folder copied back) is another history: positions
// after the backup were handed out again for other changes.
//
// The epoch is derived, not only stored: the stored random value (hub_identity, migration 6, renewed
// by `finekiosk hub restored`), the cluster's system identifier, and the oids of the database and
// schema. A restore into a new cluster, database or schema changes it without anyone remembering to;
// a restore over the same database keeps it, and then the head check (a cursor beyond the feed's
// last position) or the operator's `hub restored` tells kiosks. An embedded hub's folder copied back
// keeps the cluster's identifier too: a generation kept in the database and in a file beside the folder
// tells it (noteFolderGeneration), and the hub starts a new epoch by itself.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import type { HubQueryable } from '../db.ts';

export interface FeedIdentity {
  /** 16 hex characters; changes when the database is another history. */
  epoch: string;
  /** Highest feed position handed out so far (0 when none). */
  head: number;
}

/** Reads the feed's epoch and head in one query. */
export async function feedIdentity(q: HubQueryable): Promise<FeedIdentity> {
  const r = await q.query<{ e: string; s: string; d: string; n: string; last: number; called: boolean }>(
    `SELECT (SELECT epoch FROM hub_identity WHERE id = 1) AS e,
            (SELECT system_identifier FROM pg_control_system())::text AS s,
            (SELECT oid FROM pg_database WHERE datname = current_database())::text AS d,
            (SELECT oid FROM pg_namespace WHERE nspname = current_schema())::text AS n,
            last_value AS last, is_called AS called
       FROM feed_seq`,
  );
  const row = r.rows[0];
  if (!row) throw new Error('feed sequence is missing');
  const epoch = createHash('sha256')
    .update(`${row.e}\n${row.s}\n${row.d}\n${row.n}`)
    .digest('hex')
    .slice(0, 16);
  return { epoch, head: row.called ? Number(row.last) : 0 };
}

/** Starts a new feed history: every kiosk pulls again from the start (after a restore over the same database). */
export async function renewEpoch(q: HubQueryable, nowS: number): Promise<FeedIdentity> {
  await q.query(
    'UPDATE hub_identity SET epoch = md5(random()::text || clock_timestamp()::text), created_at = $1',
    [nowS],
  );
  return feedIdentity(q);
}

/**
 * For an embedded hub (PGlite): tells whether its folder was copied back from another time, and if so
 * starts a new feed epoch. The database keeps a random generation; the file `marker`, beside the folder
 * (never inside it, so a copy of the folder does not carry it), lists the generations that are current.
 * Both change at every start and stop (rotateFolderGeneration), so a copy of the folder, taken at any
 * time, holds a generation the file no longer lists once the hub has run or stopped since. A folder with
 * a generation but no marker file came from elsewhere: also a new epoch (a kiosk pulling again from the
 * start changes nothing). A database with no generation yet (first start) is taken as it is.
 * Returns whether a new epoch was started.
 */
export async function noteFolderGeneration(db: HubQueryable, marker: string, nowS: number): Promise<boolean> {
  const r = await db.query<{ g: string | null }>(
    'SELECT folder_generation AS g FROM hub_identity WHERE id = 1',
  );
  const stored = r.rows[0]?.g ?? null;
  let listed: string[] = [];
  try {
    listed = readFileSync(marker, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    // no marker: a first start, or a folder copied in without one
  }
  const restored = stored !== null && !listed.includes(stored);
  if (restored) await renewEpoch(db, nowS);
  await rotateFolderGeneration(db, marker);
  return restored;
}

/**
 * Moves the folder to a new generation: the marker first lists the current and the new one (a crash
 * between the two writes then reads as current, not as restored), the database takes the new one, then
 * the marker lists the new one alone. Each marker write is a whole-file replace (write, fsync, rename).
 */
export async function rotateFolderGeneration(db: HubQueryable, marker: string): Promise<void> {
  const r = await db.query<{ g: string | null }>(
    'SELECT folder_generation AS g FROM hub_identity WHERE id = 1',
  );
  const current = r.rows[0]?.g ?? null;
  const next = randomBytes(12).toString('hex');
  writeMarker(marker, current ? [current, next] : [next]);
  await db.query('UPDATE hub_identity SET folder_generation = $1 WHERE id = 1', [next]);
  writeMarker(marker, [next]);
}

function writeMarker(file: string, generations: string[]): void {
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, `${generations.join(' ')}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}
