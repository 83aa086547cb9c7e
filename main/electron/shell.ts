// The Electron shell: the only code that imports 'electron'. It starts the backend in this process, opens
// one locked-down kiosk window at the backend's launch URL (which swaps the session token for a cookie),
// refuses navigation, new windows, permissions and webviews, and reloads a crashed renderer.
import { app, BrowserWindow, session, type WebContents } from 'electron';
import { CrashBudget, KIOSK_CSP, isAllowedUrl, windowOptions } from './policy.ts';

export interface Backend {
  /** URL with the per-boot token, e.g. http://127.0.0.1:PORT/?t=TOKEN */
  launchUrl: string;
  /** http://127.0.0.1:PORT/ */
  origin: string;
  close(): Promise<void>;
}

export interface ShellOptions {
  kiosk: boolean;
  startBackend(): Promise<Backend>;
  log?(line: string): void;
}

/** Locks down one web contents: no navigation off the origin, no new windows, no webviews, no devtools. */
export function lockDown(contents: WebContents, origin: string, kiosk: boolean): void {
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  const guard = (e: { preventDefault(): void }, url: string) => {
    if (!isAllowedUrl(url, origin)) e.preventDefault();
  };
  contents.on('will-navigate', (e, url) => guard(e, url));
  contents.on('will-redirect', (e, url) => guard(e, url));
  contents.on('will-attach-webview', (e) => e.preventDefault());
  if (kiosk) contents.on('devtools-opened', () => contents.closeDevTools());
}

export function createKioskWindow(backend: Backend, opts: ShellOptions): BrowserWindow {
  const win = new BrowserWindow(windowOptions({ kiosk: opts.kiosk }));
  lockDown(win.webContents, backend.origin, opts.kiosk);
  const budget = new CrashBudget();
  win.webContents.on('render-process-gone', (_e, details) => {
    opts.log?.(`renderer gone (${details.reason}), exit code ${details.exitCode}`);
    if (details.reason === 'clean-exit') return;
    if (budget.allow()) void win.loadURL(backend.launchUrl);
    else app.quit();
  });
  win.once('ready-to-show', () => win.show());
  void win.loadURL(backend.launchUrl);
  return win;
}

/** Runs the shell. Returns false when another instance already runs (this one quits). */
export async function runShell(opts: ShellOptions): Promise<boolean> {
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return false;
  }
  const shown: { win?: BrowserWindow } = {};
  app.on('second-instance', () => {
    const win = shown.win;
    if (win) {
      if (win.isMinimized()) win.restore();
      win.focus();
    }
  });
  app.on('web-contents-created', (_e, contents) => {
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
    contents.on('will-attach-webview', (e) => e.preventDefault());
  });
  await app.whenReady();
  const backend = await opts.startBackend();
  const ses = session.defaultSession;
  ses.setPermissionRequestHandler((_wc, _perm, cb) => cb(false));
  ses.webRequest.onHeadersReceived((details, cb) => {
    cb({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [KIOSK_CSP] } });
  });
  shown.win = createKioskWindow(backend, opts);
  app.on('window-all-closed', () => app.quit());
  app.on('before-quit', () => void backend.close());
  return true;
}
