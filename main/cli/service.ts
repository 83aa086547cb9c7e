// `finekiosk hub …` commands of the service for the traffic authority: API keys, webhooks and their dead
// letters, fines batches, operator accounts, the audit log, device health, refunds to approve, payments
// search and the security log — the same operations the operator console runs (hub/integration/admin.ts),
// through the running hub's admin endpoint or on the storage directly, audit-logged as `cli`.
import { fail, type Result } from '../../protocol/result.ts';
import { SCOPES } from '../../hub/integration/keys.ts';
import { admin } from './hub.ts';
import { optString, type Command, type CommandContext } from './framework.ts';

const op =
  (name: string, args: (ctx: CommandContext) => Result<object> | object = () => ({})) =>
  (ctx: CommandContext) => {
    const a = args(ctx);
    if ('ok' in a && a.ok === false) return Promise.resolve(a as Result<unknown>);
    return admin(ctx, name, 'ok' in a ? (a as { value: object }).value : a);
  };

const table = (rows: unknown, cols: string[]): string => {
  const list = rows as Record<string, unknown>[];
  if (!list.length) return '(none)';
  return list.map((r) => cols.map((c) => String(r[c] ?? '-')).join('  ')).join('\n');
};

export const commands: Command[] = [
  {
    path: ['hub', 'apikey', 'create'],
    usage: `hub apikey create --name NAME --scopes ${SCOPES.join(',')}`,
    summary: 'Make an API key for the authority’s systems (shown once; stored hashed)',
    options: { name: { type: 'string' }, scopes: { type: 'string' } },
    run: op('apikey.create', (ctx) => {
      const name = optString(ctx, 'name');
      const scopes = optString(ctx, 'scopes');
      if (!name || !scopes) return fail('MALFORMED', 'give --name NAME --scopes a,b');
      return {
        name,
        scopes: scopes
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      };
    }),
    text: (v) => {
      const r = v as { key: string; info: { id: string; scopes: string[] } };
      return `API key ${r.info.id} (${r.info.scopes.join(' ')}):\n${r.key}\nKeep it now: the hub stores only its hash.`;
    },
  },
  {
    path: ['hub', 'apikey', 'list'],
    usage: 'hub apikey list',
    summary: 'API keys (never the keys themselves)',
    run: op('apikey.list'),
    text: (v) => table(v, ['id', 'name', 'scopes', 'revokedAt', 'lastUsedAt']),
  },
  {
    path: ['hub', 'apikey', 'revoke'],
    usage: 'hub apikey revoke ID',
    summary: 'Revoke an API key at once',
    minPositionals: 1,
    run: op('apikey.revoke', (ctx) => ({ id: ctx.positionals[0] })),
  },
  {
    path: ['hub', 'webhook', 'add'],
    usage: 'hub webhook add URL [--from-start]',
    summary: 'Send the payments feed to URL, signed (HMAC-SHA256; the secret is shown once)',
    minPositionals: 1,
    options: { 'from-start': { type: 'boolean' } },
    run: op('webhook.add', (ctx) => ({
      url: ctx.positionals[0],
      fromStart: ctx.values['from-start'] === true,
    })),
  },
  {
    path: ['hub', 'webhook', 'list'],
    usage: 'hub webhook list',
    summary: 'Webhooks with their cursor, retries and dead letters',
    run: op('webhook.list'),
    text: (v) => table(v, ['id', 'url', 'enabled', 'cursor', 'attempts', 'dead', 'lastError']),
  },
  {
    path: ['hub', 'webhook', 'remove'],
    usage: 'hub webhook remove ID',
    summary: 'Stop a webhook',
    minPositionals: 1,
    run: op('webhook.remove', (ctx) => ({ id: ctx.positionals[0] })),
  },
  {
    path: ['hub', 'webhook', 'dead'],
    usage: 'hub webhook dead [ID]',
    summary: 'Events a webhook gave up on',
    run: op('webhook.dead', (ctx) => (ctx.positionals[0] ? { id: ctx.positionals[0] } : {})),
    text: (v) => table(v, ['webhookId', 'cursor', 'eventId', 'attempts', 'state', 'lastError']),
  },
  {
    path: ['hub', 'webhook', 'replay'],
    usage: 'hub webhook replay ID',
    summary: 'Deliver a webhook’s dead letters again',
    minPositionals: 1,
    run: op('webhook.replay', (ctx) => ({ id: ctx.positionals[0] })),
  },
  {
    path: ['hub', 'fines', 'batches'],
    usage: 'hub fines batches',
    summary: 'Fines batches (API and console uploads) with their progress',
    run: op('batch.list'),
    text: (v) => table(v, ['batchId', 'state', 'received', 'applied', 'unchanged', 'refused']),
  },
  {
    path: ['hub', 'operator', 'add'],
    usage:
      'hub operator add ID --role admin|operator|auditor [--name NAME] (password from FINEKIOSK_OPERATOR_PASSWORD)',
    summary: 'Make an operator account for the console',
    minPositionals: 1,
    options: { role: { type: 'string' }, name: { type: 'string' } },
    run: op('operator.add', (ctx) => {
      const password = ctx.io.env.FINEKIOSK_OPERATOR_PASSWORD;
      if (!password)
        return fail('MALFORMED', 'set FINEKIOSK_OPERATOR_PASSWORD (kept out of the shell history and ps)');
      const name = optString(ctx, 'name');
      return { id: ctx.positionals[0], role: optString(ctx, 'role'), password, ...(name ? { name } : {}) };
    }),
  },
  {
    path: ['hub', 'operator', 'list'],
    usage: 'hub operator list',
    summary: 'Operator accounts',
    run: op('operator.list'),
    text: (v) => table(v, ['id', 'role', 'name', 'disabled']),
  },
  {
    path: ['hub', 'operator', 'disable'],
    usage: 'hub operator disable ID',
    summary: 'Disable an operator account (its sessions end)',
    minPositionals: 1,
    run: op('operator.disable', (ctx) => ({ id: ctx.positionals[0] })),
  },
  {
    path: ['hub', 'audit'],
    usage: 'hub audit [--limit N]',
    summary: 'The audit log, newest first',
    options: { limit: { type: 'string' } },
    run: op('audit.read', (ctx) => ({ limit: Number(optString(ctx, 'limit') ?? 100) })),
    text: (v) =>
      (v as { at: number; actor: string; action: string; target: string | null; ok: boolean }[])
        .map(
          (a) =>
            `${new Date(a.at * 1000).toISOString()}  ${a.actor}  ${a.action}  ${a.target ?? ''}  ${a.ok ? 'ok' : 'REFUSED'}`,
        )
        .join('\n') || '(empty)',
  },
  {
    path: ['hub', 'device', 'health'],
    usage: 'hub device health',
    summary: 'Devices with last seen, online, app version, queue depth, printer, clock offset, region',
    run: op('device.health'),
    text: (v) =>
      table(v, [
        'id',
        'online',
        'lastSeenAt',
        'appVersion',
        'queueDepth',
        'printer',
        'clockOffsetSeconds',
        'region',
        'name',
      ]),
  },
  {
    path: ['hub', 'refund', 'list'],
    usage: 'hub refund list',
    summary: 'Refunds flagged by the hub, with their state and approval (the same list as hub pay refunds)',
    run: op('refund.list'),
    text: (v) =>
      table(v, ['channel', 'txnId', 'billNo', 'amountFen', 'status', 'approvedBy', 'approvedAt', 'doneAt', 'reason']),
  },
  {
    path: ['hub', 'refund', 'approve'],
    usage: 'hub refund approve CHANNEL TXN_ID',
    summary: 'Approve (or retry) a flagged refund; the same as hub pay refund',
    minPositionals: 2,
    run: op('refund.approve', (ctx) => ({ channel: ctx.positionals[0], txnId: ctx.positionals[1] })),
  },
  {
    path: ['hub', 'payments', 'search'],
    usage: 'hub payments search [--decision NO] [--bill NO] [--txn ID]',
    summary: 'Payments by decision number, bill or channel transaction',
    options: { decision: { type: 'string' }, bill: { type: 'string' }, txn: { type: 'string' } },
    run: op('payment.search', (ctx) => ({
      ...(optString(ctx, 'decision') ? { decisionNo: optString(ctx, 'decision') } : {}),
      ...(optString(ctx, 'bill') ? { billNo: optString(ctx, 'bill') } : {}),
      ...(optString(ctx, 'txn') ? { txnId: optString(ctx, 'txn') } : {}),
    })),
    text: (v) => table(v, ['channel', 'txnId', 'billNo', 'decisionNo', 'amountFen', 'status']),
  },
  {
    path: ['hub', 'security', 'refused'],
    usage: 'hub security refused',
    summary: 'Events the hub refused, with their devices',
    run: op('security.log'),
    text: (v) => table(v, ['deviceId', 'seq', 'type', 'reason']),
  },
];
