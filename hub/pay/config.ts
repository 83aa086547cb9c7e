// The hub's channel configuration: gateway URLs, app id / mchid and keys per channel. The simulator
// writes one of these for the demo; a real deployment points it at the real gateways.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { Channel } from '../../protocol/ids.ts';
import { fail, ok, type Result } from '../../protocol/result.ts';
import { systemClock, type Clock } from '../../protocol/time.ts';
import { AlipayAdapter, alipayConfigSchema } from '../channels/alipay.ts';
import type { ChannelAdapter } from '../channels/types.ts';
import { WechatAdapter, wechatConfigSchema } from '../channels/wechat.ts';

export const payConfigSchema = z.object({
  /** The hub's public base URL, for notify_url; when absent, taken from the pay page request's host. */
  publicBase: z.url().optional(),
  alipay: alipayConfigSchema.optional(),
  wechat: wechatConfigSchema.optional(),
  /** Seconds between two queries of one open order. */
  queryEverySeconds: z.number().int().positive().max(3600).default(60),
  /** How often the scheduled query runs, seconds; 0 turns it off. */
  sweepIntervalSeconds: z.number().int().nonnegative().max(3600).default(30),
});
export type PayConfig = z.input<typeof payConfigSchema>;

/** Environment variable naming the channel config file. */
export const PAY_CONFIG_ENV = 'FINEKIOSK_CHANNELS';

export function loadPayConfig(file: string): Result<z.output<typeof payConfigSchema>> {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    return fail('BAD_FILE', `${file}: ${(e as Error).message}`);
  }
  const p = payConfigSchema.safeParse(json);
  if (!p.success)
    return fail(
      'BAD_FILE',
      `${file}: ${p.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return ok(p.data);
}

export function buildAdapters(
  cfg: PayConfig,
  clock: Clock = systemClock,
): Partial<Record<Channel, ChannelAdapter>> {
  const base = (cfg.publicBase ?? 'http://127.0.0.1').replace(/\/+$/, '');
  const out: Partial<Record<Channel, ChannelAdapter>> = {};
  if (cfg.alipay) out.alipay = new AlipayAdapter(cfg.alipay, `${base}/notify/alipay`, clock);
  if (cfg.wechat) out.wechat = new WechatAdapter(cfg.wechat, `${base}/notify/wechat`, clock);
  return out;
}
