// The Electron shell: the only code that imports 'electron'. It starts the backend in this process, opens
// one locked-down kiosk window at the backend's launch URL (which swaps the session token for a cookie),
// and keeps it there: no application menu, no window or browser keys, no navigation, new windows,
// permissions or webviews, no pinch zoom, no display sleep; a renderer that hangs or crashes, or a GPU
// process that dies, gets the page loaded again (within a crash budget, then a restart by the service).
import {
  app,
  BrowserWindow,
  Menu,
  powerSaveBlocker,
  session,
  type Session,
  type WebContents,
} from 'electron';
import {
  childGoneAction,
  CrashBudget,
  isAllowedUrl,
  isBlockedKey,
  KIOSK_CSP,
  windowOptions,
} from './policy.ts';

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
  /** Told about crashes and recoveries; never given the launch URL (it carries the session token). */
  log?(line: string): void;
}

/**
 * Locks down one web contents: no navigation off the origin, no new windows, no webviews, no devtools;
 * in kiosk mode also no window or browser keys and no zoom.
 */
export function lockDown(contents: WebContents, origin: string, kiosk: boolean): void {
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  const guard = (e: { preventDefault(): void }, url: string) => {
    if (!isAllowedUrl(url, origin)) e.preventDefault();
  };
  contents.on('will-navigate', (e, url) => guard(e, url));
  contents.on('will-redirect', (e, url) => guard(e, url));
  contents.on('will-attach-webview', (e) => e.preventDefault());
  if (!kiosk) return;
  contents.on('devtools-opened', () => contents.closeDevTools());
  contents.on('before-input-event', (e, input) => {
    if (isBlockedKey(input)) e.preventDefault();
  });
  // Pinch and Ctrl+wheel zoom on a touch screen: held at 100 %.
  void contents.setVisualZoomLevelLimits(1, 1);
  contents.on('zoom-changed', () => contents.setZoomFactor(1));
}

/** Every permission a page could ask for or probe (camera, notifications, USB, HID ...) is denied. */
export function denyPermissions(ses: Session): void {
  ses.setPermissionRequestHandler((_wc, _perm, cb) => cb(false));
  ses.setPermissionCheckHandler(() => false);
  ses.setDevicePermissionHandler(() => false);
}

export function createKioskWindow(backend: Backend, opts: ShellOptions): BrowserWindow {
  const win = new BrowserWindow(windowOptions({ kiosk: opts.kiosk }));
  win.removeMenu();
  lockDown(win.webContents, backend.origin, opts.kiosk);
  const budget = new CrashBudget();
  let recovering = false;
  // Load the page again (the launch URL re-sets the session cookie); give up after too many in a row,
  // and the service manager restarts the whole application.
  const recover = (why: string): void => {
    if (recovering || win.isDestroyed()) return;
    if (!budget.allow()) {
      opts.log?.(`kiosk window: too many recoveries (${why}); restarting`);
      app.quit();
      return;
    }
    recovering = true;
    opts.log?.(`kiosk window: recovering (${why})`);
    const done = (): void => {
      recovering = false;
    };
    win.loadURL(backend.launchUrl).then(done, (err: unknown) => {
      done();
      opts.log?.(`kiosk window: page did not load (${String((err as { code?: string }).code ?? 'error')})`);
    });
  };
  win.webContents.on('render-process-gone', (_e, details) => {
    opts.log?.(`renderer gone (${details.reason}), exit code ${details.exitCode}`);
    if (details.reason === 'clean-exit') return;
    recover(`renderer ${details.reason}`);
  });
  win.on('unresponsive', () => {
    // A renderer stuck in a loop: kill it, then load the page in a fresh one.
    opts.log?.('renderer unresponsive');
    win.webContents.forcefullyCrashRenderer();
    recover('unresponsive');
  });
  app.on('child-process-gone', (_e, details) => {
    if (childGoneAction(details) !== 'reload') return;
    opts.log?.(`${details.type} process gone (${details.reason})`);
    recover(`${details.type} ${details.reason}`);
  });
  win.once('ready-to-show', () => win.show());
  win.loadURL(backend.launchUrl).catch(() => recover('first load failed'));
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
  // No application menu: its accelerators (Ctrl+W, Ctrl+Q, Ctrl+R, zoom, F11, devtools) and the menu
  // bar that Alt shows go with it.
  Menu.setApplicationMenu(null);
  await app.whenReady();
  const backend = await opts.startBackend();
  const ses = session.defaultSession;
  denyPermissions(ses);
  ses.webRequest.onHeadersReceived((details, cb) => {
    cb({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [KIOSK_CSP] } });
  });
  // The screen stays on: a kiosk that blanks looks switched off.
  if (opts.kiosk) powerSaveBlocker.start('prevent-display-sleep');
  shown.win = createKioskWindow(backend, opts);
  app.on('window-all-closed', () => app.quit());
  app.on('before-quit', () => void backend.close());
  return true;
}
