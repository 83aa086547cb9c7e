// A hub on PGlite (or PostgreSQL when DATABASE_URL is set) with the officer blocks route, and kiosks
// enrolled with it.
import { randomBytes } from 'node:crypto';
import { startHub, type RunningHub } from '../../hub/server.ts';
import { officerBlocksPlugin } from '../../hub/officer/blocks.ts';
import { enroll } from '../../main/sync/engine.ts';
import type { Clock } from '../../protocol/time.ts';
import { tempDir, type Device } from './helpers.ts';
import { makeLogger } from '../../hub/app.ts';

export async function startTestHub(clock: Clock): Promise<RunningHub & { dir: string }> {
  const dir = tempDir('fk-officer-hub-');
  const url = process.env.DATABASE_URL;
  const running = await startHub({
    dataDir: dir,
    ...(url ? { databaseUrl: url, schema: `officer_${randomBytes(6).toString('hex')}` } : {}),
    clock,
    adminFile: false,
    logger: makeLogger(process.env.FINEKIOSK_TEST_LOG ?? 'silent'),
    plugins: [{ plugin: officerBlocksPlugin }],
  });
  return Object.assign(running, { dir });
}

/** Enrolls a kiosk with the hub in its region and points the kiosk at the hub. */
export async function enrollDevice(hub: RunningHub, d: Device, region = '310100'): Promise<void> {
  const code = await hub.hub.devices.add({ name: `officer ${d.kiosk.identity.deviceId}`, region });
  if (!code.ok) throw new Error(code.error.message);
  const r = await enroll(d.kiosk, { hubUrl: hub.url, code: code.value.code });
  if (!r.ok) throw new Error(r.error.message);
}

/** Points a kiosk at the hub without enrolling it (a stranger to the hub). */
export function pointAtHub(hub: RunningHub, d: Device): void {
  d.kiosk.db
    .prepare(
      'INSERT INTO sync_state (id, hub_url) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET hub_url = excluded.hub_url',
    )
    .run(hub.url);
}
