// How a write joins the change feed (fines.rev, changes.pos, both from feed_seq). One place for it, so every
// writer (services, the integration upsert, the file import) follows the same ordering rule.
import { FEED_CHANNEL, type HubQueryable } from '../db.ts';

/** The advisory lock every feed writer holds until its transaction ends (hub/service/context.ts and every other writer). */
export const FEED_LOCK = 727002;

/** Takes the feed lock for the rest of the transaction. */
export async function lockFeed(tx: HubQueryable): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock($1)', [FEED_LOCK]);
}

/** Wakes long polls (in every hub process) once the transaction commits. */
export async function notifyFeed(tx: HubQueryable): Promise<void> {
  await tx.query(`SELECT pg_notify('${FEED_CHANNEL}', '')`);
}
