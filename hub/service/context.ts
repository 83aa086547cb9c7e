// What every part of the hub service shares: the database, the clock, and the change feed.
//
// Feed writers take no lock and no position: their rows join the feed pending and are given positions after
// commit, in order, by hub/feed/order.ts; a pull sequences first, so it never misses a change committed out of
// order (migration 11).
import type { PullChange } from '../../protocol/sync.ts';
import { systemClock } from '../../protocol/time.ts';
import type { HubQueryable } from '../db.ts';
import { notifyFeed } from '../feed/order.ts';
import type { HubServiceOptions } from './types.ts';

/** One settlement of a fine, or of a payment, at a time (two-key form: this, then the key's hash). */
const FINE_LOCK = 727013;

/** The hub service's shared parts: its database, its clock (nowS in Unix seconds) and the feed writers. */
export type HubCtx = ReturnType<typeof createHubContext>;

/** Builds the shared context from the service options (the clock defaults to the system clock). */
export function createHubContext(opts: HubServiceOptions) {
  const db = opts.db;
  const clock = opts.clock ?? systemClock;
  const nowS = (): number => Math.floor(clock.now() / 1000);

  /** Adds one change (kind, to a region, a device or everyone); it takes its feed position after commit. */
  async function addChange(
    tx: HubQueryable,
    kind: PullChange['kind'],
    target: { region?: string; deviceId?: string },
    data: object,
  ): Promise<void> {
    await tx.query(
      `INSERT INTO changes (kind, region, device_id, data, created_at) VALUES ($1, $2, $3, $4::jsonb, $5)`,
      [kind, target.region ?? null, target.deviceId ?? null, JSON.stringify(data), nowS()],
    );
  }

  /**
   * Holds a settlement lock for the rest of the transaction: a fine's (its decision number; taken before any of
   * its bills' rows), or a payment's (`payment:<channel>:<txnId>`, taken first of all).
   */
  async function lockFine(tx: HubQueryable, decisionNo: string): Promise<void> {
    await tx.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [FINE_LOCK, decisionNo]);
  }

  return { db, clock, nowS, notifyFeed, addChange, lockFine };
}
