// The pay area's operator operations, dispatched by hub/admin.ts (running hub's /admin, or the CLI on
// the storage): approve or retry a refund, reconcile a day, read kept reconciliation reports.
import { z } from 'zod';
import { fail, ok, type Result } from '../../protocol/result.ts';
import type { HubService } from '../service/index.ts';
import { buildAdapters, loadPayConfig } from './config.ts';
import { listReconciliations } from './reconcile.ts';
import { approveRefund, type RefundRecord } from './refunds.ts';
import { createPayService, type PayHub, type PayService } from './service.ts';

export const payAdminSchemas = {
  'pay.refund': z.object({
    channel: z.enum(['alipay', 'wechat']),
    txnId: z.string().min(1).max(64),
  }),
  'pay.reconcile': z.object({
    date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
    /** For the CLI on a stopped hub: the channel config to reach the channels with. */
    channelsFile: z.string().optional(),
  }),
  'pay.reconciliations': z.object({ date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).optional() }),
} as const;

/** The running hub's pay service, set by the pay plugin (hub/pay/routes.ts). */
const services = new WeakMap<object, PayService>();
export function attachPayService(hub: object, svc: PayService): void {
  services.set(hub, svc);
}

/**
 * An operator's approval of a flagged refund (`hub pay refund`, `hub refund approve`, the console), kept on
 * the refund with `actor` and the hub's time (hub/pay/refunds.ts approveRefund); the running hub's worker
 * is woken to execute it through the channel at once.
 */
export async function approveRefundAsOperator(
  hub: HubService,
  channel: string,
  txnId: string,
  actor: string,
): Promise<Result<RefundRecord>> {
  const r = await approveRefund(hub.db, channel, txnId, actor, hub.nowS());
  services.get(hub)?.kick();
  return r;
}

export async function payAdmin(
  hub: HubService,
  op: string,
  a: Record<string, unknown>,
  actor = 'cli',
): Promise<Result<unknown>> {
  switch (op) {
    case 'pay.refund':
      return approveRefundAsOperator(hub, String(a.channel), String(a.txnId), actor);
    case 'pay.reconcile': {
      let svc = services.get(hub);
      if (!svc) {
        if (typeof a.channelsFile !== 'string') return fail('MALFORMED', 'no payment channel config (--channels FILE)');
        const cfg = loadPayConfig(a.channelsFile);
        if (!cfg.ok) return cfg;
        svc = createPayService({ hub: hub as unknown as PayHub, channels: buildAdapters(cfg.value) });
      }
      return svc.reconcile(String(a.date));
    }
    case 'pay.reconciliations':
      return ok(await listReconciliations(hub.db, typeof a.date === 'string' ? a.date : undefined));
  }
  return fail('MALFORMED', `unknown admin operation ${op}`);
}
