// /metrics in the Prometheus text format (prom-client): requests and latencies by route for every hub
// route, pushes and pulls, and, read from the database at each scrape (so they are the fleet's, whichever
// hub process answers), settlements, refunds, devices online, queue depths and fines import progress.
// Reading /metrics needs an API key with the metrics:read scope or a console operator's session.
// A registry per app: several hubs in one process (tests) do not share counters.
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { OFFLINE_AFTER_S } from '../../protocol/health.ts';
import { SYNC_PATHS } from '../../protocol/sync.ts';
import type { HubService } from '../service/index.ts';
import { REFUND_STATES } from '../pay/refunds.ts';
import { operatorSession } from '../console/routes.ts';
import { runningProgress } from './batches.ts';
import { authenticateApiKey } from './keys.ts';
import { serviceStatus } from './routes.ts';

export function hubMetrics(hub: HubService): { registry: Registry; observe: FastifyPluginAsync } {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'finekiosk_hub_' });
  const requests = new Counter({
    name: 'finekiosk_http_requests_total',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'finekiosk_http_request_duration_seconds',
    help: 'HTTP request latency by route',
    labelNames: ['method', 'route'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const pushes = new Counter({
    name: 'finekiosk_sync_pushes_total',
    help: 'Kiosk pushes by outcome',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const pulls = new Counter({
    name: 'finekiosk_sync_pulls_total',
    help: 'Kiosk pulls by outcome',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const one = async (sql: string): Promise<number> =>
    Number(Object.values((await hub.db.query(sql)).rows[0] ?? {})[0] ?? 0);
  new Gauge({
    name: 'finekiosk_payments',
    help: 'Payments recorded, by status (settled; refund: a paid bill paid again)',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      const r = await hub.db.query<{ status: string; n: number }>(
        'SELECT status, count(*)::int AS n FROM payments GROUP BY status',
      );
      this.reset();
      this.set({ status: 'settled' }, 0);
      for (const x of r.rows) this.set({ status: x.status }, Number(x.n));
    },
  });
  new Gauge({
    name: 'finekiosk_refunds',
    help: 'Refunds, by the state of their refund flow (hub/pay/refunds.ts: flagged, pending_approval, approved, processing, success, failed)',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const r = await hub.db.query<{ status: string; n: number }>(
        'SELECT status, count(*)::int AS n FROM pay_refunds GROUP BY status',
      );
      this.reset();
      for (const s of REFUND_STATES) this.set({ state: s }, 0);
      for (const x of r.rows) this.set({ state: x.status }, Number(x.n));
    },
  });
  new Gauge({
    name: 'finekiosk_devices',
    help: 'Enrolled devices, by state (online: heard from recently)',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const since = hub.nowS() - OFFLINE_AFTER_S;
      const r = await hub.db.query<{ total: number; online: number; disabled: number }>(
        `SELECT count(*)::int AS total, count(*) FILTER (WHERE NOT d.enabled)::int AS disabled,
           count(*) FILTER (WHERE greatest(coalesce(d.last_seen_at, 0), coalesce(h.reported_at, 0)) >= $1)::int AS online
         FROM devices d LEFT JOIN device_health h ON h.device_id = d.id`,
        [since],
      );
      const x = r.rows[0];
      this.set({ state: 'enrolled' }, Number(x?.total ?? 0));
      this.set({ state: 'online' }, Number(x?.online ?? 0));
      this.set({ state: 'disabled' }, Number(x?.disabled ?? 0));
    },
  });
  new Gauge({
    name: 'finekiosk_queue_depth',
    help: 'Outbox events kiosks hold that the hub does not, as last reported (sum and largest)',
    labelNames: ['agg'],
    registers: [registry],
    async collect() {
      const r = await hub.db.query<{ s: number; m: number }>(
        'SELECT coalesce(sum(queue_depth), 0)::int AS s, coalesce(max(queue_depth), 0)::int AS m FROM device_health',
      );
      this.set({ agg: 'sum' }, Number(r.rows[0]?.s ?? 0));
      this.set({ agg: 'max' }, Number(r.rows[0]?.m ?? 0));
    },
  });
  new Gauge({
    name: 'finekiosk_fines_import_rows',
    help: 'Rows received so far by fines batches still running',
    registers: [registry],
    async collect() {
      this.set((await runningProgress(hub.db)).received);
    },
  });
  new Gauge({
    name: 'finekiosk_fines',
    help: 'Fines the hub holds',
    registers: [registry],
    async collect() {
      this.set(await one('SELECT count(*)::int FROM fines'));
    },
  });

  const observe: FastifyPluginAsync = async (app: FastifyInstance) => {
    app.addHook('onResponse', async (req, reply) => {
      const route = req.routeOptions.url ?? 'unmatched';
      const status = reply.statusCode;
      requests.inc({ method: req.method, route, status: String(status) });
      latency.observe({ method: req.method, route }, reply.elapsedTime / 1000);
      const outcome = status < 300 ? 'ok' : status < 500 ? 'refused' : 'error';
      if (route === SYNC_PATHS.push) pushes.inc({ outcome });
      if (route === SYNC_PATHS.pull) pulls.inc({ outcome });
    });
    // Metrics tell the fleet's size, money flows and queue depths: an API key with metrics:read, or a
    // signed-in console operator (any role), may read them; nobody else.
    app.get('/metrics', async (req, reply) => {
      if (!req.headers.authorization && (await operatorSession(hub, req))) {
        return reply.type(registry.contentType).send(await registry.metrics());
      }
      const { result } = await authenticateApiKey(
        hub.db,
        req.headers.authorization,
        'metrics:read',
        hub.nowS(),
      );
      if (!result.ok) {
        return reply.code(serviceStatus(result.error)).send({ error: result.error, hubTime: hub.nowS() });
      }
      return reply.type(registry.contentType).send(await registry.metrics());
    });
  };
  // The hook must see every route of the app, not only this plugin's: skip encapsulation.
  (observe as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
  return { registry, observe };
}
