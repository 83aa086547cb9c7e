// Blocks of decision numbers for officer devices. A device asks (signed, like push and pull) when it
// runs low; the hub takes a range from the counter of the number prefix in one transaction and keeps
// one row per block. A repeated request (same requestId, e.g. after a lost answer) gets the same block,
// unless numbers of that block already reached the hub: then the device was restored from a copy made
// before the block arrived, and the request is refused (BLOCK_ALREADY_USED) so it asks anew.
import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { z } from 'zod';
import { fail, failure, ok, type Failure, type Result } from '../../protocol/result.ts';
import { shanghaiDate } from '../../protocol/time.ts';
import type { HubQueryable } from '../db.ts';
import type { Device, HubService } from '../service/index.ts';

export const BLOCKS_PATH = '/v1/officer/blocks';
/** Numbers per block unless the hub's config says otherwise (config key officerBlockSize). */
export const DEFAULT_BLOCK_SIZE = 500;
/** Serial digits after the prefix: region (6) + year (4) + series digit 9 (on-the-spot) + 7 = 18 digits. */
export const SERIAL_WIDTH = 7;
/** The series digit that keeps officer numbers apart from the authority's other decision numbers. */
export const OFFICER_SERIES = '9';
/** Advisory lock class for one device's block requests. */
const DEVICE_LOCK = 727101;

export const blocksRequestSchema = z.strictObject({
  /** The device's id for this request: a repeat gets the same answer. */
  requestId: z.string().uuid(),
  /** Numbers the device still holds (for the hub's records and sizing). */
  remaining: z.number().int().nonnegative().max(10_000_000).optional(),
});

export const blockWireSchema = z.object({
  blockId: z.string(),
  region: z.string(),
  prefix: z.string(),
  width: z.number().int(),
  first: z.number().int(),
  last: z.number().int(),
});
export type BlockWire = z.infer<typeof blockWireSchema>;

export const blocksResponseSchema = z.object({
  blocks: z.array(blockWireSchema),
  hubTime: z.number().int(),
});

interface BlockRow {
  block_id: string;
  region: string;
  prefix: string;
  width: number;
  first_n: number | string;
  last_n: number | string;
}

const toWire = (r: BlockRow): BlockWire => ({
  blockId: r.block_id,
  region: r.region,
  prefix: r.prefix,
  width: Number(r.width),
  first: Number(r.first_n),
  last: Number(r.last_n),
});

export function officerPrefix(region: string, nowS: number): string {
  return `${region}${shanghaiDate(nowS).slice(0, 4)}${OFFICER_SERIES}`;
}

async function blockSize(q: HubQueryable): Promise<number> {
  const r = await q.query<{ value: unknown }>("SELECT value FROM config WHERE key = 'officerBlockSize'");
  const v = r.rows[0]?.value;
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 100_000 ? v : DEFAULT_BLOCK_SIZE;
}

/**
 * Allocates one block for a device. The counter row is created or bumped by one statement; on PostgreSQL
 * the conflicting row is locked and re-read, so concurrent allocations (any process) serialize on it.
 */
