// The streaming fines upsert, shared by the integration API (NDJSON batches) and any other bulk source
// (the file import can feed it the same way): items arrive one by one from an async source, are applied
// in chunks of `chunkSize` (one short transaction each, holding the feed lock only for that chunk), and
// every refusal is counted with its line and code. Memory stays one chunk whatever the input's size.
//
// Rules, by decision number (决定书编号):
// - upsert with a revision newer than the hub's: applied (a fine the hub knows is paid stays paid);
// - the same revision with the same content: unchanged (a retried batch changes nothing);
// - an older revision, or the same revision with other content: refused REVISION_STALE, with the hub's;
// - cancel: sets status cancelled; refused FINE_NOT_FOUND, FINE_PAID (a paid fine is never cancelled) or
//   REVISION_STALE.
// - a revision of null (a console or file upload without revisions) adds new fines and changes fines that
//   never had a revision; a fine the authority holds with a revision (source_rev > 0) is refused
//   REVISION_STALE, so an old export never re-opens a fine the API cancelled or changed (as hub/import).
import { z } from 'zod';
import { fineSchema, type Fine } from '../../protocol/fines.ts';
import { DECISION_NO_RE } from '../../protocol/ids.ts';
import { failure } from '../../protocol/result.ts';
import type { ErrorCode } from '../../protocol/errors.ts';
import { FEED_CHANNEL, type HubDb } from '../db.ts';
import { queueCloseEndedOrders } from '../pay/jobs.ts';

export const revisionSchema = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

export const fineUpsertItemSchema = z
  .object({
    op: z.literal('upsert'),
    revision: revisionSchema.describe('The authority’s revision of this fine; a newer one wins'),
    fine: fineSchema,
  })
  .strict();
export const fineCancelItemSchema = z
  .object({
    op: z.literal('cancel'),
    revision: revisionSchema,
    decisionNo: z.string().regex(DECISION_NO_RE),
  })
  .strict();
/** One line of a fines batch. */
export const fineBatchItemSchema = z.discriminatedUnion('op', [fineUpsertItemSchema, fineCancelItemSchema]);
export type FineBatchItem = z.infer<typeof fineBatchItemSchema>;

export const refusalSchema = z.object({
  line: z.number().int().positive(),
  decisionNo: z.string().optional(),
  code: z.string(),
  message: z.string(),
  messageZh: z.string(),
  hubRevision: z.number().int().optional(),
});
export type Refusal = z.infer<typeof refusalSchema>;

export interface UpsertTally {
  received: number;
  applied: number;
  unchanged: number;
  refused: number;
  /** The first MAX_REFUSALS refusals, in line order. */
  refusals: Refusal[];
}

export const MAX_REFUSALS = 1000;

/** An item already checked, or a line that failed its check. */
export type UpsertInput =
  | { line: number; op: 'upsert'; revision: number | null; fine: Fine }
  | { line: number; op: 'cancel'; revision: number | null; decisionNo: string }
  | { line: number; error: { code: ErrorCode; detail: string } };

export interface StreamUpsertOptions {
  nowS: () => number;
  chunkSize?: number;
  /** Called after each committed chunk (progress for batch status, metrics, the console). */
  onChunk?: (tally: UpsertTally) => Promise<void> | void;
}

interface Current {
  rev: number;
  status: string;
  data: Fine;
  dirty: boolean;
  exists: boolean;
}

/** JSON with sorted keys, to compare a stored fine with an incoming one whatever the key order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/** Applies a stream of fine items in chunked transactions; see the file comment for the rules. */
export async function streamUpsertFines(
  db: HubDb,
  source: AsyncIterable<UpsertInput>,
  opts: StreamUpsertOptions,
): Promise<UpsertTally> {
  const size = opts.chunkSize ?? 2000;
  const tally: UpsertTally = { received: 0, applied: 0, unchanged: 0, refused: 0, refusals: [] };
  const refuse = (
    line: number,
    code: ErrorCode,
    detail?: string,
    decisionNo?: string,
    hubRevision?: number,
  ): void => {
    tally.refused++;
    if (tally.refusals.length >= MAX_REFUSALS) return;
    const f = failure(code, detail);
    tally.refusals.push({
      line,
      code,
      message: f.message,
      messageZh: f.messageZh,
      ...(decisionNo ? { decisionNo } : {}),
      ...(hubRevision !== undefined ? { hubRevision } : {}),
    });
  };
  let chunk: UpsertInput[] = [];
  const flush = async (): Promise<void> => {
    if (chunk.length === 0) return;
    const items = chunk;
    chunk = [];
    await applyChunk(db, items, opts.nowS(), tally, refuse);
    await opts.onChunk?.(tally);
  };
  for await (const item of source) {
    tally.received++;
    if ('error' in item) refuse(item.line, item.error.code, item.error.detail);
    else chunk.push(item);
    if (chunk.length >= size) await flush();
  }
  await flush();
  return tally;
}

