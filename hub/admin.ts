// Operator operations, one dispatcher for both paths: the running hub's /admin endpoint and the CLI
// opening the storage itself when no hub runs.
import { z } from 'zod';
import { fail, ok, type Result } from '../protocol/result.ts';
import { listRefunds } from './pay/refunds.ts';
import { payAdmin, payAdminSchemas } from './pay/admin.ts';
import type { HubService } from './service/index.ts';
import { renewEpoch } from './feed/identity.ts';
import { auditCore, isServiceOp, runServiceAdmin } from './integration/admin.ts';

const schemas = {
  'device.add': z.object({
    name: z.string().min(1).max(100),
    region: z.string().optional(),
    ttlSeconds: z.number().int().positive().optional(),
  }),
  'device.list': z.object({}),
  'device.disable': z.object({ id: z.string().min(1) }),
  'device.enable': z.object({ id: z.string().min(1) }),
  'device.remove': z.object({ id: z.string().min(1) }),
  'feed.restored': z.object({}),
  'fines.import': z.object({ file: z.string().min(1) }),
  'key.rotate': z.object({}),
  'key.list': z.object({}),
  'config.set': z.object({ key: z.string().min(1).max(64), value: z.unknown() }),
  'config.get': z.object({}),
  'bill.void': z.object({ billNo: z.string().min(1), reason: z.string().max(200).default('hub') }),
  'chains.verify': z.object({ deviceId: z.string().optional() }),
  stats: z.object({}),
  'pay.refunds': z.object({}),
  ...payAdminSchemas,
  'security.report': z.object({
    deviceId: z.string().max(64).optional(),
    limit: z.number().int().min(1).max(10_000).default(200),
  }),
} as const;

export type AdminOp = keyof typeof schemas;

/** Core operations that only read (not audited as changes). */
export const CORE_READS = new Set<string>([
  'device.list',
  'key.list',
  'config.get',
  'stats',
  'pay.refunds',
  'pay.reconciliations',
]);
export const isCoreOp = (op: string): op is AdminOp => op in schemas;

/**
 * Runs an operator operation as `actor` (`cli`, or `operator:<id>` from the console); every change is
 * written to the audit log (hub/integration/audit.ts).
 */
export async function runAdmin(
  hub: HubService,
  op: string,
  args: unknown,
  actor = 'cli',
): Promise<Result<unknown>> {
  if (isServiceOp(op)) return runServiceAdmin(hub, op, args, actor);
  const r = await runCoreAdmin(hub, op, args, actor);
  if (op in schemas && !CORE_READS.has(op)) await auditCore(hub, op, args, r, actor);
  return r;
}

async function runCoreAdmin(
  hub: HubService,
  op: string,
  args: unknown,
  actor: string,
): Promise<Result<unknown>> {
  if (!(op in schemas)) return fail('MALFORMED', `unknown admin operation ${op}`);
  const p = schemas[op as AdminOp].safeParse(args ?? {});
  if (!p.success)
    return fail('MALFORMED', p.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  const a = p.data as Record<string, unknown>;
  switch (op as AdminOp) {
    case 'device.add':
      return hub.devices.add(a as z.infer<(typeof schemas)['device.add']>);
    case 'device.list':
      return ok(await hub.devices.list());
    case 'device.disable':
      return hub.devices.setEnabled(String(a.id), false);
    case 'device.enable':
      return hub.devices.setEnabled(String(a.id), true);
    case 'device.remove':
      return hub.devices.remove(String(a.id));
    case 'feed.restored':
      return ok(await renewEpoch(hub.db, hub.nowS()));
    case 'fines.import':
      return hub.fines.importFile(String(a.file));
    case 'key.rotate':
      return ok(await hub.keys.rotate());
    case 'key.list':
      return ok(await hub.keys.list());
    case 'config.set':
      return ok(await hub.config.set(String(a.key), a.value));
    case 'config.get':
      return ok(await hub.config.get());
    case 'bill.void':
      return hub.bills.void(String(a.billNo), String(a.reason));
    case 'chains.verify':
      return ok(await hub.verifyChains(a.deviceId as string | undefined));
    case 'stats':
      return ok(await hub.stats());
    case 'pay.refunds':
      return ok(await listRefunds(hub.db));
    case 'pay.refund':
    case 'pay.reconcile':
    case 'pay.reconciliations':
      return payAdmin(hub, op, a, actor);
    case 'security.report':
      return ok(
        await hub.security.list({
          ...(a.deviceId ? { deviceId: String(a.deviceId) } : {}),
          limit: Number(a.limit),
        }),
      );
  }
}
