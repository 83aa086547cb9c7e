// Recovery commands: rebuild this kiosk's records from the hub after its database went back in time, or
// retire this device deliberately and start as a new one. See docs/operations.md.
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fail, FailureError, ok } from '../../protocol/result.ts';
import { KEY_FILE } from '../identity/identity.ts';
import { DB_FILE, openKiosk, type Kiosk } from '../kiosk.ts';
import { refillNumbers } from '../officer/refill.ts';
import { SyncEngine, syncStatus } from '../sync/engine.ts';
import { recoverFromHub, type RecoveryReport } from '../sync/recovery.ts';
import { optString, type Command } from './framework.ts';

function reportText(v: unknown): string {
  const r = v as RecoveryReport & {
    pulled: number;
    pullError?: string;
    queued: number;
    numbersLeft?: number;
    refillError?: string;
  };
  const lines = [
    `recovered from the hub: ${r.hubEvents} event(s) held there, ${r.localEventsBefore} were here`,
    `rebuilt ${r.bills} bill(s), ${r.payments} payment(s), ${r.tickets} ticket(s); event log of ${r.events} event(s), chain ${r.chainOk ? 'ok' : 'BROKEN'}`,
  ];
  if (r.keptLocal)
    lines.push(`${r.keptLocal} local event(s) the hub does not hold yet are kept and will be pushed`);
  if (r.setAside)
    lines.push(
      `${r.setAside} local event(s) made after the restore conflict with what the hub holds: set aside (see sync status); their numbers are never used again`,
    );
  if (r.placeholderFines)
    lines.push(`${r.placeholderFines} fine(s) unknown to the hub were kept as placeholders`);
  if (r.abandonedBlocks)
    lines.push(
      `${r.abandonedBlocks} block(s) of decision numbers closed (${r.abandonedNumbers} number(s) never to be used: tickets printed after the restored copy may hold them)`,
    );
  if (r.standaloneNext) lines.push(`stand-alone numbers continue from ${r.standaloneNext}`);
  if (r.numbersLeft !== undefined) lines.push(`fresh decision numbers from the hub: ${r.numbersLeft} left`);
  if (r.refillError) lines.push(`no fresh decision numbers yet: ${r.refillError} (asked again when online)`);
  lines.push(
    r.pullError
      ? `pull after recovery failed: ${r.pullError} (sync will retry)`
      : `applied ${r.pulled} change(s) from the hub`,
  );
  return lines.join('\n');
}

export const commands: Command[] = [
  {
    path: ['recover'],
    usage: 'recover [--hub URL]',
    summary:
      "Rebuild bills, payments, tickets and the event log from the hub's copy of this device's events (after a restored or lost database)",
    options: { hub: { type: 'string' } },
    run: async (ctx) => {
      let kiosk: Kiosk;
      // A recovery that fails must not leave behind a fresh kiosk.db that later opens as an empty kiosk.
      const dbFile = path.join(ctx.dataDir, DB_FILE);
      const created = !existsSync(dbFile) || statSync(dbFile).size === 0;
      let done = false;
      try {
        kiosk = openKiosk({ dataDir: ctx.dataDir, allowMissingDb: true });
      } catch (e) {
        if (e instanceof FailureError) return { ok: false, error: e.failure };
        throw e;
      }
      try {
        const hubUrl = optString(ctx, 'hub');
        const st = kiosk.db.prepare('SELECT hub_url FROM sync_state WHERE id = 1').get() as
          { hub_url: string | null } | undefined;
        if (!st?.hub_url && !hubUrl)
          return fail('NOT_ENROLLED', 'this database does not know its hub: give --hub URL');
        if (hubUrl) {
          let u: URL;
          try {
            u = new URL(hubUrl);
            if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
          } catch {
            return fail('MALFORMED', 'hub URL must be http:// or https://');
          }
          kiosk.db.prepare('INSERT INTO sync_state (id) VALUES (1) ON CONFLICT (id) DO NOTHING').run();
          kiosk.db
            .prepare('UPDATE sync_state SET hub_url = ? WHERE id = 1')
            .run(u.toString().replace(/\/+$/, ''));
          if (!kiosk.settings.all().hubBase) kiosk.settings.set('hubBase', u.toString().replace(/\/+$/, ''));
        }
        const engine = new SyncEngine(kiosk, { network: false });
        const r = await recoverFromHub(kiosk, engine);
        if (!r.ok) return r;
        done = true;
        const pull = await engine.pullAll();
        const push = await engine.pushAll();
        // An officer device closed its blocks: a fresh one now, so it can write tickets again.
        const officer = (
          kiosk.db.prepare('SELECT count(*) AS n FROM decision_blocks WHERE standalone = 0').get() as {
            n: number;
          }
        ).n;
        const refill = officer > 0 ? await refillNumbers(kiosk, { force: true }) : undefined;
        return ok({
          ...r.value,
          pulled: pull.ok ? pull.value.applied : 0,
          ...(pull.ok ? {} : { pullError: pull.error.message }),
          ...(push.ok ? {} : { pushError: push.error.message }),
          ...(refill?.ok ? { numbersLeft: refill.value.numbers.remaining } : {}),
          ...(refill && !refill.ok ? { refillError: refill.error.message } : {}),
          queued: syncStatus(kiosk).queued,
        });
      } finally {
        kiosk.close();
        if (created && !done)
          for (const f of [dbFile, `${dbFile}-wal`, `${dbFile}-shm`]) rmSync(f, { force: true });
      }
    },
    text: reportText,
  },
  {
    path: ['device', 'new'],
    usage: 'device new --yes',
    summary:
      'Retire this device (its key and database move to a retired-… folder) so the next start makes a new device to enroll with a new code',
    options: { yes: { type: 'boolean' } },
    run: async (ctx) => {
      if (ctx.values.yes !== true)
        return fail('MALFORMED', 'this retires the device for good; run again with --yes to do it');
      const key = path.join(ctx.dataDir, KEY_FILE);
      if (!existsSync(key)) return fail('NOT_FOUND', `${key} does not exist`);
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      const dest = path.join(ctx.dataDir, `retired-${stamp}`);
      mkdirSync(dest, { recursive: true, mode: 0o700 });
      const moved: string[] = [];
      for (const f of [DB_FILE, `${DB_FILE}-wal`, `${DB_FILE}-shm`, KEY_FILE]) {
        const from = path.join(ctx.dataDir, f);
        if (existsSync(from)) {
          renameSync(from, path.join(dest, f));
          moved.push(f);
        }
      }
      return ok({ retiredTo: dest, moved });
    },
    text: (v) =>
      `retired to ${(v as { retiredTo: string }).retiredTo}; the next start makes a new device: enroll it with a new code (finekiosk enroll)`,
  },
];
