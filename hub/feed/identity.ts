// The identity of the hub's change feed (its epoch) and its head. Kiosks keep a cursor into the feed; a
// cursor only means something within one history of the hub's database. A hub restored from a backup
// (pg_dump into a new database or schema, a PGlite folder copied back) is another history: positions
// after the backup were handed out again for other changes.
//
// The epoch is derived, not only stored: the stored random value (hub_identity, migration 6, renewed
// by `finekiosk hub restored`), the cluster's system identifier, and the oids of the database and
// schema. A restore into a new cluster, database or schema changes it without anyone remembering to;
// a restore over the same database keeps it, and then the head check (a cursor beyond the feed's
// last position) or the operator's `hub restored` tells kiosks.
import { createHash } from 'node:crypto';
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
