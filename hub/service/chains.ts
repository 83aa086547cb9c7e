// The events the hub holds per device: pages for recovery, the whole log, chain checks and row counts.
import { firstBrokenEvent, type OutboxEvent } from '../../protocol/events.ts';
import type { HubCtx } from './context.ts';
import type { HubDevices } from './devices.ts';
import type { Device } from './types.ts';

/** Builds hub.eventsPage, eventsOf, verifyChains and stats. */
export function createChains(ctx: HubCtx, devices: HubDevices) {
  const { db } = ctx;

  /** A page of a device's own events as the hub holds them, for `finekiosk recover`. */
  async function eventsPage(
    dev: Device,
    after: number,
    limit: number,
  ): Promise<{ events: OutboxEvent[]; highestSeq: number; more: boolean }> {
    const r = await db.query<{
      seq: number;
      event_id: string;
      type: string;
      at: number;
      payload: string;
      prev_hash: string;
      hash: string;
    }>(
      `SELECT seq, event_id, type, at, payload, prev_hash, hash FROM events
        WHERE device_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
      [dev.id, after, limit + 1],
    );
    const d = await devices.get(dev.id);
    const rows = r.rows.slice(0, limit);
    return {
      events: rows.map((x) => ({
        deviceId: dev.id,
        seq: Number(x.seq),
        eventId: x.event_id,
        type: x.type as OutboxEvent['type'],
        at: Number(x.at),
        payload: x.payload,
        prevHash: x.prev_hash,
        hash: x.hash,
      })),
      highestSeq: d?.lastSeq ?? 0,
      more: r.rows.length > limit,
    };
  }

  async function eventsOf(deviceId: string): Promise<
    {
      seq: number;
      hash: string;
      prevHash: string;
      status: string;
      reason: string | null;
      type: string;
      eventId: string;
      at: number;
      payload: string;
    }[]
  > {
    const r = await db.query<{
      seq: number;
      hash: string;
      prev_hash: string;
      status: string;
      reason: string | null;
      type: string;
      event_id: string;
      at: number;
      payload: string;
    }>(
      'SELECT seq, hash, prev_hash, status, reason, type, event_id, at, payload FROM events WHERE device_id = $1 ORDER BY seq',
      [deviceId],
    );
    return r.rows.map((x) => ({
      seq: Number(x.seq),
      hash: x.hash,
      prevHash: x.prev_hash,
      status: x.status,
      reason: x.reason,
      type: x.type,
      eventId: x.event_id,
      at: Number(x.at),
      payload: x.payload,
    }));
  }

  /** Checks the stored chain of every device (or one); returns the devices whose chain is broken. */
  async function verifyChains(
    deviceId?: string,
  ): Promise<{ devices: number; events: number; broken: string[] }> {
    const list = deviceId ? [deviceId] : (await devices.list()).map((d) => d.id);
    let n = 0;
    const broken: string[] = [];
    for (const id of list) {
      const evs = await eventsOf(id);
      n += evs.length;
      const asOutbox = evs.map((e) => ({ ...e, deviceId: id, type: e.type as OutboxEvent['type'] }));
      if (firstBrokenEvent(asOutbox) >= 0) broken.push(id);
    }
    return { devices: list.length, events: n, broken };
  }

  /** Row counts, for operators and the crash tests. */
  async function stats(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const t of ['devices', 'events', 'bills', 'payments', 'voids', 'fines', 'changes']) {
      const r = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t}`);
      out[t] = Number(r.rows[0]?.n ?? 0);
    }
    return out;
  }

  return { eventsPage, eventsOf, verifyChains, stats };
}
