// The pay area's surface for the hub process: the plugin (pay page, notifications, scheduled query)
// built from the channel config file named by FINEKIOSK_CHANNELS.
import type { Clock } from '../../protocol/time.ts';
import { fail, ok, type Result } from '../../protocol/result.ts';
import { loadPayConfig, PAY_CONFIG_ENV } from './config.ts';
import { payPlugin } from './routes.ts';

export { payPlugin, channelFromUserAgent, type PayPluginOptions } from './routes.ts';
export { createPayService, type PayService, type PayHub } from './service.ts';
export { loadPayConfig, payConfigSchema, buildAdapters, PAY_CONFIG_ENV, type PayConfig } from './config.ts';

/** The plugin entry for startHub/buildHubApp when FINEKIOSK_CHANNELS names a config file; [] when unset. */
export function payPluginsFromEnv(
  env: NodeJS.ProcessEnv,
  clock?: Clock,
): Result<{ plugin: ReturnType<typeof payPlugin> }[]> {
  const file = env[PAY_CONFIG_ENV];
  if (!file) return ok([]);
  const cfg = loadPayConfig(file);
  if (!cfg.ok) return fail(cfg.error.code, cfg.error.message);
  return ok([{ plugin: payPlugin({ config: cfg.value, ...(clock ? { clock } : {}) }) }]);
}
