// Hub operator commands. They work whether or not the hub runs: a running hub takes them through its
// loopback admin endpoint (port and secret in <hub data>/hub.admin.json); otherwise the command opens the
// storage itself (PostgreSQL from DATABASE_URL, else PGlite in the data folder).
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { runAdmin } from '../../hub/admin.ts';
import { openHubDb } from '../../hub/db.ts';
import { ADMIN_FILE, adminFileSchema, pgliteDir, startHub } from '../../hub/server.ts';
import { officerBlocksPlugin } from '../../hub/officer/blocks.ts';
import { servicePlugins } from '../../hub/integration/index.ts';
import { PAY_CONFIG_ENV, payPluginsFromEnv } from '../../hub/pay/index.ts';
import { createHubService, type Device } from '../../hub/service/index.ts';
import { acquireDirLock, unlockDir } from '../../hub/storage-lock.ts';
import { fail, ok, type Failure, type Result } from '../../protocol/result.ts';
import type { SecurityReport } from '../../hub/trust/security.ts';
import { optString, type Command, type CommandContext } from './framework.ts';

/** A folder that already holds a hub's data (the layout before the hub moved into <data>/hub). */
function isHubFolder(dir: string): boolean {
  return existsSync(path.join(dir, 'pglite')) || existsSync(path.join(dir, ADMIN_FILE));
}

/**
 * The hub's data folder, by the one convention of every command: `<data>/hub`, where <data> is --data,
 * else FINEKIOSK_DATA, else ./.data (the demo's hub lives there too). --hub-data DIR or
 * FINEKIOSK_HUB_DATA name the hub's folder itself. Kept working: `--data DIR` naming a folder that
 * already holds a hub, and the old default ./.hub when it exists and ./.data/hub does not.
 */
