// A hub with the pay plugin, on PGlite (or PostgreSQL when DATABASE_URL is set), talking to the
// channel simulator; one shared clock for hub, simulator and device.
import pino from 'pino';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { buildHubApp } from '../../hub/app.ts';
import type { HubDb } from '../../hub/db.ts';
import { createHubService, type HubService } from '../../hub/service/index.ts';
import { ChannelSimulator, type SimulatorKeys } from '../../hub/channels/simulator.ts';
import { payPlugin } from '../../hub/pay/routes.ts';
import { freeLoopbackPort } from '../../hub/pay/config.ts';
import type { PayService } from '../../hub/pay/service.ts';
import type { ManualClock } from '../../protocol/time.ts';
import { openTestDb } from '../hub/helpers.ts';

export const ALIPAY_UA =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 AlipayClient/10.5.36.6000 Language/zh-Hans';
export const WECHAT_UA =
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36 MicroMessenger/8.0.47.2560(0x28002F35) NetType/WIFI Language/zh_CN';
export const PLAIN_UA =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36';

export interface PayHubFixture {
  db: HubDb;
  hub: HubService;
  app: FastifyInstance;
  pay: PayService;
  sim: ChannelSimulator;
  url: string;
  close(): Promise<void>;
}

export async function startPayHub(
  storage: 'pglite' | 'postgres',
  clock: ManualClock,
  keys: SimulatorKeys,
  opts: {
    sweepIntervalSeconds?: number;
    workIntervalSeconds?: number;
    refundApproval?: boolean;
    jsapi?: boolean;
    /** More hub route plugins beside the pay page (e.g. the officer number blocks). */
    plugins?: { plugin: FastifyPluginAsync<{ hub: HubService }> }[];
  } = {},
): Promise<PayHubFixture> {
  const sim = new ChannelSimulator({ clock, keys });
  await sim.start(0);
  const { db, drop } = await openTestDb(storage);
  const hub = createHubService({ db, clock });
  await hub.keys.current();
  let pay: PayService | undefined;
  const listenPort = await freeLoopbackPort();
  const app = await buildHubApp({
    hub,
    logger: pino({ level: 'silent' }),
    maxWaitSeconds: 5,
    plugins: [
      {
        plugin: payPlugin({
          config: {
            ...sim.hubConfig({ jsapi: opts.jsapi ?? false }),
            publicBase: `http://127.0.0.1:${listenPort}`,
            sweepIntervalSeconds: opts.sweepIntervalSeconds ?? 0,
            workIntervalSeconds: opts.workIntervalSeconds ?? 0,
            refundApproval: opts.refundApproval ?? false,
          },
          clock,
          onService: (s) => (pay = s),
        }),
      },
      ...(opts.plugins ?? []),
    ],
  });
  await app.listen({ port: listenPort, host: '127.0.0.1' });
  const port = listenPort;
  if (!pay) throw new Error('pay plugin did not register');
  return {
    db,
    hub,
    app,
    pay,
    sim,
    url: `http://127.0.0.1:${port}`,
    async close() {
      await app.close();
      await sim.close();
      await drop();
    },
  };
}

/** Opens the pay page as a phone would; returns status, HTML and the channel pay URL if any. */
export async function openPayPage(
  url: string,
  ua: string,
): Promise<{ status: number; html: string; payUrl?: string; outTradeNo?: string }> {
  const res = await fetch(url, { headers: { 'user-agent': ua }, redirect: 'manual' });
  const html = await res.text();
  const m = /data-pay-url="([^"]+)"/.exec(html);
  const payUrl = m ? m[1]!.replace(/&#38;/g, '&') : undefined;
  const otn = payUrl ? decodeURIComponent(payUrl.split('/').at(-1)!) : undefined;
  return { status: res.status, html, ...(payUrl ? { payUrl } : {}), ...(otn ? { outTradeNo: otn } : {}) };
}

/** Rows that a refused or repeated notification must leave alone. */
export async function stateSnapshot(db: HubDb): Promise<string> {
  const parts: unknown[] = [];
  for (const q of [
    'SELECT bill_no, status, paid_txn FROM bills ORDER BY bill_no',
    'SELECT channel, txn_id, bill_no, status, token FROM payments ORDER BY channel, txn_id',
    'SELECT pos, kind, data FROM changes ORDER BY pos',
    'SELECT decision_no, status FROM fines ORDER BY decision_no',
    'SELECT out_trade_no, status, txn_id FROM pay_orders ORDER BY out_trade_no',
    'SELECT channel, txn_id, reason FROM pay_refunds ORDER BY channel, txn_id',
  ]) {
    parts.push((await db.query(q)).rows);
  }
  return JSON.stringify(parts);
}
