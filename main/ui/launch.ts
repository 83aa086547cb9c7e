// Starts the kiosk with its screen: the kiosk core, the print service (an in-process virtual printer
// unless a printer URL is configured), the first staff PIN on first run, and the loopback UI server.
// `finekiosk start` (main/start.ts) and the Electron shell both come through here.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { writePrivateFile } from '../../db/private.ts';
import { redactTokens } from '../../protocol/redact.ts';
import path from 'node:path';
import { FailureError } from '../../protocol/result.ts';
import { createKioskPrinting, kioskProfile } from '../printing/printing.ts';
import { PrintService } from '../../printer/service.ts';
import type { VirtualPrinter } from '../../printer/virtual/server.ts';
import type { ApiConfig, PrinterPort, SyncPort } from '../api.ts';
import type { Io } from '../cli/framework.ts';
import type { Kiosk } from '../kiosk.ts';
import { prepareKiosk, type StartOptions } from '../start.ts';
import { startUi, type Ui } from './backend.ts';
// The demo hub (PGlite, fastify, the channel simulator) and the virtual printer are loaded only when
// used, so a kiosk with a real printer starts fast and small.
import type { DemoHub } from './demo.ts';
import type { SyncEngine } from '../sync/engine.ts';
import { officerCall } from '../officer/api.ts';
import type { PinCost } from '../staff/staff.ts';

/** The first-run staff member's name: a staff number, language-neutral (the console adds the role). */
export const FIRST_STAFF_NAME = '001';

