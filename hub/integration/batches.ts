// Fines batches: a batch id given by the caller makes a retried upload (after a lost answer) return the
// first upload's result instead of applying again; the row also carries progress for status requests and
// the console. A batch whose process died mid-way (state running, no progress for STALE_S) may be taken
// over by a retry; the rows it had committed come out unchanged the second time.
import { createHash, type Hash } from 'node:crypto';
import { z } from 'zod';
import { fail, ok, type Result } from '../../protocol/result.ts';
import type { HubDb } from '../db.ts';
import { refusalSchema, streamUpsertFines, type UpsertInput, type UpsertTally } from './fines-upsert.ts';

export const STALE_S = 120;
export const batchIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'batch id: letters, digits, _ and -, up to 64');

export const batchStatusSchema = z.object({
  batchId: z.string(),
  state: z.enum(['running', 'done', 'interrupted']),
  received: z.number().int(),
  applied: z.number().int(),
  unchanged: z.number().int(),
  refused: z.number().int(),
  refusals: z.array(refusalSchema),
  createdAt: z.number().int(),
  updatedAt: z.number().int(),
  finishedAt: z.number().int().nullable(),
  replayed: z
    .boolean()
    .optional()
    .describe('true when this answer is the stored result of an earlier upload'),
});
export type BatchStatus = z.infer<typeof batchStatusSchema>;

interface BatchRow {
  batch_id: string;
  owner: string;
  state: BatchStatus['state'];
  received: number;
  applied: number;
  unchanged: number;
  refused: number;
  refusals: BatchStatus['refusals'];
  created_at: number;
  updated_at: number;
  finished_at: number | null;
  body_hash: string | null;
}

function fromRow(r: BatchRow): BatchStatus {
  return {
    batchId: r.batch_id,
    state: r.state,
    received: Number(r.received),
    applied: Number(r.applied),
    unchanged: Number(r.unchanged),
    refused: Number(r.refused),
    refusals: r.refusals,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    finishedAt: r.finished_at === null ? null : Number(r.finished_at),
  };
}

export async function getBatch(db: HubDb, batchId: string): Promise<BatchStatus | undefined> {
  const r = await db.query<BatchRow>('SELECT * FROM fine_batches WHERE batch_id = $1', [batchId]);
  return r.rows[0] ? fromRow(r.rows[0]) : undefined;
}

export async function listBatches(db: HubDb, limit = 50): Promise<BatchStatus[]> {
  const r = await db.query<BatchRow>(
    'SELECT * FROM fine_batches ORDER BY created_at DESC, batch_id LIMIT $1',
    [limit],
  );
  return r.rows.map(fromRow);
}

/** Progress of running batches, for metrics: rows received so far. */
export async function runningProgress(db: HubDb): Promise<{ batches: number; received: number }> {
  const r = await db.query<{ n: number; rows: number }>(
    "SELECT count(*)::int AS n, coalesce(sum(received), 0)::bigint AS rows FROM fine_batches WHERE state = 'running'",
  );
  return { batches: Number(r.rows[0]?.n ?? 0), received: Number(r.rows[0]?.rows ?? 0) };
}

/** Items passed through unchanged while their SHA-256 (one JSON line each) is taken. */
async function* hashing(items: AsyncIterable<UpsertInput>, h: Hash): AsyncGenerator<UpsertInput> {
  for await (const it of items) {
    h.update(`${JSON.stringify(it)}\n`);
    yield it;
  }
}

/**
 * Runs a batch once. When `batchId` is already done by the same owner, reads `items` to compare them with
 * the first upload's: the same body answers its stored result (replayed: true); another body, or the id
 * used by another owner (another API key, an operator), is refused BATCH_ID_REUSED and nothing is applied.
 * BATCH_RUNNING when another upload of it is in progress.
 */
export async function runBatch(
  db: HubDb,
  batchId: string,
  owner: string,
  items: () => AsyncIterable<UpsertInput>,
  nowS: () => number,
): Promise<Result<BatchStatus>> {
  const now = nowS();
  const claimed = await db.transaction(async (tx) => {
    const ins = await tx.query<BatchRow>(
      `INSERT INTO fine_batches (batch_id, owner, state, created_at, updated_at) VALUES ($1, $2, 'running', $3, $3)
       ON CONFLICT (batch_id) DO NOTHING RETURNING *`,
      [batchId, owner, now],
    );
    if (ins.rows[0]) return { claimed: true as const };
    const r = await tx.query<BatchRow>('SELECT * FROM fine_batches WHERE batch_id = $1 FOR UPDATE', [
      batchId,
    ]);
    const b = r.rows[0]!;
    if (b.owner !== owner) return { claimed: false as const, reused: true as const };
    if (b.state === 'done') return { claimed: false as const, done: fromRow(b), hash: b.body_hash };
    if (b.state === 'running' && Number(b.updated_at) > now - STALE_S) return { claimed: false as const };
    await tx.query(
      `UPDATE fine_batches SET state = 'running', received = 0, applied = 0, unchanged = 0, refused = 0,
         refusals = '[]', updated_at = $2, finished_at = NULL WHERE batch_id = $1`,
      [batchId, now],
    );
    return { claimed: true as const };
  });
  if (!claimed.claimed) {
    if ('reused' in claimed) return fail('BATCH_ID_REUSED', `${batchId} belongs to another caller`);
    if ('done' in claimed && claimed.done) {
      const h = createHash('sha256');
      for await (const it of hashing(items(), h)) void it;
      if (claimed.hash && claimed.hash !== h.digest('hex')) {
        return fail('BATCH_ID_REUSED', `${batchId} was uploaded with another body`);
      }
      return ok({ ...claimed.done, replayed: true });
    }
    return fail('BATCH_RUNNING', batchId);
  }
  const hash = createHash('sha256');
  const save = async (t: UpsertTally, state: BatchStatus['state']): Promise<void> => {
    await db.query(
      `UPDATE fine_batches SET state = $2, received = $3, applied = $4, unchanged = $5, refused = $6,
         refusals = $7::jsonb, updated_at = $8::bigint, finished_at = CASE WHEN $2::text = 'running' THEN NULL ELSE $8::bigint END
       WHERE batch_id = $1`,
      [batchId, state, t.received, t.applied, t.unchanged, t.refused, JSON.stringify(t.refusals), nowS()],
    );
  };
  let last: UpsertTally = { received: 0, applied: 0, unchanged: 0, refused: 0, refusals: [] };
  try {
    const tally = await streamUpsertFines(db, hashing(items(), hash), {
      nowS,
      onChunk: async (t) => {
        last = t;
        await save(t, 'running');
      },
    });
    await save(tally, 'done');
    await db.query('UPDATE fine_batches SET body_hash = $2 WHERE batch_id = $1', [batchId, hash.digest('hex')]);
  } catch (e) {
    // The upload broke off (client gone, storage fault): committed chunks stay; a retry finishes the batch.
    await save(last, 'interrupted').catch(() => undefined);
    throw e;
  }
  const b = await getBatch(db, batchId);
  return b ? ok(b) : fail('NOT_FOUND', batchId);
}
