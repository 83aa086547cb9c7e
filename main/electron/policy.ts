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

/** The fields of Electron's `Input` (before-input-event) that decide whether a key is let through. */
export interface KeyInput {
  type: string;
  key: string;
  code?: string;
  control: boolean;
  alt: boolean;
  meta: boolean;
  shift: boolean;
}

/** Keys that act on the window or the browser rather than the page, whatever the modifiers. */
const WINDOW_KEYS = new Set([
  'ContextMenu', // the menu key
  'BrowserBack',
  'BrowserForward',
  'BrowserRefresh',
  'BrowserStop',
  'BrowserSearch',
  'BrowserFavorites',
  'BrowserHome',
  'ZoomIn',
  'ZoomOut',
  'ZoomToggle',
  'Print',
  'Help',
  'LaunchApplication1',
  'LaunchApplication2',
  'Close',
  'New',
  'Open',
  'Save',
]);

/**
 * True when a key must not reach the kiosk window: function keys (F5 and Ctrl+R reload, F11 full screen,
 * F12 and Ctrl+Shift+I devtools, F10 and Alt the menu bar), and every Ctrl, Alt or Super combination
 * (Ctrl+W close, Ctrl+Q quit, Ctrl +/-/0 zoom, Alt+F4, Alt+Left back, Ctrl+P print, Ctrl+U source).
 * Digits, letters, Shift, Enter, Backspace, arrows, Tab and Escape pass: the keypad, the keyboard and a
 * barcode scanner (characters ending in Enter) need nothing else.
 */
export function isBlockedKey(input: KeyInput): boolean {
  if (input.control || input.alt || input.meta) return true;
  if (/^F[0-9]{1,2}$/.test(input.key)) return true;
  if (['Alt', 'AltGraph', 'Meta', 'OS', 'Super', 'Hyper'].includes(input.key)) return true;
  return WINDOW_KEYS.has(input.key);
}

/** What the shell does when a child process of Electron goes away (app 'child-process-gone'). */
export function childGoneAction(details: { type: string; reason: string }): 'reload' | 'ignore' {
  // A crashed GPU process leaves the window white or black until the page is drawn again.
  if (details.type === 'GPU' && details.reason !== 'clean-exit') return 'reload';
  return 'ignore';
}