export function hubDataDir(ctx: CommandContext): string {
  const explicit = optString(ctx, 'hub-data') ?? ctx.io.env.FINEKIOSK_HUB_DATA;
  if (explicit) return path.resolve(explicit);
  const given = optString(ctx, 'data');
  if (given) {
    const d = path.resolve(given);
    return isHubFolder(d) ? d : path.join(d, 'hub');
  }
  const fresh = path.join(ctx.dataDir, 'hub');
  const old = path.join(process.cwd(), '.hub');
  if (!existsSync(fresh) && isHubFolder(old)) return old;
  return fresh;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function viaAdmin(dataDir: string, op: string, args: object): Promise<Result<unknown> | undefined> {
  const file = path.join(dataDir, ADMIN_FILE);
  if (!existsSync(file)) return undefined;
  let admin;
  try {
    admin = adminFileSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
  } catch {
    return undefined;
  }
  let res: Response;
  try {
    res = await fetch(`http://127.0.0.1:${admin.port}/admin/${op}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-fk-admin': admin.secret },
      body: JSON.stringify(args),
      signal: AbortSignal.timeout(600_000),
    });
  } catch {
    return undefined; // not running: a stale file from a hub that was killed
  }
  const json = (await res.json()) as { value?: unknown; error?: Failure };
  if (res.ok) return ok(json.value);
  if (json.error) return { ok: false, error: json.error };
  return fail('UNEXPECTED', `hub admin answered ${res.status}`);
}

/** Runs an operator operation: through the running hub's admin endpoint, else on the storage directly. */
export async function admin(ctx: CommandContext, op: string, args: object): Promise<Result<unknown>> {
  const dataDir = hubDataDir(ctx);
  const remote = await viaAdmin(dataDir, op, args);
  if (remote) return remote;
  const url = ctx.io.env.DATABASE_URL;
  if (url) {
    const db = await openHubDb({ databaseUrl: url, listen: false, poolSize: 2 });
    try {
      return await runAdmin(createHubService({ db }), op, args);
    } finally {
      await db.close();
    }
  }
  mkdirSync(dataDir, { recursive: true });
  // PGlite admits one process: take the folder, or wait for the hub holding it to open its admin endpoint.
  let lock = acquireDirLock(dataDir, 'command');
  for (let waited = 0; !lock.ok && waited < HUB_START_WAIT_MS; waited += 250) {
    await sleep(250);
    const r = await viaAdmin(dataDir, op, args);
    if (r) return r;
    lock = acquireDirLock(dataDir, 'command');
  }
  if (!lock.ok) return fail('HUB_STARTING', `${lock.error.message}; its admin endpoint did not open in time`);
  try {
    const db = await openHubDb({ dataDir: pgliteDir(dataDir), listen: false });
    try {
      return await runAdmin(createHubService({ db }), op, args);
    } finally {
      await db.close();
    }
  } finally {
    lock.value.release();
  }
}

/** How long an operator command waits for a hub that is starting on the same folder. */
const HUB_START_WAIT_MS = 60_000;

const deviceLine = (d: Device): string =>
  `${d.id}  ${d.enabled ? 'enabled ' : 'DISABLED'}  region ${d.region || '-'}  seq ${d.lastSeq}  ${d.name}`;

export const commands: Command[] = [
  {
    path: ['hub', 'serve'],
    usage: 'hub serve [--port N] [--data DIR | --hub-data DIR] [--host H] [--channels FILE]',
    summary:
      'Run the hub (PostgreSQL when DATABASE_URL is set, else PGlite in DIR); with the payment channel config ' +
      `(--channels or ${PAY_CONFIG_ENV}) it serves the pay page too`,
    options: { port: { type: 'string' }, host: { type: 'string' }, channels: { type: 'string' } },
    run: async (ctx) => {
      const portText = optString(ctx, 'port') ?? '8080';
      if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) > 65535)
        return fail('MALFORMED', 'port must be 0 to 65535');
      const channels = optString(ctx, 'channels');
      const pay = payPluginsFromEnv(
        channels ? { ...ctx.io.env, [PAY_CONFIG_ENV]: path.resolve(channels) } : ctx.io.env,
      );
      if (!pay.ok) return pay;
      const dataDir = hubDataDir(ctx);
      const url = ctx.io.env.DATABASE_URL;
      const running = await startHub({
        dataDir,
        port: Number(portText),
        host: optString(ctx, 'host') ?? '127.0.0.1',
        ...(url ? { databaseUrl: url } : {}),
        plugins: [{ plugin: officerBlocksPlugin }, ...servicePlugins(), ...pay.value],
      });
      if (running.db.folderRestored)
        ctx.io.stderr(
          `the hub's folder ${dataDir} was copied back from another time: new feed epoch, kiosks pull again from the start\n`,
        );
      ctx.io.stderr(
        `hub listening on ${running.url} (${running.db.kind}${url ? '' : `, data ${dataDir}`})\n` +
          (pay.value.length
            ? `pay page at ${running.url}/p/<bill token>\n`
            : `no payment channel config (--channels FILE or ${PAY_CONFIG_ENV}): the pay page is off\n`),
      );
      await ctx.io.stopSignal;
      await running.close();
      return ok({ stopped: true, url: running.url });
    },
    text: () => 'hub stopped',
  },
  {
    path: ['hub', 'fines', 'import'],
    usage: 'hub fines import FILE',
    summary: 'Add or update fines on the hub from a JSON or CSV file (all or nothing)',
    minPositionals: 1,
    run: (ctx) => admin(ctx, 'fines.import', { file: path.resolve(ctx.positionals[0]!) }),
    text: (v) => {
      const r = v as { received: number; changed: number };
      return `${r.received} fine(s) read, ${r.changed} new or changed`;
    },
  },
  {
    path: ['hub', 'device', 'add'],
    usage:
      "hub device add --name NAME [--region CODE] [--ttl SECONDS]  (no --region: the hub's defaultRegion)",
    summary: 'Make a one-time enrollment code for a device',
    options: { name: { type: 'string' }, region: { type: 'string' }, ttl: { type: 'string' } },
    run: (ctx) => {
      const name = optString(ctx, 'name');
      if (!name) return Promise.resolve(fail('MALFORMED', 'give --name NAME'));
      const ttl = optString(ctx, 'ttl');
      if (ttl !== undefined && !/^[0-9]{1,8}$/.test(ttl))
        return Promise.resolve(fail('MALFORMED', '--ttl is seconds'));
      return admin(ctx, 'device.add', {
        name,
        region: optString(ctx, 'region') ?? '',
        ...(ttl ? { ttlSeconds: Number(ttl) } : {}),
      });
    },
    text: (v) => {
      const r = v as { code: string; name: string; expiresAt: number };
      return `enrollment code for ${r.name}: ${r.code}\n(works once, until ${new Date(r.expiresAt * 1000).toISOString()})\non the kiosk: finekiosk enroll --hub URL --code ${r.code}`;
    },
  },
  {
    path: ['hub', 'device', 'list'],
    usage: 'hub device list',
    summary: 'Enrolled devices',
    run: (ctx) => admin(ctx, 'device.list', {}),
    text: (v) => ((v as Device[]).length ? (v as Device[]).map(deviceLine).join('\n') : 'no devices'),
  },
  {
    path: ['hub', 'device', 'disable'],
    usage: 'hub device disable DEVICE_ID',
    summary: 'Refuse every further request of a device',
    minPositionals: 1,
    run: (ctx) => admin(ctx, 'device.disable', { id: ctx.positionals[0] }),
    text: (v) => deviceLine(v as Device),
  },
  {
    path: ['hub', 'device', 'enable'],
    usage: 'hub device enable DEVICE_ID',
    summary: 'Accept a disabled device again',
    minPositionals: 1,
    run: (ctx) => admin(ctx, 'device.enable', { id: ctx.positionals[0] }),
    text: (v) => deviceLine(v as Device),
  },
  {
    path: ['hub', 'device', 'remove'],
    usage: 'hub device remove DEVICE_ID',
    summary: 'Remove a device the hub holds no event of (enrolled, but its answer never reached the kiosk)',
    minPositionals: 1,
    run: (ctx) => admin(ctx, 'device.remove', { id: ctx.positionals[0] }),
    text: (v) => `removed ${deviceLine(v as Device)}`,
  },
  {
    path: ['hub', 'restored'],
    usage: 'hub restored',
    summary:
      'After restoring the hub database from a backup over the same database: start a new feed epoch so every kiosk pulls again from the start',
    run: (ctx) => admin(ctx, 'feed.restored', {}),
    text: (v) => `new feed epoch ${(v as { epoch: string }).epoch}: kiosks pull again from the start`,
  },
  {
    path: ['hub', 'unlock'],
    usage: 'hub unlock [--force]',
    summary:
      "Remove the embedded hub folder's lock (hub.lock) left by a process that no longer runs; --force removes a " +
      'lock whose process seems to run (only where its pid may have been taken by another process)',
    options: { force: { type: 'boolean', default: false } },
    run: async (ctx) => unlockDir(hubDataDir(ctx), ctx.values.force === true),
    text: (v) => {
      const r = v as { removed: boolean; wasLive: boolean; owner?: { pid: number } };
      if (!r.removed) return 'no lock: the folder is free';
      return `lock removed${r.owner ? ` (it named process ${r.owner.pid}` : ' ('}${r.wasLive ? ', still running: make sure it is no hub' : ', no longer running'})`;
    },
  },
  {
    path: ['hub', 'key', 'rotate'],
    usage: 'hub key rotate',
    summary: 'Make a new hub signing key; kiosks learn it on their next pull',
    run: (ctx) => admin(ctx, 'key.rotate', {}),
  },
  {
    path: ['hub', 'config', 'set'],
    usage: 'hub config set KEY JSON_VALUE',
    summary: 'Set a config value sent to every kiosk',
    minPositionals: 2,
    run: (ctx) => {
      let value: unknown;
      try {
        value = JSON.parse(ctx.positionals[1]!);
      } catch {
        value = ctx.positionals[1];
      }
      return admin(ctx, 'config.set', { key: ctx.positionals[0], value });
    },
  },
  {
    path: ['hub', 'chains', 'verify'],
    usage: 'hub chains verify',
    summary: "Check every device's event chain on the hub",
    run: (ctx) => admin(ctx, 'chains.verify', {}),
  },
  {
    path: ['hub', 'security', 'log'],
    usage: 'hub security log [--device ID] [--limit N]',
    summary:
      'What devices and payers asserted and the hub refused (push events, disabled or forged devices, bills ' +
      'the pay page would not serve), newest first, with counts by code',
    options: { device: { type: 'string' }, limit: { type: 'string' } },
    run: async (ctx) => {
      const limit = optString(ctx, 'limit');
      if (limit !== undefined && !/^[0-9]{1,5}$/.test(limit))
        return fail('MALFORMED', 'limit must be a number');
      const device = optString(ctx, 'device');
      return admin(ctx, 'security.report', {
        ...(device ? { deviceId: device } : {}),
        ...(limit ? { limit: Math.max(1, Number(limit)) } : {}),
      });
    },
    text: (v) => {
      const r = v as SecurityReport;
      if (r.total === 0) return 'nothing refused';
      const counts = Object.entries(r.counts)
        .map(([c, n]) => `${c} ${n}`)
        .join(', ');
      return [
        `${r.total} refused: ${counts}`,
        ...r.entries.map(
          (e) =>
            `${new Date(e.at * 1000).toISOString()}  ${e.deviceId ?? '-'}  ${e.source}${e.eventSeq !== null ? ` #${e.eventSeq}` : ''}${e.eventType ? ` ${e.eventType}` : ''}  ${e.code}  ${e.reason}`,
        ),
      ].join('\n');
    },
  },
];
