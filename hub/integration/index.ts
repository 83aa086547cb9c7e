// The hub as a service for the traffic authority, as plugins for startHub/buildHubApp: the integration
// API (/api/v1), kiosk health reports, /metrics, the webhook delivery worker and the operator console.
import type { FastifyPluginAsync } from 'fastify';
import type { HubService } from '../service/index.ts';
import { consolePlugin } from '../console/routes.ts';
import { healthPlugin } from './health.ts';
import { hubMetrics } from './metrics.ts';
import type { ReconciliationReports } from './reports.ts';
import { integrationPlugin } from './routes.ts';
import { startWebhookWorker, type WebhookOptions } from './webhooks.ts';

export interface ServicePluginOptions {
  reports?: ReconciliationReports;
  /** Webhook delivery tuning (tests shorten the backoff); false: no worker in this process. */
  webhooks?: (Partial<WebhookOptions> & { idleMs?: number }) | false;
  /** The hub's public base URL, for enrollment QR codes (default: the request's own origin). */
  publicBase?: string;
}

type HubPlugin = { plugin: FastifyPluginAsync<{ hub: HubService }>; prefix?: string };

/** The plugins to hand to startHub / buildHubApp. */
export function servicePlugins(o: ServicePluginOptions = {}): HubPlugin[] {
  const metrics: FastifyPluginAsync<{ hub: HubService }> = async (app, { hub }) => {
    await app.register(hubMetrics(hub).observe);
  };
  // Not encapsulated: the metrics hook must see every route of the app.
  (metrics as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
  const plugins: HubPlugin[] = [
    { plugin: metrics },
    {
      plugin: async (app, { hub }) =>
        app.register(integrationPlugin, { hub, ...(o.reports ? { reports: o.reports } : {}) }),
    },
    { plugin: healthPlugin },
    {
      plugin: async (app, { hub }) =>
        app.register(consolePlugin, {
          hub,
          ...(o.reports ? { reports: o.reports } : {}),
          ...(o.publicBase ? { publicBase: o.publicBase } : {}),
        }),
    },
  ];
  if (o.webhooks !== false) {
    const wo = o.webhooks || {};
    plugins.push({
      plugin: async (app, { hub }) => {
        let worker: ReturnType<typeof startWebhookWorker> | undefined;
        app.addHook('onReady', async () => {
          worker = startWebhookWorker(hub.db, { nowMs: () => hub.clock.now(), ...wo });
        });
        app.addHook('onClose', async () => worker?.stop());
      },
    });
  }
  return plugins;
}
