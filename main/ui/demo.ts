// The one-machine demo's other half: a local hub (embedded PGlite) with the pay page, the Alipay / WeChat
// Pay channel simulator, this kiosk enrolled with that hub, and the sync engine running, so a bill paid
// on the simulated phone turns the kiosk's screen to paid by itself.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writePrivateFile } from '../../db/private.ts';
import { runAdmin } from '../../hub/admin.ts';
import { CONSOLE_PREFIX } from '../../hub/console/routes.ts';
import { servicePlugins } from '../../hub/integration/index.ts';
import { ChannelSimulator } from '../../hub/channels/simulator.ts';
import { makeHubLogger } from '../../hub/logging.ts';
import { officerBlocksPlugin } from '../../hub/officer/blocks.ts';
import { payPlugin } from '../../hub/pay/routes.ts';
import { freeLoopbackPort } from '../../hub/pay/config.ts';
import { startHub, type RunningHub } from '../../hub/server.ts';
import type { Clock } from '../../protocol/time.ts';
import type { SyncPort } from '../api.ts';
import type { Kiosk } from '../kiosk.ts';
import { enroll, SyncEngine, syncStatus, type SyncEngineOptions } from '../sync/engine.ts';
import { engineSync } from './sync-status.ts';

export interface DemoHub {
  hub: RunningHub;
  sim: ChannelSimulator;
  /** http://127.0.0.1:PORT of the hub (bills' QR codes point here). */
  url: string;
  simUrl: string;
  /** The operator console of the hub (/console/). */
  consoleUrl: string;
  /** The file holding the first-run operator's password (0600), when the account was made now. */
  firstOperatorFile?: string;
  close(): Promise<void>;
}

/** Where the demo hub's first-run console password is written (0600), in the hub's data folder. */
export const firstOperatorFile = (hubDir: string): string => path.join(hubDir, 'first-run-operator.txt');

/** The sample fines (marked as samples, not real data) the demo hub loads into an empty hub. */
const DEMO_SAMPLE_FINES = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'samples',
  'fines.sample.json',
);

/** The console account the demo makes on its first run (role admin). */
export const DEMO_OPERATOR = 'admin';

export async function startDemoHub(opts: {
  dataDir: string;
  port?: number;
  simPort?: number;
  clock?: Clock;
}): Promise<DemoHub> {
  const sim = new ChannelSimulator({ demo: true, ...(opts.clock ? { clock: opts.clock } : {}) });
  const simUrl = await sim.start(opts.simPort ?? 0);
  let hub: RunningHub;
  try {
    // publicBase is configuration, known before the hub listens: pick the port first.
    const port = opts.port || (await freeLoopbackPort());
    hub = await startHub({
      dataDir: opts.dataDir,
      port,
      logger: makeHubLogger(process.env.FINEKIOSK_LOG_LEVEL ?? 'warn'),
      ...(opts.clock ? { clock: opts.clock } : {}),
      // The officer number blocks too: an officer device in the demo gets hub numbers (联网补充编号).
      plugins: [
        { plugin: officerBlocksPlugin },
        {
          plugin: payPlugin({
            // JSAPI on: the demo opened inside WeChat pays as WeChat requires there.
            config: { ...sim.hubConfig({ jsapi: true }), publicBase: `http://127.0.0.1:${port}` },
            ...(opts.clock ? { clock: opts.clock } : {}),
          }),
        },
        // The hub as a service: the integration API, health, /metrics and the operator console.
        ...servicePlugins({ publicBase: `http://127.0.0.1:${port}` }),
      ],
    });
  } catch (e) {
    await sim.close();
    throw e;
  }
  let firstFile: string | undefined;
  try {
    // The demo hub holds the same sample fines the kiosk loads on its first run, so a sample bill can be paid
    // end to end: the pay page prices a bill from the hub's own copy of its fine.
    if ((await hub.hub.fines.count()) === 0 && existsSync(DEMO_SAMPLE_FINES)) {
      const loaded = await hub.hub.fines.importFile(DEMO_SAMPLE_FINES);
      if (!loaded.ok) throw new Error(`the demo hub refused the sample fines: ${loaded.error.message}`);
    }
    const ops = await runAdmin(hub.hub, 'operator.list', {}, 'demo');
    if (ops.ok && (ops.value as unknown[]).length === 0) {
      // Never a default password: a random one for the first console account, in a file only this user
      // reads (never on stdout), as the kiosk's first-run staff PIN.
      const password = randomBytes(12).toString('base64url');
      const made = await runAdmin(
        hub.hub,
        'operator.add',
        { id: DEMO_OPERATOR, name: 'Demo admin', role: 'admin', password },
        'demo',
      );
      if (!made.ok) throw new Error(`the demo hub refused its first operator: ${made.error.message}`);
      firstFile = firstOperatorFile(opts.dataDir);
      writePrivateFile(firstFile, `user: ${DEMO_OPERATOR}\npassword: ${password}\n`);
    }
  } catch (e) {
    await hub.close();
    await sim.close();
    throw e;
  }
  return {
    hub,
    sim,
    url: hub.url,
    simUrl,
    consoleUrl: `${hub.url}${CONSOLE_PREFIX}/`,
    ...(firstFile ? { firstOperatorFile: firstFile } : {}),
    close: async () => {
      await hub.close();
      await sim.close();
    },
  };
}

/** Enrolls the kiosk with the demo hub when it is not yet (or the hub moved), then runs sync. */
export async function connectKiosk(
  kiosk: Kiosk,
  demo: DemoHub,
  engineOpts: SyncEngineOptions = {},
): Promise<{ engine: SyncEngine; sync: SyncPort }> {
  const st = syncStatus(kiosk);
  if (!st.enrolled || st.hubUrl?.replace(/\/+$/, '') !== demo.url) {
    const code = await demo.hub.hub.devices.add({
      name: `demo kiosk ${kiosk.identity.deviceId}`,
      region: '310101',
    });
    if (!code.ok) throw new Error(`the demo hub refused a device: ${code.error.message}`);
    const e = await enroll(kiosk, { hubUrl: demo.url, code: code.value.code });
    if (!e.ok) throw new Error(`enrollment with the demo hub failed: ${e.error.message}`);
  }
  kiosk.settings.set('hubBase', demo.url);
  const engine = new SyncEngine(kiosk, { pullWaitSeconds: 10, idlePollMs: 200, ...engineOpts });
  engine.start();
  return { engine, sync: engineSync(kiosk, engine) };
}

export const DEMO_HUB_DIR = (dataDir: string): string => path.join(dataDir, 'hub');
