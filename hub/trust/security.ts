// The hub's security log: every act a device or a payer asserted and the hub refused (a push event, a
// request from a disabled device, a bill token the pay page would not serve), with its code. Kept for the
// operator (`finekiosk hub security log`); the refused push events also go back to the device.
import type { HubQueryable } from '../db.ts';

export interface SecurityEntry {
  id: number;
  /** Unix seconds. */
  at: number;
  deviceId: string | null;
  /** Where it was refused: push, auth, pay. */
  source: 'push' | 'auth' | 'pay';
  code: string;
  reason: string;
  eventSeq: number | null;
  eventType: string | null;
  /** What the attempt named (a bill number, a decision number), when any. */
  subject: string | null;
}

export type SecurityInput = Omit<SecurityEntry, 'id'>;

/** Appends entries in one statement (inside the caller's transaction when given one). */
export async function recordSecurity(q: HubQueryable, entries: SecurityInput[]): Promise<void> {
  if (entries.length === 0) return;
  await q.query(
    `INSERT INTO security_log (at, device_id, source, code, reason, event_seq, event_type, subject)
     SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[], $8::text[])`,
    [
      entries.map((e) => e.at),
      entries.map((e) => e.deviceId),
      entries.map((e) => e.source),
      entries.map((e) => e.code),
      entries.map((e) => e.reason.slice(0, 500)),
      entries.map((e) => e.eventSeq),
      entries.map((e) => e.eventType),
      entries.map((e) => e.subject),
    ],
  );
}

export interface SecurityReport {
  /** Newest first, at most `limit`. */
  entries: SecurityEntry[];
  /** Count of every entry (not only those listed) by code. */
  counts: Record<string, number>;
  total: number;
}

/** The log, newest first; optionally one device's. */
export async function listSecurity(
  q: HubQueryable,
  opts: { deviceId?: string; limit?: number } = {},
): Promise<SecurityReport> {
  const dev = opts.deviceId ?? null;
  const r = await q.query<{
    id: number;
    at: number;
    device_id: string | null;
    source: SecurityEntry['source'];
    code: string;
    reason: string;
    event_seq: number | null;
    event_type: string | null;
    subject: string | null;
  }>(`SELECT * FROM security_log WHERE ($1::text IS NULL OR device_id = $1) ORDER BY id DESC LIMIT $2`, [
    dev,
    opts.limit ?? 200,
  ]);
  const c = await q.query<{ code: string; n: number }>(
    `SELECT code, count(*)::int AS n FROM security_log WHERE ($1::text IS NULL OR device_id = $1) GROUP BY code ORDER BY code`,
    [dev],
  );
  const counts = Object.fromEntries(c.rows.map((x) => [x.code, Number(x.n)]));
  return {
    entries: r.rows.map((x) => ({
      id: Number(x.id),
      at: Number(x.at),
      deviceId: x.device_id,
      source: x.source,
      code: x.code,
      reason: x.reason,
      eventSeq: x.event_seq === null ? null : Number(x.event_seq),
      eventType: x.event_type,
      subject: x.subject,
    })),
    counts,
    total: Object.values(counts).reduce((a, b) => a + b, 0),
  };
}
