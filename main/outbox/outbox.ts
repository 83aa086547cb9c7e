// The outbox: an append-only, hash-chained event log. Every state change appends its event inside the same
// transaction as the change, so the log and the data can never disagree after a crash.
import { randomUUID } from 'node:crypto';
import type { Database, Statement } from '../../db/connection.ts';
import {
  eventHash,
  eventPayloads,
  GENESIS_HASH,
  parseEventPayload,
  type EventType,
  type OutboxEvent,
} from '../../protocol/events.ts';

export type { EventType, OutboxEvent };

interface Row {
  seq: number;
  event_id: string;
  type: string;
  at: number;
  payload: string;
  prev_hash: string;
  hash: string;
}

interface Prepared {
  last: Statement<[], { seq: number; hash: string }>;
  insert: Statement<[number, string, string, number, string, string, string]>;
  deviceId: Statement<[], { device_id: string }>;
  list: Statement<[number, number], Row>;
}

const cache = new WeakMap<Database, Prepared & { device?: string }>();

function prepared(db: Database): Prepared & { device?: string } {
  let p = cache.get(db);
  if (!p) {
    p = {
      last: db.prepare('SELECT seq, hash FROM outbox ORDER BY seq DESC LIMIT 1'),
      insert: db.prepare(
        'INSERT INTO outbox (seq, event_id, type, at, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      deviceId: db.prepare('SELECT device_id FROM device WHERE id = 1'),
      list: db.prepare(
        'SELECT seq, event_id, type, at, payload, prev_hash, hash FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?',
      ),
    };
    cache.set(db, p);
  }
  return p;
}

function deviceIdOf(db: Database): string {
  const p = prepared(db);
  if (p.device === undefined) {
    const row = p.deviceId.get();
    if (!row) throw new Error('outbox: the device identity is not set up in this database');
    p.device = row.device_id;
  }
  return p.device;
}

function toEvent(deviceId: string, r: Row): OutboxEvent {
  return {
    deviceId,
    seq: r.seq,
    eventId: r.event_id,
    type: r.type as EventType,
    at: r.at,
    payload: r.payload,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

/**
 * Appends one event. Must run inside the caller's transaction (db.transaction), which also holds the
 * state change it records. Throws on an invalid payload: that is a programming error, not user input.
 */
export function appendEvent(db: Database, type: EventType, payload: object, at: number): OutboxEvent {
  if (!db.inTransaction) throw new Error(`outbox: appendEvent(${type}) must be called inside a transaction`);
  const schema = eventPayloads[type];
  if (!schema) throw new Error(`outbox: unknown event type ${String(type)}`);
  const checked = schema.safeParse(payload);
  if (!checked.success) throw new Error(`outbox: invalid ${type} payload: ${checked.error.message}`);
  if (!Number.isSafeInteger(at) || at < 0) throw new Error(`outbox: bad event time ${at}`);
  const p = prepared(db);
  const last = p.last.get();
  const e: Omit<OutboxEvent, 'hash'> = {
    deviceId: deviceIdOf(db),
    seq: (last?.seq ?? 0) + 1,
    eventId: randomUUID(),
    type,
    at,
    payload: JSON.stringify(checked.data),
    prevHash: last?.hash ?? GENESIS_HASH,
  };
  const hash = eventHash(e);
  p.insert.run(e.seq, e.eventId, e.type, e.at, e.payload, e.prevHash, hash);
  return { ...e, hash };
}

/** Events after `afterSeq`, in order, at most `limit`. */
export function listEvents(db: Database, afterSeq: number, limit: number): OutboxEvent[] {
  const deviceId = deviceIdOf(db);
  return prepared(db)
    .list.all(afterSeq, limit)
    .map((r) => toEvent(deviceId, r));
}

/** The newest event's seq (0 when the log is empty). */
export function lastSeq(db: Database): number {
  return prepared(db).last.get()?.seq ?? 0;
}

export interface ChainReport {
  events: number;
  ok: boolean;
  firstBroken?: { seq: number; reason: string };
}

/** Walks the whole log: consecutive seqs from 1, each prevHash the previous hash, each hash right, each payload valid. */
export function verifyChain(db: Database): ChainReport {
  const deviceId = deviceIdOf(db);
  let prevHash = GENESIS_HASH;
  let expected = 1;
  let events = 0;
  const it = db
    .prepare('SELECT seq, event_id, type, at, payload, prev_hash, hash FROM outbox ORDER BY seq')
    .iterate() as IterableIterator<Row>;
  for (const r of it) {
    events++;
    const broken = (reason: string): ChainReport => {
      return { events: countEvents(db), ok: false, firstBroken: { seq: r.seq, reason } };
    };
    if (r.seq !== expected) {
      it.return?.();
      return broken(`expected seq ${expected}, found ${r.seq} (gap)`);
    }
    if (r.prev_hash !== prevHash) {
      it.return?.();
      return broken('prevHash does not match the previous event');
    }
    if (!(r.type in eventPayloads)) {
      it.return?.();
      return broken(`unknown event type ${r.type}`);
    }
    const e = toEvent(deviceId, r);
    if (eventHash(e) !== r.hash) {
      it.return?.();
      return broken('hash does not match the event');
    }
    if (!parseEventPayload(e.type, e.payload).success) {
      it.return?.();
      return broken(`payload is not a valid ${e.type}`);
    }
    prevHash = r.hash;
    expected++;
  }
  return { events, ok: true };
}

function countEvents(db: Database): number {
  return (db.prepare('SELECT count(*) AS n FROM outbox').get() as { n: number }).n;
}
