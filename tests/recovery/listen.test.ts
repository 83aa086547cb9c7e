// The hub's LISTEN connection after a PostgreSQL restart: re-established, so a payment reaches a
// long-polling kiosk at once again, without restarting the hub. Runs on a private cluster.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openHubDb, type HubDb } from '../../hub/db.ts';
import { createHubService } from '../../hub/service/index.ts';
import { privatePgUnavailable, startPrivatePg, type PrivatePg } from './private-pg.ts';

const unavailable = privatePgUnavailable();

describe.skipIf(unavailable !== undefined)(
  `LISTEN across a PostgreSQL restart${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    let pg: PrivatePg;
    let db: HubDb;
    beforeAll(async () => {
      pg = await startPrivatePg();
      db = await openHubDb({ databaseUrl: pg.url, poolSize: 2 });
    }, 120_000);
    afterAll(async () => {
      await db?.close();
      pg?.destroy();
    });

    it('wakes feed waiters again after the server restarts, for changes written by another process', async () => {
      const hub = createHubService({ db });
      const pgDb = db as HubDb & { onListen(fn: () => void): () => void };
      let woke = 0;
      let wake: () => void = () => undefined;
      db.onFeedChange(() => {
        woke++;
        wake();
      });
      const next = (): Promise<void> => new Promise((r) => (wake = r));

      let w = next();
      await hub.config.set('before', 1);
      await w;
      expect(woke).toBe(1);

      const relistened = new Promise<void>((r) => pgDb.onListen(r));
      pg.restart();
      await relistened;

      // A change written by another connection (another hub process) must wake this one's waiters.
      const other = await openHubDb({ databaseUrl: pg.url, listen: false, poolSize: 1 });
      try {
        w = next();
        await createHubService({ db: other }).config.set('after', 2);
        await w;
      } finally {
        await other.close();
      }
      expect(woke).toBeGreaterThanOrEqual(2);
    }, 120_000);
  },
);
