// Operator operations of the service (API keys, webhooks, batches, operator accounts, audit, health,
// refunds, payments), reached like the core ones: the running hub's /admin endpoint or the CLI opening the
// storage. Each is written to the audit log with its actor (`cli` unless the console gives its own).
import { z } from 'zod';
import { fail, ok, type Result } from '../../protocol/result.ts';
import type { HubService } from '../service/index.ts';
import { audit, readAudit } from './audit.ts';
import { listBatches } from './batches.ts';
import { apiKeyCreateSchema, createApiKey, listApiKeys, revokeApiKey } from './keys.ts';
import { paymentSearchSchema, searchPayments } from './payments.ts';
import {
  addWebhook,
  deadLetters,
  listWebhooks,
  removeWebhook,
  replayDead,
  webhookAddSchema,
} from './webhooks.ts';
import { deviceHealthList, securityLog } from './health.ts';
import { listRefunds } from '../pay/refunds.ts';
import { approveRefundAsOperator, payAdminSchemas } from '../pay/admin.ts';
import { addOperator, listOperators, operatorAddSchema, setOperatorDisabled } from '../console/operators.ts';

const id = z.object({ id: z.string().min(1).max(64) });
export const serviceSchemas = {
  'apikey.create': apiKeyCreateSchema,
  'apikey.list': z.object({}),
  'apikey.revoke': id,
  'webhook.add': webhookAddSchema,
  'webhook.list': z.object({}),
  'webhook.remove': id,
  'webhook.dead': z.object({ id: z.string().optional() }),
  'webhook.replay': id,
  'batch.list': z.object({}),
  'operator.add': operatorAddSchema,
  'operator.list': z.object({}),
  'operator.disable': id,
  'operator.enable': id,
  'audit.read': z.object({ limit: z.number().int().min(1).max(1000).default(100) }),
  'device.health': z.object({}),
  'refund.list': z.object({}),
  'refund.approve': payAdminSchemas['pay.refund'],
  'payment.search': paymentSearchSchema,
  'security.log': z.object({}),
} as const;
export type ServiceOp = keyof typeof serviceSchemas;

/** Operations that only read: not written to the audit log as changes. */
const READS = new Set<string>([
  'apikey.list',
  'webhook.list',
  'webhook.dead',
  'batch.list',
  'operator.list',
  'audit.read',
  'device.health',
  'refund.list',
  'payment.search',
  'security.log',
]);

export const isServiceOp = (op: string): op is ServiceOp => op in serviceSchemas;
export const isReadOp = (op: string): boolean => READS.has(op);

/** Audit of a core operation (device, fines, keys, config, bills, chains). */
export async function auditCore(
  hub: HubService,
  op: string,
  args: unknown,
  r: Result<unknown>,
  actor: string,
): Promise<void> {
  const a = (args ?? {}) as Record<string, unknown>;
  const target = [a.id, a.name, a.key, a.billNo, a.deviceId, a.txnId].find((x) => typeof x === 'string') as
    string | undefined;
  await audit(hub.db, {
    at: hub.nowS(),
    actor,
    action: op,
    target: target ?? null,
    ok: r.ok,
    details: r.ok ? {} : { code: r.error.code },
  });
}

/** Runs one service operation as `actor`, audit-logged (secrets never in the log). */
export async function runServiceAdmin(
  hub: HubService,
  op: ServiceOp,
  args: unknown,
  actor = 'cli',
): Promise<Result<unknown>> {
  const p = serviceSchemas[op].safeParse(args ?? {});
  if (!p.success)
    return fail('MALFORMED', p.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  const a = p.data as Record<string, unknown>;
  const r = await dispatch(hub, op, a, actor);
  if (!READS.has(op)) {
    const target = (a.id ?? a.name ?? a.url ?? a.txnId ?? null) as string | null;
    await audit(hub.db, {
      at: hub.nowS(),
      actor,
      action: op,
      target: op === 'operator.add' ? String(a.id) : target,
      ok: r.ok,
      details: r.ok ? {} : { code: r.error.code },
    });
  }
  return r;
}

async function dispatch(
  hub: HubService,
  op: ServiceOp,
  a: Record<string, unknown>,
  actor: string,
): Promise<Result<unknown>> {
  const db = hub.db;
  switch (op) {
    case 'apikey.create':
      return ok(await createApiKey(db, a as z.infer<typeof apiKeyCreateSchema>, actor, hub.nowS()));
    case 'apikey.list':
      return ok(await listApiKeys(db));
    case 'apikey.revoke':
      return revokeApiKey(db, String(a.id), hub.nowS());
    case 'webhook.add':
      return addWebhook(db, a as z.input<typeof webhookAddSchema>, hub.nowS());
    case 'webhook.list':
      return ok(await listWebhooks(db));
    case 'webhook.remove':
      return removeWebhook(db, String(a.id));
    case 'webhook.dead':
      return ok(await deadLetters(db, a.id as string | undefined));
    case 'webhook.replay':
      return replayDead(db, String(a.id), hub.nowS());
    case 'batch.list':
      return ok(await listBatches(db));
    case 'operator.add':
      return addOperator(db, a as z.infer<typeof operatorAddSchema>, hub.nowS());
    case 'operator.list':
      return ok(await listOperators(db));
    case 'operator.disable':
      return setOperatorDisabled(db, String(a.id), hub.nowS());
    case 'operator.enable':
      return setOperatorDisabled(db, String(a.id), null);
    case 'audit.read':
      return ok(await readAudit(db, Number(a.limit)));
    case 'device.health':
      return ok(await deviceHealthList(hub));
    case 'refund.list':
      return ok(await listRefunds(db));
    case 'refund.approve':
      return approveRefundAsOperator(hub, String(a.channel), String(a.txnId), actor);
    case 'payment.search':
      return ok(await searchPayments(db, a as z.infer<typeof paymentSearchSchema>));
    case 'security.log':
      return ok(await securityLog(db));
  }
}
