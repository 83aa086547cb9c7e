// Pull: the change feed a device reads (its region's fines, its own changes, changes for every device).
import type { Fine } from '../../protocol/fines.ts';
import type { PullChange, PullResponse } from '../../protocol/sync.ts';
import { feedIdentity } from '../feed/identity.ts';
import { sequenceFeed } from '../feed/order.ts';
import type { HubCtx } from './context.ts';
import type { Device } from './types.ts';

/** Builds hub.pull. */
export function createPull(ctx: HubCtx) {
  const { db, nowS } = ctx;

  async function pull(dev: Device, cursor: number, limit: number): Promise<PullResponse> {
    // Rows committed by now get their positions first (hub/feed/order.ts), so none is passed over.
    await sequenceFeed(db);
    const fineRows = dev.region
      ? (
          await db.query<{ rev: number; data: Fine }>(
            'SELECT rev, data FROM fines WHERE region = $1 AND rev > $2 ORDER BY rev LIMIT $3',
            [dev.region, cursor, limit],
          )
        ).rows
      : [];
    const changeRows = (
      await db.query<{ pos: number; kind: PullChange['kind']; data: Record<string, unknown> }>(
        `SELECT pos, kind, data FROM (
           (SELECT pos, kind, data FROM changes WHERE device_id = $1 AND pos > $2 ORDER BY pos LIMIT $4)
           UNION ALL
           (SELECT pos, kind, data FROM changes WHERE region = $3 AND pos > $2 ORDER BY pos LIMIT $4)
           UNION ALL
           (SELECT pos, kind, data FROM changes WHERE device_id IS NULL AND region IS NULL AND pos > $2 ORDER BY pos LIMIT $4)
         ) c ORDER BY pos LIMIT $4`,
        [dev.id, cursor, dev.region || null, limit],
      )
    ).rows;
    const all: PullChange[] = [
      ...fineRows.map((r) => ({ cursor: Number(r.rev), kind: 'fine' as const, fine: r.data })),
      ...changeRows.map((r) => ({ cursor: Number(r.pos), kind: r.kind, ...r.data }) as PullChange),
    ].sort((a, b) => a.cursor - b.cursor);
    const more = fineRows.length >= limit || changeRows.length >= limit;
    const changes = all.slice(0, limit);
    const feedId = await feedIdentity(db);
    return {
      changes,
      cursor: changes.at(-1)?.cursor ?? cursor,
      more: more || all.length > limit,
      hubTime: nowS(),
      epoch: feedId.epoch,
      head: feedId.head,
      deviceSeq: dev.lastSeq,
    };
  }

  return pull;
}
