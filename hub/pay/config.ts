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
  /**
   * The hub's public base URL (https): notify_url and the pay page's links are built from it, never
   * from a request's Host header. Plain http only for a loopback address (tests, the local demo).
   */
  publicBase: z
    .url()
    .refine((u) => {
      const x = new URL(u);
      return x.protocol === 'https:' || (x.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(x.hostname));
    }, 'publicBase must be https (http only for a loopback address)'),
  /** When true, an operator approves each refund of a flagged payment before it is executed. */
  refundApproval: z.boolean().default(false),
  /** How often the background jobs (close other orders, refunds) run, seconds; 0 turns it off. */
  workIntervalSeconds: z.number().int().nonnegative().max(3600).default(5),
  /** Hour of the day (Beijing time) the daily reconciliation of the day before runs; -1 turns it off. */
  reconcileHour: z.number().int().min(-1).max(23).default(10),
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

/**
 * A free loopback port for a local hub whose publicBase must be known before it listens (the demo,
 * tests). The port is released before it is returned, so another process could take it first.
 */
export async function freeLoopbackPort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export function buildAdapters(
  cfg: PayConfig,
  clock: Clock = systemClock,
): Partial<Record<Channel, ChannelAdapter>> {
  const base = cfg.publicBase.replace(/\/+$/, '');
  const out: Partial<Record<Channel, ChannelAdapter>> = {};
  if (cfg.alipay) out.alipay = new AlipayAdapter(cfg.alipay, `${base}/notify/alipay`, clock);
  if (cfg.wechat) out.wechat = new WechatAdapter(cfg.wechat, `${base}/notify/wechat`, clock);
  return out;
}
