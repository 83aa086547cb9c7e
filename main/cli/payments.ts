// Payment commands: the channel simulator for the demo and tests, optionally with a hub serving the pay
// page against it. (Scanning a confirmation at the kiosk is `pay confirm`, in the kiosk's commands.)
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ChannelSimulator } from '../../hub/channels/simulator.ts';
import { PAY_CONFIG_ENV, payConfigSchema, type PayConfig } from '../../hub/pay/config.ts';
import { payPlugin } from '../../hub/pay/routes.ts';
import { startHub } from '../../hub/server.ts';
import { formatFen } from '../../protocol/money.ts';
import type { ReconcileReport } from '../../hub/pay/reconcile.ts';
import { fail, ok } from '../../protocol/result.ts';
import { optString, type Command } from './framework.ts';
import { admin, hubDataDir } from './hub.ts';

const portSchema = z.coerce.number().int().min(0).max(65535);

function reportText(r: ReconcileReport): string {
  const line = (what: string, xs: ReconcileReport['hubOnly']): string[] =>
    xs.map(
      (x) =>
        `  ${what}: ${x.outTradeNo} ${x.txnId}${x.outRefundNo ? ` refund ${x.outRefundNo}` : ''} ${formatFen(x.amountFen)}` +
        `${x.hubFen !== undefined ? ` (hub ${formatFen(x.hubFen)})` : ''}${x.outcome ? ` ${x.outcome}` : ''}`,
    );
  return [
    `${r.date} ${r.channel}: statement ${r.statement.payments} payments ${formatFen(r.statement.paymentsFen)}, ` +
      `${r.statement.refunds} refunds ${formatFen(r.statement.refundsFen)}; matched ${r.matched.payments} + ${r.matched.refunds}`,
    ...line('settled now', r.settled),
    ...line('channel only', r.channelOnly),
    ...line('hub only', r.hubOnly),
    ...line('amount differs', r.amountDiffs),
  ].join('\n');
}