export async function allocateBlock(
  db: { transaction<T>(fn: (tx: HubQueryable) => Promise<T>): Promise<T> },
  dev: Pick<Device, 'id' | 'region'>,
  requestId: string,
  nowS: number,
  size?: number,
): Promise<Result<BlockWire>> {
  if (!/^[0-9]{6}$/.test(dev.region)) {
    return fail(
      'MALFORMED',
      'this device has no region; give it one at enrollment to receive decision numbers',
    );
  }
  return db
    .transaction(async (tx): Promise<Result<BlockWire>> => {
      // One request of a device at a time (any process): a repeat then finds the first one's block.
      await tx.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [DEVICE_LOCK, dev.id]);
      const again = await tx.query<BlockRow>(
        'SELECT * FROM decision_blocks WHERE device_id = $1 AND request_id = $2',
        [dev.id, requestId],
      );
      const prior = again.rows[0];
      if (prior) {
        // A repeat is a lost answer only if none of the block's numbers was ever used: numbers the hub
        // holds mean the device had the block, and a device asking for it again was restored from a
        // copy made before it arrived. Handing it back would give its printed numbers a second time.
        if (await blockUsed(tx, prior)) {
          throw new BlockFailure(
            failure(
              'BLOCK_ALREADY_USED',
              `block ${prior.block_id} of request ${requestId} holds used numbers`,
            ),
          );
        }
        return ok(toWire(prior));
      }
      const n = size ?? (await blockSize(tx));
      const prefix = officerPrefix(dev.region, nowS);
      const bumped = await tx.query<{ first_n: number | string }>(
        `INSERT INTO decision_counters AS c (prefix, next_n) VALUES ($1, 1 + $2::bigint)
       ON CONFLICT (prefix) DO UPDATE SET next_n = c.next_n + $2::bigint
       RETURNING next_n - $2::bigint AS first_n`,
        [prefix, n],
      );
      const first = Number(bumped.rows[0]!.first_n);
      const last = first + n - 1;
      if (last >= 10 ** SERIAL_WIDTH) {
        // Rolls the whole transaction back: the counter stays where it was.
        throw new BlockFailure(failure('NUMBERS_EXHAUSTED', `the ${prefix} series is used up for this year`));
      }
      const row: BlockRow = {
        block_id: `${dev.id}-${randomUUID().slice(0, 8)}`,
        region: dev.region,
        prefix,
        width: SERIAL_WIDTH,
        first_n: first,
        last_n: last,
      };
      await tx.query(
        `INSERT INTO decision_blocks (block_id, device_id, request_id, region, prefix, width, first_n, last_n, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [row.block_id, dev.id, requestId, row.region, prefix, SERIAL_WIDTH, first, last, nowS],
      );
      return ok(toWire(row));
    })
    .catch((e: unknown) => {
      if (e instanceof BlockFailure) return { ok: false as const, error: e.failure };
      throw e;
    });
}

/** Whether the hub holds a fine numbered in the block (a ticket written under it reached the hub). */
async function blockUsed(q: HubQueryable, b: BlockRow): Promise<boolean> {
  const no = (n: number | string): string => `${b.prefix}${String(n).padStart(Number(b.width), '0')}`;
  // Same prefix and width: the block's numbers are the digit strings of that length between the two.
  const r = await q.query(
    "SELECT 1 FROM fines WHERE decision_no BETWEEN $1 AND $2 AND length(decision_no) = $3 AND decision_no ~ '^[0-9]+$' LIMIT 1",
    [no(b.first_n), no(b.last_n), no(b.first_n).length],
  );
  return r.rows.length > 0;
}

class BlockFailure extends Error {
  constructor(readonly failure: Failure) {
    super(failure.message);
  }
}

/** Blocks handed to a device, oldest first. */
export async function blocksOf(q: HubQueryable, deviceId: string): Promise<BlockWire[]> {
  const r = await q.query<BlockRow>(
    'SELECT * FROM decision_blocks WHERE device_id = $1 ORDER BY created_at, block_id',
    [deviceId],
  );
  return r.rows.map(toWire);
}

/** Who holds a decision number, if it is in any block: the hub can check a ticket's number is the device's. */
export async function blockHolding(q: HubQueryable, decisionNo: string): Promise<string | undefined> {
  if (!/^[0-9]{8,32}$/.test(decisionNo)) return undefined;
  const prefix = decisionNo.slice(0, decisionNo.length - SERIAL_WIDTH);
  const n = Number(decisionNo.slice(-SERIAL_WIDTH));
  const r = await q.query<{ device_id: string }>(
    'SELECT device_id FROM decision_blocks WHERE prefix = $1 AND first_n <= $2 AND last_n >= $2',
    [prefix, n],
  );
  return r.rows[0]?.device_id;
}

/** The route plugin: POST /v1/officer/blocks, signed by the device. */
export const officerBlocksPlugin: FastifyPluginAsync<{ hub: HubService }> = async (app, { hub }) => {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 4096 }, (_req, body, done) =>
    done(null, body),
  );
  const send = (reply: FastifyReply, f: Failure, status: number): FastifyReply =>
    reply.code(status).send({ error: f, hubTime: hub.nowS() });

  app.post(BLOCKS_PATH, async (req, reply) => {
    const body = typeof req.body === 'string' ? req.body : '';
    const auth = await hub.authenticate({ method: req.method, path: req.url, headers: req.headers, body });
    if (!auth.ok) return send(reply, auth.error, auth.error.code === 'DEVICE_DISABLED' ? 403 : 401);
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      return send(reply, failure('MALFORMED', 'body is not JSON'), 400);
    }
    const p = blocksRequestSchema.safeParse(json);
    if (!p.success) return send(reply, failure('MALFORMED', p.error.issues[0]?.message), 400);
    const r = await allocateBlock(hub.db, auth.value, p.data.requestId, hub.nowS());
    if (!r.ok) return send(reply, r.error, 422);
    req.log.info({ deviceId: auth.value.id, blockId: r.value.blockId }, 'decision block allocated');
    return { blocks: [r.value], hubTime: hub.nowS() };
  });
};
