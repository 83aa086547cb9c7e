// `finekiosk start`: opens the kiosk in its data folder, loads the sample fines on first run, says what it
// serves and waits for the stop signal. The UI server is started from here too (kept in one function so
// it can be extended).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Io } from './cli/framework.ts';
import { failure, FailureError } from '../protocol/result.ts';
import { openKiosk, type Kiosk, type KioskOptions } from './kiosk.ts';
import { electronBinary, runElectron } from './ui/electron-bin.ts';
import { firstPinNotice, launchKiosk } from './ui/launch.ts';
import { writePrivateFile } from '../db/private.ts';
import { installProcessGuard } from './process-guard.ts';

export const SAMPLE_FINES = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  'samples',
  'fines.sample.json',
);

export interface StartOptions extends KioskOptions {
  io: Pick<Io, 'stdout' | 'stderr' | 'stopSignal'> & { env?: NodeJS.ProcessEnv };
  /** Run the local demo hub and channel simulator (default: only when FINEKIOSK_DEMO_HUB=1, as npm start sets). */
  demoHub?: boolean;
  /** Sample fines to load when the fines table is empty (default samples/fines.sample.json). */
  sampleFines?: string | false;
  /** The kiosk screen's port (default FINEKIOSK_UI_PORT, else DEFAULT_UI_PORT): the same across restarts. */
  uiPort?: number;
}

/**
 * The kiosk screen's fixed default port. A browser in kiosk mode keeps its address when the backend
 * restarts, so the page finds it again (with the session kept in the data folder, main/ui/launch.ts).
 */
export const DEFAULT_UI_PORT = 8660;

/** The UI port from the options, else FINEKIOSK_UI_PORT, else the fixed default; bad values refused. */
export function uiPortFrom(opt: number | undefined, env: NodeJS.ProcessEnv): number {
  if (opt !== undefined) return opt;
  const v = env.FINEKIOSK_UI_PORT;
  if (v === undefined || v === '') return DEFAULT_UI_PORT;
  const n = Number(v);
  // 0 asks for any free port (tests running side by side).
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new FailureError(failure('MALFORMED', `FINEKIOSK_UI_PORT must be a port number, not ${v}`));
  }
  return n;
}

/** Opens the kiosk and loads the sample fines into an empty database. The caller closes it. */
export function prepareKiosk(opts: StartOptions): { kiosk: Kiosk; loadedSample: number } {
  const kiosk = openKiosk(opts);
  let loadedSample = 0;
  const sample = opts.sampleFines === undefined ? SAMPLE_FINES : opts.sampleFines;
  if (sample && kiosk.fines.count() === 0 && existsSync(sample)) {
    const r = kiosk.fines.importFile(sample);
    if (!r.ok) {
      kiosk.close();
      throw new Error(`the sample fines file does not load: ${r.error.message}`);
    }
    loadedSample = r.value.imported;
  }
  return { kiosk, loadedSample };
}

/**
 * True when running as a service, whose output is logged rather than read at a terminal: under systemd
 * (INVOCATION_ID, JOURNAL_STREAM) or when FINEKIOSK_SERVICE=1.
 */
export function isServiceMode(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.INVOCATION_ID || env.JOURNAL_STREAM || env.FINEKIOSK_SERVICE === '1');
}

export async function startKiosk(opts: StartOptions): Promise<{ deviceId: string; loadedSample: number }> {
  const { io } = opts;
  const shell = electronBinary(io.env ?? process.env);
  if (shell) {
    // The Electron shell runs the backend itself, in its own process, and opens the kiosk window.
    io.stdout(`starting the kiosk window with Electron (${shell})\n`);
    const code = await runElectron(shell, opts.dataDir, io.stopSignal);
    io.stdout(`the kiosk window closed (exit code ${code})\n`);
    return { deviceId: '', loadedSample: 0 };
  }
  // An error thrown in a timer (EMFILE from a network look) is logged and the kiosk keeps serving; a
  // program fault exits non-zero so the service restarts it, never silently.
  installProcessGuard();
  // `npm start` (FINEKIOSK_DEMO_HUB=1) runs a local hub with the pay page and the channel simulator too.
  const env = io.env ?? process.env;
  const withHub = opts.demoHub ?? env.FINEKIOSK_DEMO_HUB === '1';
  const { demoHub: _demo, uiPort: _port, ...rest } = opts;
  const l = await launchKiosk({
    ...rest,
    io,
    uiPort: uiPortFrom(opts.uiPort, env),
    keepSession: true,
    ...(withHub
      ? {
          demoHub: {
            port: await demoPort(env.FINEKIOSK_DEMO_HUB_PORT, 8080),
            simPort: await demoPort(env.FINEKIOSK_DEMO_SIM_PORT, 8090),
          },
        }
      : {}),
  });
  try {
    const { kiosk, loadedSample } = l;
    io.stdout(`finekiosk device ${kiosk.identity.deviceId}, data in ${kiosk.dataDir}\n`);
    if (loadedSample > 0)
      io.stdout(`loaded ${loadedSample} SAMPLE fines (not real data) from ${SAMPLE_FINES}\n`);
    io.stdout(`${kiosk.fines.count()} fines on file; bills point at ${kiosk.settings.hubBase()}\n`);
    if (l.virtualPrinter) {
      io.stdout(
        `virtual printer at ${l.printerUrl}: printed bills and receipts appear as PNG in ${path.join(kiosk.dataDir, 'printed')}` +
          (l.virtualPrinter.controlUrl ? ` (paper and cover switches: ${l.virtualPrinter.controlUrl})` : '') +
          '\n',
      );
    } else io.stdout(`printing to ${l.printerUrl}\n`);
    if (l.firstPin) io.stdout(firstPinNotice(kiosk.dataDir));
    if (l.demo) {
      io.stdout(
        `local hub with the pay page at ${l.demo.url}; payment channel simulator at ${l.demo.simUrl} ` +
          '(open a bill QR URL with an Alipay or WeChat user agent, or see the simulator page, to pay)\n',
      );
      io.stdout(`operator console at ${l.demo.consoleUrl}\n`);
      if (l.demo.firstOperatorFile)
        io.stdout(
          `first-run console account written to ${l.demo.firstOperatorFile} (readable by this user only; delete it once read)\n`,
        );
    }
    io.stdout('Electron is not installed here: serving the kiosk screen for a browser instead\n');
    if (isServiceMode(env)) {
      // A service's output is kept in the journal: the URL's session token goes to a private file.
      const file = path.join(kiosk.dataDir, 'launch-url');
      writePrivateFile(file, `${l.ui.server.launchUrl}\n`);
      io.stdout(`open it with: chromium --kiosk "$(cat ${file})" (the address with its session token)\n`);
    } else io.stdout(`open it with: chromium --kiosk '${l.ui.server.launchUrl}'\n`);
    io.stdout('Ctrl-C stops\n');
    await io.stopSignal;
    io.stdout('stopped\n');
    return { deviceId: kiosk.identity.deviceId, loadedSample };
  } finally {
    await l.close();
  }
}

/** A demo port from the environment (0: any free one), else the preferred one when free. */
async function demoPort(fromEnv: string | undefined, preferred: number): Promise<number> {
  const n = fromEnv === undefined ? NaN : Number(fromEnv);
  return Number.isInteger(n) && n >= 0 && n < 65536 ? n : freePort(preferred);
}

/** The preferred port when it is free (so the demo's addresses stay the same across runs), else any. */
async function freePort(preferred: number): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(0));
    srv.listen(preferred, '127.0.0.1', () => srv.close(() => resolve(preferred)));
  });
}