export const commands: Command[] = [
  {
    path: ['hub', 'pay', 'refunds'],
    usage: 'hub pay refunds [--data DIR]',
    summary: 'List channel payments flagged for refund (a bill paid twice, or paid when it could not be)',
    // Through the running hub when there is one (PGlite admits one process), else on the storage.
    run: (ctx) => admin(ctx, 'pay.refunds', {}),
    text: (v) => {
      const rows = v as {
        channel: string;
        txnId: string;
        billNo: string;
        amountFen: number;
        reason: string;
        status?: string;
        outRefundNo?: string | null;
        lastError?: string | null;
      }[];
      if (rows.length === 0) return 'no payments flagged for refund';
      return rows
        .map(
          (x) =>
            `${x.channel}  ${x.txnId}  bill ${x.billNo}  ${formatFen(x.amountFen)}  ${x.status ?? ''}` +
            `${x.outRefundNo ? `  ${x.outRefundNo}` : ''}  ${x.reason}${x.lastError ? `  (${x.lastError})` : ''}`,
        )
        .join('\n');
    },
  },
  {
    path: ['hub', 'pay', 'refund'],
    usage: 'hub pay refund --channel alipay|wechat --txn ID [--data DIR]',
    summary:
      'Approve (or retry) the refund of a flagged payment; the hub executes it through the channel, idempotent by its refund request number',
    options: { channel: { type: 'string' }, txn: { type: 'string' } },
    run: (ctx) => {
      const channel = optString(ctx, 'channel');
      const txnId = optString(ctx, 'txn');
      if (!channel || !txnId) return Promise.resolve(fail('MALFORMED', '--channel and --txn are required'));
      return admin(ctx, 'pay.refund', { channel, txnId });
    },
    text: (v) => {
      const r = v as { channel: string; txnId: string; status: string; outRefundNo: string | null };
      return `${r.channel} ${r.txnId}: ${r.status}${r.outRefundNo ? ` (${r.outRefundNo})` : ''}`;
    },
  },
  {
    path: ['hub', 'pay', 'reconcile'],
    usage: 'hub pay reconcile --date YYYY-MM-DD [--channels FILE] [--data DIR] [--json]',
    summary:
      "Reconcile one day's channel statements with the hub's payments and refunds; settles what the hub missed, reports the rest (kept)",
    options: { date: { type: 'string' }, channels: { type: 'string' } },
    run: (ctx) => {
      const date = optString(ctx, 'date');
      if (!date || !/^\d{4}-\d{2}-\d{2}$/.test(date))
        return Promise.resolve(fail('MALFORMED', '--date YYYY-MM-DD is required'));
      const file = optString(ctx, 'channels') ?? ctx.io.env[PAY_CONFIG_ENV];
      return admin(ctx, 'pay.reconcile', { date, ...(file ? { channelsFile: path.resolve(file) } : {}) });
    },
    text: (v) => (v as ReconcileReport[]).map(reportText).join('\n\n'),
  },
  {
    path: ['hub', 'pay', 'reconciliations'],
    usage: 'hub pay reconciliations [--date YYYY-MM-DD] [--data DIR] [--json]',
    summary: 'Show kept reconciliation reports',
    options: { date: { type: 'string' } },
    run: (ctx) => {
      const date = optString(ctx, 'date');
      return admin(ctx, 'pay.reconciliations', date ? { date } : {});
    },
    text: (v) => {
      const rows = v as ReconcileReport[];
      return rows.length ? rows.map(reportText).join('\n\n') : 'no reconciliation reports';
    },
  },
  {
    path: ['hub', 'simulate-channels'],
    usage:
      'hub simulate-channels [--port N] [--host H] [--config-out FILE] [--hub-base URL] [--serve-hub [--hub-port N]]',
    summary: 'Run the Alipay / WeChat Pay simulator and write the hub channel config for it',
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'config-out': { type: 'string' },
      'hub-base': { type: 'string' },
      'serve-hub': { type: 'boolean', default: false },
      'hub-port': { type: 'string' },
    },
    run: async (ctx) => {
      const port = portSchema.safeParse(optString(ctx, 'port') ?? '8090');
      const hubPort = portSchema.safeParse(optString(ctx, 'hub-port') ?? '8080');
      if (!port.success || !hubPort.success) return fail('MALFORMED', 'ports are 0 to 65535');
      const hubBase = optString(ctx, 'hub-base');
      if (hubBase !== undefined && !z.url().safeParse(hubBase).success)
        return fail('MALFORMED', '--hub-base must be a URL');
      const dataDir = hubDataDir(ctx);
      const configFile = path.resolve(optString(ctx, 'config-out') ?? path.join(dataDir, 'channels.json'));

      const sim = new ChannelSimulator({ host: optString(ctx, 'host') ?? '127.0.0.1' });
      const simUrl = await sim.start(port.data);
      const config: PayConfig = payConfigSchema.parse({
        // The pay page's public base: given, or the local hub this demo pairs with.
        publicBase: hubBase ?? `http://127.0.0.1:${hubPort.data}`,
        // JSAPI on: a page opened inside WeChat pays by JSAPI (simulated OAuth2), as it must for real.
        ...sim.hubConfig({ jsapi: true }),
      });
      // The file holds private keys (the simulator's, but treat it like the real thing).
      mkdirSync(path.dirname(configFile), { recursive: true });
      writeFileSync(configFile, JSON.stringify(config, null, 2), { mode: 0o600 });
      chmodSync(configFile, 0o600);
      ctx.io.stderr(
        `channel simulator on ${simUrl} (Alipay gateway ${simUrl}/gateway.do, WeChat Pay ${simUrl}/v3/...)\n`,
      );
      ctx.io.stderr(
        `hub channel config written to ${configFile}; set ${PAY_CONFIG_ENV}=${configFile} for the hub\n`,
      );
      let hubUrl: string | undefined;
      let running: Awaited<ReturnType<typeof startHub>> | undefined;
      if (ctx.values['serve-hub']) {
        const url = ctx.io.env.DATABASE_URL;
        running = await startHub({
          dataDir,
          port: hubPort.data,
          ...(url ? { databaseUrl: url } : {}),
          plugins: [{ plugin: payPlugin({ config }) }],
        });
        hubUrl = running.url;
        ctx.io.stderr(`hub with the pay page on ${hubUrl} (${running.db.kind})\n`);
      }
      await ctx.io.stopSignal;
      await running?.close();
      await sim.close();
      return ok({ simulator: simUrl, config: configFile, ...(hubUrl ? { hub: hubUrl } : {}) });
    },
    text: () => 'channel simulator stopped',
  },
];
