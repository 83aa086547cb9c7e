// The kiosk window's lockdown, as plain data and pure functions so it is tested without Electron.
import type { BrowserWindowConstructorOptions } from 'electron';

/** The window enforces the loopback server's own CSP: nothing inline, nothing remote. */
export { CSP as KIOSK_CSP } from '../server.ts';

export function windowOptions(opts: { kiosk: boolean }): BrowserWindowConstructorOptions {
  return {
    kiosk: opts.kiosk,
    fullscreen: opts.kiosk,
    frame: false,
    autoHideMenuBar: true,
    show: false,
    backgroundColor: '#ffffff',
    title: '交通违法罚款自助缴纳',
    webPreferences: {
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
      // Devtools only when not in kiosk mode (a technician's run with --no-kiosk).
      devTools: !opts.kiosk,
    },
  };
}

/** Navigation stays on the backend's own origin; anything else (links, redirects, file://) is refused. */
export function isAllowedUrl(url: string, origin: string): boolean {
  try {
    return new URL(url).origin === new URL(origin).origin;
  } catch {
    return false;
  }
}

/** Restarts of a crashed renderer allowed in a window of time before the shell gives up and quits. */
export class CrashBudget {
  private times: number[] = [];
  constructor(
    private readonly max = 5,
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}
  /** Records a crash; true when another restart is allowed. */
  allow(): boolean {
    const t = this.now();
    this.times = this.times.filter((x) => t - x < this.windowMs);
    this.times.push(t);
    return this.times.length <= this.max;
  }
}

/** Command line of the shell: --no-kiosk for a technician's window, --data DIR for the data folder. */
export function parseShellArgs(argv: string[]): { kiosk: boolean; dataDir?: string } {
  const out: { kiosk: boolean; dataDir?: string } = { kiosk: !argv.includes('--no-kiosk') };
  const i = argv.indexOf('--data');
  if (i >= 0 && argv[i + 1]) out.dataDir = argv[i + 1]!;
  return out;
}
