// Device health as kiosks report it (protocol/health.ts) and the fleet view the console and the metrics
// read; the security log as the console shows it. (Refunds and their approval: hub/pay/refunds.ts.)
import { listSecurity } from '../trust/security.ts';
import type { FastifyPluginAsync } from 'fastify';
import { failure } from '../../protocol/result.ts';
import { HEALTH_PATH, healthReportSchema, OFFLINE_AFTER_S } from '../../protocol/health.ts';
import { MAX_BODY_BYTES } from '../../protocol/sync.ts';
import type { HubQueryable } from '../db.ts';
import type { HubService } from '../service/index.ts';
import { serviceStatus } from './routes.ts';

export interface DeviceHealthView {
  id: string;
  name: string;
  region: string;
  enabled: boolean;
  lastSeq: number;
  lastSeenAt: number | null;
  online: boolean;
  appVersion: string | null;
  queueDepth: number | null;
  printer: string | null;
  clockOffsetSeconds: number | null;
}

/** Every device with its last health report; online when heard from within OFFLINE_AFTER_S. */
export async function deviceHealthList(hub: HubService): Promise<DeviceHealthView[]> {
  const r = await hub.db.query<{
    id: string;
    name: string;
    region: string;
    enabled: boolean;
    last_seq: number;
    last_seen_at: number | null;
    reported_at: number | null;
    app_version: string | null;
    queue_depth: number | null;
    printer_state: string | null;
    clock_offset_s: number | null;
  }>(
    `SELECT d.id, d.name, d.region, d.enabled, d.last_seq, d.last_seen_at, h.reported_at, h.app_version,
       h.queue_depth, h.printer_state, h.clock_offset_s
     FROM devices d LEFT JOIN device_health h ON h.device_id = d.id ORDER BY d.created_at, d.id`,
  );
  const now = hub.nowS();
  return r.rows.map((d) => {
    const seen = Math.max(Number(d.last_seen_at ?? 0), Number(d.reported_at ?? 0)) || null;
    return {
      id: d.id,
      name: d.name,
      region: d.region,
      enabled: d.enabled,
      lastSeq: Number(d.last_seq),
      lastSeenAt: seen,
      online: seen !== null && now - seen <= OFFLINE_AFTER_S,
      appVersion: d.app_version,
      queueDepth: d.queue_depth === null ? null : Number(d.queue_depth),
      printer: d.printer_state,
      clockOffsetSeconds: d.clock_offset_s === null ? null : Number(d.clock_offset_s),
    };
  });
}

/** Signed health reports from kiosks (same headers as push). */
export const healthPlugin: FastifyPluginAsync<{ hub: HubService }> = async (app, { hub }) => {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: MAX_BODY_BYTES }, (_req, body, done) =>
    done(null, body),
  );
  app.post(HEALTH_PATH, async (req, reply) => {
    const body = typeof req.body === 'string' ? req.body : '';
    const dev = await hub.authenticate({ method: req.method, path: req.url, headers: req.headers, body });
    if (!dev.ok) return reply.code(serviceStatus(dev.error)).send({ error: dev.error, hubTime: hub.nowS() });
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      json = undefined;
    }
    const p = healthReportSchema.safeParse(json);
    if (!p.success)
      return reply
        .code(400)
        .send({ error: failure('MALFORMED', p.error.issues[0]?.message), hubTime: hub.nowS() });
    const h = p.data;
    await hub.db.query(
      `INSERT INTO device_health (device_id, reported_at, app_version, queue_depth, printer_state, clock_offset_s, data)
       VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)
       ON CONFLICT (device_id) DO UPDATE SET reported_at = EXCLUDED.reported_at, app_version = EXCLUDED.app_version,
         queue_depth = EXCLUDED.queue_depth, printer_state = EXCLUDED.printer_state,
         clock_offset_s = EXCLUDED.clock_offset_s, data = EXCLUDED.data`,
      [
        dev.value.id,
        hub.nowS(),
        h.appVersion,
        h.queueDepth,
        h.printer,
        h.clockOffsetSeconds,
        JSON.stringify(h),
      ],
    );
    return { ok: true, hubTime: hub.nowS() };
  });
};

export interface RefusedEventView {
  deviceId: string;
  seq: number;
  type: string;
  reason: string | null;
  receivedAt: number;
  /** The refusal's code (protocol/errors.ts) and where it was refused: push, auth or pay. */
  code: string;
  source: string;
}

/**
 * The security log (hub/trust/security.ts, one log for the whole hub): what devices and payers asserted
 * and the hub refused, newest first. Entries that are not push events have seq 0 and an empty type.
 */
export async function securityLog(db: HubQueryable, limit = 200): Promise<RefusedEventView[]> {
  const r = await listSecurity(db, { limit });
  return r.entries.map((e) => ({
    deviceId: e.deviceId ?? '',
    seq: e.eventSeq ?? 0,
    type: e.eventType ?? '',
    reason: `${e.code}: ${e.reason}`,
    receivedAt: e.at,
    code: e.code,
    source: e.source,
  }));
}
