// Decision numbers on an officer device. The hub hands out blocks ahead of time (numeric ranges that
// never overlap across devices); a ticket takes the next number of the oldest open block with one
// conditional UPDATE inside the ticket's own transaction. Without a hub, a stand-alone sequence
// prefixed with the device id is used instead, and says so in every number it makes.
import type { Database } from '../../db/connection.ts';
import { STANDALONE_WIDTH, type DecisionBlock } from '../../protocol/decision.ts';
import { DECISION_NO_RE } from '../../protocol/ids.ts';
import { fail, ok, type Result } from '../../protocol/result.ts';

/** A block as the hub sends it (protocol/decision.ts). */
export { decisionBlockSchema, type DecisionBlock } from '../../protocol/decision.ts';

/** Below this many numbers left the officer is warned and the device asks the hub for more. */
export const LOW_WATER = 100;

export const STANDALONE_BLOCK_ID = 'standalone';
// Stand-alone numbers: {deviceId}S{8 digits}; the S marks the local sequence (never a hub number).
// Their shape is protocol/decision.ts's, so every kiosk takes them.

export function formatDecisionNo(prefix: string, width: number, n: number): string {
  return prefix + String(n).padStart(width, '0');
}

export interface TakenNumber {
  decisionNo: string;
  blockId: string;
  standalone: boolean;
}

interface BlockRow {
  block_id: string;
  region: string;
  prefix: string;
  width: number;
  first_n: number;
  last_n: number;
  next_n: number;
  standalone: number;
  received_at: number;
}

/**
 * Takes the next number. Must run inside the caller's write transaction: the number belongs to the
 * ticket only if the ticket commits with it. Hub blocks are used before the stand-alone sequence.
 */
export function takeNextNumber(db: Database): Result<TakenNumber> {
  if (!db.inTransaction) throw new Error('takeNextNumber must run inside the ticket transaction');
  const row = db
    .prepare(
      `UPDATE decision_blocks SET next_n = next_n + 1
        WHERE block_id = (SELECT block_id FROM decision_blocks WHERE next_n <= last_n
                           ORDER BY standalone, received_at, block_id LIMIT 1)
          AND next_n <= last_n
        RETURNING block_id, prefix, width, next_n - 1 AS n, standalone`,
    )
    .get() as { block_id: string; prefix: string; width: number; n: number; standalone: number } | undefined;
  if (!row) return fail('NUMBERS_EXHAUSTED');
  const decisionNo = formatDecisionNo(row.prefix, row.width, row.n);
  if (!DECISION_NO_RE.test(decisionNo)) throw new Error(`block ${row.block_id} made a bad number`);
  return ok({ decisionNo, blockId: row.block_id, standalone: row.standalone === 1 });
}

/** Stores blocks from the hub; a block already held is kept as it is (its next number is ours). */
export function addBlocks(db: Database, blocks: readonly DecisionBlock[], atMs: number): number {
  const insert = db.prepare(
    `INSERT INTO decision_blocks (block_id, region, prefix, width, first_n, last_n, next_n, standalone, received_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?) ON CONFLICT (block_id) DO NOTHING`,
  );
  let added = 0;
  db.transaction(() => {
    for (const b of blocks) {
      added += insert.run(b.blockId, b.region, b.prefix, b.width, b.first, b.last, b.first, atMs).changes;
    }
  }).immediate();
  return added;
}

/**
 * Turns on the stand-alone sequence for a device with no hub. Its numbers are not of the region's
 * pattern (they carry the device id and an S) and are stated as stand-alone on the ticket.
 */
export function enableStandalone(db: Database, deviceId: string, region: string, atMs: number): void {
  const prefix = `${deviceId.slice(0, 32 - STANDALONE_WIDTH - 1)}S`;
  db.prepare(
    `INSERT INTO decision_blocks (block_id, region, prefix, width, first_n, last_n, next_n, standalone, received_at)
     VALUES (?, ?, ?, ?, 1, ?, 1, 1, ?) ON CONFLICT (block_id) DO NOTHING`,
  ).run(STANDALONE_BLOCK_ID, region, prefix, STANDALONE_WIDTH, 10 ** STANDALONE_WIDTH - 1, atMs);
}

export interface NumberStatus {
  /** Numbers left in hub blocks. */
  remaining: number;
  blocks: number;
  /** The stand-alone sequence is on (no hub). */
  standalone: boolean;
  /** Few hub numbers left: warn the officer, ask the hub when online. */
  low: boolean;
  exhausted: boolean;
}

export function numberStatus(db: Database, lowWater = LOW_WATER): NumberStatus {
  const rows = db.prepare('SELECT * FROM decision_blocks').all() as BlockRow[];
  let remaining = 0;
  let blocks = 0;
  let standalone = false;
  for (const r of rows) {
    if (r.standalone) {
      if (r.next_n <= r.last_n) standalone = true;
      continue;
    }
    if (r.next_n <= r.last_n) blocks++;
    remaining += r.last_n - r.next_n + 1;
  }
  return {
    remaining,
    blocks,
    standalone,
    low: !standalone && remaining < lowWater,
    exhausted: !standalone && remaining === 0,
  };
}

/** Hub block ids this device holds (the hub uses them to know which blocks arrived). */
export function heldBlockIds(db: Database): string[] {
  return (
    db.prepare('SELECT block_id FROM decision_blocks WHERE standalone = 0 ORDER BY block_id').all() as {
      block_id: string;
    }[]
  ).map((r) => r.block_id);
}