/** The session token kept in the data folder, made on first use (random, 32 bytes, owner-only file). */
export function keptSessionToken(dataDir: string): string {
  const file = path.join(dataDir, 'ui-session');
  try {
    const t = readFileSync(file, 'utf8').trim();
    if (/^[A-Za-z0-9_-]{43}$/.test(t)) return t;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const t = randomBytes(32).toString('base64url');
  writeFileSync(file, `${t}\n`, { mode: 0o600 });
  return t;
}

/** How often the backend looks for receipts due (a payment that arrived by sync). */
const RECEIPT_POLL_MS = 1000;

export interface LaunchOptions extends Omit<StartOptions, 'io' | 'demoHub'> {
  io: Pick<Io, 'stdout' | 'stderr'>;
  /** A real printer (tcp://, usb://, file://, serial://); default: a virtual printer in this process. */
  printerUrl?: string;
  /** Where the virtual printer writes its PNGs (default DATA/printed). */
  printedDir?: string;
  /**
   * The virtual printer runs each command the moment it arrives instead of at the profile's buffer and
   * line speed (browser tests that print many pages and are not about printing time).
   */
  instantVirtualPrinter?: boolean;
  profile?: string;
  uiPort?: number;
  /**
   * Keep the screen's session token in the data folder (ui-session, mode 0600) and reuse it, so a browser
   * page left open finds the backend again after a restart; default: a fresh token per boot.
   */
  keepSession?: boolean;
  config?: Partial<ApiConfig>;
  staticDir?: string;
  pinCost?: PinCost;
  /** A sync status source (the sync engine); default: offline with the local queue. */
  sync?: (kiosk: Kiosk) => SyncPort;
  /** Also run a local hub with the pay page and the channel simulator, and sync with it (the demo). */
  demoHub?: { port?: number; simPort?: number };
}

export interface Launched {
  kiosk: Kiosk;
  ui: Ui;
  printService: PrintService;
  printerUrl: string;
  virtualPrinter?: VirtualPrinter;
  loadedSample: number;
  demo?: DemoHub;
  engine?: SyncEngine;
  /** The first-run staff PIN, when one was made now (printed once). */
  firstPin?: string;
  close(): Promise<void>;
}

/** Where the first-run staff PIN is written (0600), in the data folder. */
export const firstPinFile = (dataDir: string): string => path.join(dataDir, 'first-run-pin.txt');

/** The line that tells where the first-run PIN is, never the PIN itself. */
export function firstPinNotice(dataDir: string): string {
  return `first-run staff PIN written to ${firstPinFile(dataDir)} (readable by this user only; delete it once read)\n`;
}

export async function launchKiosk(opts: LaunchOptions): Promise<Launched> {
  const { demoHub: _demoHub, ...kioskOpts } = opts;
  const { kiosk, loadedSample } = prepareKiosk({
    ...kioskOpts,
    io: { ...opts.io, stopSignal: new Promise<void>(() => {}) },
  });
  const closers: (() => Promise<void> | void)[] = [() => kiosk.close()];
  const close = async () => {
    for (const c of closers.reverse()) await c();
  };
  try {
    // The profile asked for, else the kiosk setting, else the default; a bad one stops the start with why.
    const prof = kioskProfile(kiosk, opts.profile);
    if (!prof.ok) throw new FailureError(prof.error);
    const profile = prof.value;
    let virtualPrinter: VirtualPrinter | undefined;
    let printerUrl = opts.printerUrl;
    if (!printerUrl) {
      const { mechanismFor, startVirtualPrinter } = await import('../../printer/virtual/server.ts');
      // The demo's printer takes jobs in time as the profile's printer does (buffer, line speed,
      // status answered on arrival or in order), the model the tests' fake printers follow.
      virtualPrinter = await startVirtualPrinter({
        outDir: opts.printedDir ?? path.join(kiosk.dataDir, 'printed'),
        dots: profile.dots,
        controlPort: 0,
        ...(opts.instantVirtualPrinter ? {} : { mechanism: mechanismFor(profile) }),
      });
      closers.push(() => virtualPrinter!.close());
      printerUrl = virtualPrinter.url;
    }
    const printService = new PrintService({
      db: kiosk.db,
      clock: kiosk.clock,
      appendEvent: (type, payload, at) => void kiosk.outbox.append(type, payload, at),
    });
    // Jobs left queued or printing by a crash are marked failed, so staff see them and can reprint.
    printService.recoverInterrupted();
    const printing = createKioskPrinting(kiosk, { printerUrl, profile, service: printService });
    if (!printing.ok) throw new FailureError(printing.error);
    const printer: PrinterPort = printing.value.port();
    let sync: SyncPort | undefined = opts.sync?.(kiosk);
    let demo: DemoHub | undefined;
    let engine: SyncEngine | undefined;
    if (opts.demoHub) {
      const { connectKiosk, DEMO_HUB_DIR, startDemoHub } = await import('./demo.ts');
      demo = await startDemoHub({
        dataDir: DEMO_HUB_DIR(kiosk.dataDir),
        clock: kiosk.clock,
        ...opts.demoHub,
      });
      closers.push(() => demo!.close());
      const c = await connectKiosk(kiosk, demo);
      engine = c.engine;
      closers.push(() => c.engine.stop());
      sync = c.sync;
    }
    if (!sync && !opts.demoHub) {
      // An enrolled kiosk syncs in the background; one never enrolled stays local.
      const { startBackgroundSync } = await import('../sync/engine.ts');
      const bg = startBackgroundSync(kiosk);
      if (bg) {
        const { engineSync } = await import('./sync-status.ts');
        engine = bg;
        closers.push(() => bg.stop());
        sync = engineSync(kiosk, bg);
      }
    }
    const ui = await startUi({
      kiosk,
      printer,
      ...(sync ? { sync } : {}),
      ...(opts.config ? { config: opts.config } : {}),
      ...(opts.staticDir ? { staticDir: opts.staticDir } : {}),
      ...(opts.uiPort !== undefined ? { port: opts.uiPort } : {}),
      ...(opts.keepSession ? { token: keptSessionToken(kiosk.dataDir) } : {}),
      ...(opts.pinCost ? { pinCost: opts.pinCost } : {}),
      extraCall: officerCall({ kiosk, printService, printerUrl, profile }),
      onError: (method, err) =>
        // An error's text may quote its input: tokens are reduced to bill numbers (protocol/redact.ts).
        opts.io.stderr(
          `ui: ${method} failed unexpectedly: ${redactTokens(String((err as Error).message))}\n`,
        ),
    });
    closers.push(() => ui.close());
    let firstPin: string | undefined;
    if (ui.staff.count() === 0) {
      // Never a universal default PIN: a random one, shown once, on the first run only. The name is a
      // staff number, the same in every language: the console greets by role around it (工作人员 001).
      const s = await ui.staff.add(FIRST_STAFF_NAME);
      if (s.ok) {
        firstPin = s.value.pin;
        // Never on stdout (a service's stdout goes to the journal): a file only this user reads.
        writePrivateFile(firstPinFile(kiosk.dataDir), `${firstPin}\n`);
      }
    }
    const expiry = setInterval(() => kiosk.bills.expireDue(), 60_000);
    expiry.unref();
    closers.push(() => clearInterval(expiry));
    // Payments from the hub land through the sync engine: a receipt due is printed within a second,
    // and any left due by a restart at once.
    const drain = () =>
      void ui.receipts
        .drain()
        .catch((e: unknown) => opts.io.stderr(`receipts: ${redactTokens(String((e as Error).message))}\n`));
    drain();
    const receiptTimer = setInterval(drain, RECEIPT_POLL_MS);
    receiptTimer.unref();
    closers.push(() => clearInterval(receiptTimer));
    return {
      kiosk,
      ui,
      printService,
      printerUrl,
      ...(virtualPrinter ? { virtualPrinter } : {}),
      ...(demo ? { demo } : {}),
      ...(engine ? { engine } : {}),
      loadedSample,
      ...(firstPin ? { firstPin } : {}),
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

/** For the Electron shell: the kiosk in its data folder, and the URL its window opens. */
export async function startBackendForShell(dataDir?: string) {
  const io = {
    stdout: (t: string) => process.stdout.write(t),
    stderr: (t: string) => process.stderr.write(t),
  };
  const l = await launchKiosk({
    dataDir: dataDir ?? process.env.FINEKIOSK_DATA ?? path.join(process.cwd(), '.data'),
    io,
    ...(process.env.FINEKIOSK_PRINTER ? { printerUrl: process.env.FINEKIOSK_PRINTER } : {}),
  });
  if (l.firstPin) io.stdout(firstPinNotice(l.kiosk.dataDir));
  return { launchUrl: l.ui.server.launchUrl, origin: l.ui.server.origin, close: l.close };
}