async function applyChunk(
  db: HubDb,
  items: UpsertInput[],
  nowS: number,
  tally: UpsertTally,
  refuse: (line: number, code: ErrorCode, detail?: string, decisionNo?: string, rev?: number) => void,
): Promise<void> {
  const numbers = [
    ...new Set(items.map((i) => ('fine' in i ? i.fine.decisionNo : 'decisionNo' in i ? i.decisionNo : ''))),
  ].filter(Boolean);
  await db.transaction(async (tx) => {
    const r = await tx.query<{ decision_no: string; source_rev: number; status: string; data: Fine }>(
      // In one order, so chunks applied at once by several processes never wait on each other in a circle.
      'SELECT decision_no, source_rev, status, data FROM fines WHERE decision_no = ANY($1::text[]) ORDER BY decision_no FOR UPDATE',
      [numbers],
    );
    const cur = new Map<string, Current>(
      r.rows.map((x) => [
        x.decision_no,
        { rev: Number(x.source_rev), status: x.status, data: x.data, dirty: false, exists: true },
      ]),
    );
    let applied = 0;
    let unchanged = 0;
    for (const it of items) {
      if ('error' in it) continue;
      const no = it.op === 'upsert' ? it.fine.decisionNo : it.decisionNo;
      const c = cur.get(no);
      const rev = it.revision;
      if (rev === null && c && c.rev > 0) {
        refuse(it.line, 'REVISION_STALE', `hub has revision ${c.rev}; a row without revision cannot change it`, no, c.rev);
        continue;
      }
      if (it.op === 'cancel') {
        if (!c) {
          refuse(it.line, 'FINE_NOT_FOUND', no, no);
          continue;
        }
        if (rev !== null && rev < c.rev) {
          refuse(it.line, 'REVISION_STALE', `hub has revision ${c.rev}`, no, c.rev);
          continue;
        }
        if (c.status === 'cancelled') {
          if (rev !== null && rev > c.rev) {
            c.rev = rev;
            c.dirty = true;
          }
          unchanged++;
          continue;
        }
        if (rev !== null && rev === c.rev) {
          refuse(it.line, 'REVISION_STALE', `hub has revision ${c.rev} with other content`, no, c.rev);
          continue;
        }
        if (c.status === 'paid') {
          refuse(it.line, 'FINE_PAID', no, no);
          continue;
        }
        c.status = 'cancelled';
        c.data = { ...c.data, status: 'cancelled' };
        if (rev !== null) c.rev = rev;
        c.dirty = true;
        applied++;
        continue;
      }
      // upsert: a fine the hub knows is paid stays paid, whatever the authority's copy says.
      const incoming: Fine = c?.status === 'paid' ? { ...it.fine, status: 'paid' } : it.fine;
      if (c) {
        const same = canonical(c.data) === canonical(incoming);
        if (rev !== null && (rev < c.rev || (rev === c.rev && !same))) {
          refuse(
            it.line,
            'REVISION_STALE',
            `hub has revision ${c.rev}${rev === c.rev ? ' with other content' : ''}`,
            no,
            c.rev,
          );
          continue;
        }
        if (same) {
          if (rev !== null && rev > c.rev) {
            c.rev = rev;
            c.dirty = true;
          }
          unchanged++;
          continue;
        }
      }
      cur.set(no, {
        rev: rev ?? c?.rev ?? 0,
        status: incoming.status,
        data: incoming,
        dirty: true,
        exists: c?.exists ?? false,
      });
      applied++;
    }
    const dirty = [...cur.entries()].filter(([, c]) => c.dirty);
    if (dirty.length) {
      const cols: unknown[][] = [[], [], [], [], [], [], []];
      for (const [no, c] of dirty) {
        [
          no,
          c.data.region,
          c.data.plate,
          c.data.vehicleIdLast6.toUpperCase(),
          c.status,
          JSON.stringify(c.data),
          c.rev,
        ].forEach((v, i) => cols[i]!.push(v));
      }
      // Only a change of content joins the feed (rev NULL until sequenced, hub/feed/order.ts): a revision bump
      // alone is not news to kiosks.
      await tx.query(
        `INSERT INTO fines AS f (decision_no, region, plate, vin6, status, data, updated_at, source_rev)
         SELECT d, r, p, v, s, j::jsonb, $8, sr
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[])
           AS u(d, r, p, v, s, j, sr)
         ON CONFLICT (decision_no) DO UPDATE SET
           region = EXCLUDED.region, plate = EXCLUDED.plate, vin6 = EXCLUDED.vin6, status = EXCLUDED.status,
           data = EXCLUDED.data, source_rev = EXCLUDED.source_rev,
           rev = CASE WHEN f.data = EXCLUDED.data THEN f.rev ELSE NULL END,
           pend = CASE WHEN f.data = EXCLUDED.data THEN f.pend ELSE EXCLUDED.pend END,
           updated_at = CASE WHEN f.data = EXCLUDED.data THEN f.updated_at ELSE EXCLUDED.updated_at END`,
        [...cols, nowS],
      );
      // A fine now paid or cancelled: the open channel orders of its bills are closed.
      const ended = dirty.filter(([, c]) => c.status !== 'unpaid').map(([no]) => no);
      if (ended.length) await queueCloseEndedOrders(tx, nowS, { decisionNos: ended });
      await tx.query(`SELECT pg_notify('${FEED_CHANNEL}', '')`);
    }
    tally.applied += applied;
    tally.unchanged += unchanged;
  });
}

/** Turns parsed NDJSON lines (or array items) into checked upsert inputs. */
export async function* checkedItems(
  source: AsyncIterable<{ line: number; value: unknown } | { line: number; error: string }>,
): AsyncGenerator<UpsertInput> {
  for await (const x of source) {
    if ('error' in x) {
      yield { line: x.line, error: { code: 'MALFORMED', detail: `line ${x.line}: ${x.error}` } };
      continue;
    }
    const p = fineBatchItemSchema.safeParse(x.value);
    if (!p.success) {
      const i = p.error.issues[0];
      yield {
        line: x.line,
        error: {
          code: 'MALFORMED',
          detail: `line ${x.line}: ${i ? `${i.path.join('.')}: ${i.message}` : ''}`,
        },
      };
      continue;
    }
    yield p.data.op === 'upsert'
      ? { line: x.line, op: 'upsert', revision: p.data.revision, fine: p.data.fine }
      : { line: x.line, op: 'cancel', revision: p.data.revision, decisionNo: p.data.decisionNo };
  }
}
