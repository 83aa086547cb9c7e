// Sync commands: enroll with a hub, push and pull now, and the sync status staff and operators read.
import { fail, ok, type Result } from '../../protocol/result.ts';
import { shanghaiDateTime } from '../../protocol/time.ts';
import { openKiosk, type Kiosk } from '../kiosk.ts';
import { enroll, SyncEngine, syncStatus, type SyncStatus } from '../sync/engine.ts';
import { optString, type Command, type CommandContext } from './framework.ts';

async function withKiosk<T>(ctx: CommandContext, fn: (k: Kiosk) => Promise<Result<T>>): Promise<Result<T>> {
  const kiosk = openKiosk({ dataDir: ctx.dataDir });
  try {
    return await fn(kiosk);
  } finally {
    kiosk.close();
  }
}

function statusText(v: unknown): string {
  const s = v as SyncStatus;
  const when = (t: number | null): string => (t ? `${shanghaiDateTime(t)} (Asia/Shanghai)` : 'never');
  const lines = [
    s.enrolled
      ? `hub ${s.hubUrl}  device ${s.deviceId}  region ${s.region || '-'}`
      : `not enrolled (device ${s.deviceId})`,
    `queued events: ${s.queued}  (hub holds up to ${s.ackedSeq} of ${s.lastSeq})`,
    `last success: ${when(s.lastSuccessAt)}`,
    `last error: ${s.lastError ? `${s.lastError.code}: ${s.lastError.message} at ${when(s.lastError.at)}` : 'none'}`,
    `clock offset: ${s.clockOffsetSeconds === null ? 'unknown' : `${s.clockOffsetSeconds} s`}`,
  ];
  if (s.clockWarning) lines.push(`WARNING: ${s.clockWarning}`);
  if (s.rolledBack)
    lines.push(
      `STOPPED: the hub holds ${s.hubSeq ?? 'more'} event(s) of this device, this database ${s.lastSeq}: it went back in time. No bill is issued until \`finekiosk recover\` (or \`finekiosk device new\`).`,
    );
  if (s.setAside) lines.push(`events set aside by a recovery: ${s.setAside}`);
  if (s.rejected.length) {
    lines.push(`events refused by the hub: ${s.rejected.length}`);
    for (const r of s.rejected.slice(-20)) lines.push(`  #${r.seq} ${r.type}: ${r.code} ${r.reason}`);
  }
  return lines.join('\n');
}

export const commands: Command[] = [
  {
    path: ['enroll'],
    usage: 'enroll --hub URL --code CODE [--insecure-http]',
    summary:
      'Enroll this kiosk with a hub using a one-time code (https unless the hub is on this machine; ' +
      '--insecure-http allows plain http to another machine, with a warning)',
    options: {
      hub: { type: 'string' },
      code: { type: 'string' },
      'insecure-http': { type: 'boolean', default: false },
    },
    run: async (ctx) => {
      const hubUrl = optString(ctx, 'hub');
      const code = optString(ctx, 'code');
      if (!hubUrl || !code) {
        return fail('MALFORMED', 'usage: finekiosk enroll --hub URL --code CODE');
      }
      return withKiosk(ctx, async (k) => {
        const r = await enroll(k, { hubUrl, code, allowInsecureHttp: ctx.values['insecure-http'] === true });
        if (!r.ok) return r;
        return ok({
          deviceId: r.value.deviceId,
          name: r.value.name,
          region: r.value.region,
          hub: hubUrl,
          hubKeys: r.value.hubKeys.map((x) => x.keyId),
        });
      });
    },
    text: (v) => {
      const e = v as { deviceId: string; name: string; region: string; hub: string; hubKeys: string[] };
      return `enrolled as ${e.deviceId} (${e.name}, region ${e.region || '-'}) with ${e.hub}; trusting hub keys ${e.hubKeys.join(', ')}`;
    },
  },
  {
    path: ['sync', 'now'],
    usage: 'sync now',
    summary: 'Push every queued event to the hub and pull its changes now',
    run: async (ctx) =>
      withKiosk(ctx, async (k) => {
        const engine = new SyncEngine(k);
        const push = await engine.pushAll();
        if (!push.ok) return push;
        const pull = await engine.pullAll();
        if (!pull.ok) return pull;
        // The pull may have said the hub lost events (a restored hub): send them again now.
        const again = await engine.pushAll();
        if (!again.ok) return again;
        return ok({
          pushed: push.value.pushed + again.value.pushed,
          pulled: pull.value.applied,
          status: syncStatus(k),
        });
      }),
    text: (v) => {
      const r = v as { pushed: number; pulled: number; status: SyncStatus };
      return `pushed ${r.pushed} event(s), applied ${r.pulled} change(s)\n${statusText(r.status)}`;
    },
  },
  {
    path: ['sync', 'status'],
    usage: 'sync status',
    summary: 'Queued events, last success, last error, clock offset, events the hub refused',
    run: async (ctx) => withKiosk(ctx, async (k) => ok(syncStatus(k))),
    text: statusText,
  },
];
