// What every part of the hub service shares: the database, the clock, and the change feed.
//
// Feed positions (fines.rev, changes.pos) come from one sequence. Every writer of the feed first takes
// an advisory transaction lock (hub/feed/order.ts), so positions become visible in the order they were taken
// and a pull that has read up to position p never misses a later commit below p.
import type { PullChange } from '../../protocol/sync.ts';
import { systemClock } from '../../protocol/time.ts';
import type { HubQueryable } from '../db.ts';
import { lockFeed, notifyFeed } from '../feed/order.ts';
import type { HubServiceOptions } from './types.ts';

/** The hub service's shared parts: its database, its clock (nowS in Unix seconds) and the feed writers. */
export type HubCtx = ReturnType<typeof createHubContext>;

/** Builds the shared context from the service options (the clock defaults to the system clock). */
export function createHubContext(opts: HubServiceOptions) {
  const db = opts.db;
  const clock = opts.clock ?? systemClock;
  const nowS = (): number => Math.floor(clock.now() / 1000);

  /** Adds one change (kind, to a region, a device or everyone) at the next feed position; feed lock held. */
  async function addChange(
    tx: HubQueryable,
    kind: PullChange['kind'],
    target: { region?: string; deviceId?: string },
    data: object,
  ): Promise<void> {
    await tx.query(
      `INSERT INTO changes (pos, kind, region, device_id, data, created_at)
       VALUES (nextval('feed_seq'), $1, $2, $3, $4::jsonb, $5)`,
      [kind, target.region ?? null, target.deviceId ?? null, JSON.stringify(data), nowS()],
    );
  }

  return { db, clock, nowS, lockFeed, notifyFeed, addChange };
}
