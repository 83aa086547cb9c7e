// The hub's configuration published to every kiosk through the feed.
import type { HubQueryable } from '../db.ts';
import type { HubCtx } from './context.ts';

/** One config setter at a time. */
const CONFIG_LOCK = 727012;

/** The config part of the service (hub.config). */
export type HubConfig = ReturnType<typeof createConfig>;

/** Builds hub.config: get, set (one key, then the whole config goes into the feed). */
export function createConfig(ctx: HubCtx) {
  const { db, nowS, notifyFeed, addChange } = ctx;

  const config = {
    async get(q: HubQueryable = db): Promise<Record<string, unknown>> {
      const r = await q.query<{ key: string; value: unknown }>('SELECT key, value FROM config ORDER BY key');
      return Object.fromEntries(r.rows.map((x) => [x.key, x.value]));
    },
    /** Sets one key and publishes the whole config to every kiosk. */
    async set(key: string, value: unknown): Promise<Record<string, unknown>> {
      return db.transaction(async (tx) => {
        // One setter at a time, so each published config holds every key set before it.
        await tx.query('SELECT pg_advisory_xact_lock($1)', [CONFIG_LOCK]);
        await tx.query(
          `INSERT INTO config (key, value, updated_at) VALUES ($1, $2::jsonb, $3)
           ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at`,
          [key, JSON.stringify(value), nowS()],
        );
        const all = await config.get(tx);
        await addChange(tx, 'config', {}, { config: all });
        await notifyFeed(tx);
        return all;
      });
    },
  };

  return config;
}
