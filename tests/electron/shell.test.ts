// The Electron shell with the `electron` module mocked: which window, which flags, which navigation.
import { EventEmitter } from 'node:events';
import { beforeEach, describe, expect, it, vi } from 'vitest';

class FakeContents extends EventEmitter {
  openHandler?: (d: { url: string }) => { action: string };
  setWindowOpenHandler(h: (d: { url: string }) => { action: string }) {
    this.openHandler = h;
  }
  closeDevTools = vi.fn();
}

class FakeWindow extends EventEmitter {
  static all: FakeWindow[] = [];
  webContents = new FakeContents();
  loadURL = vi.fn(async (_u: string) => {});
  show = vi.fn();
  focus = vi.fn();
  restore = vi.fn();
  isMinimized = () => false;
  constructor(public options: Record<string, unknown>) {
    super();
    FakeWindow.all.push(this);
  }
}

const fake = vi.hoisted(() => ({
  lock: true,
  app: undefined as unknown as EventEmitter & Record<string, unknown>,
}));

vi.mock('electron', async () => {
  const { EventEmitter } = await import('node:events');
  const app = Object.assign(new EventEmitter(), {
    requestSingleInstanceLock: vi.fn(() => fake.lock),
    quit: vi.fn(),
    whenReady: vi.fn(async () => {}),
  });
  fake.app = app as never;
  const headers: { fn?: unknown } = {};
  const session = {
    defaultSession: {
      setPermissionRequestHandler: vi.fn(),
      webRequest: { onHeadersReceived: vi.fn((fn: unknown) => (headers.fn = fn)) },
      headers,
    },
  };
  return { app, BrowserWindow: FakeWindow, session, default: { app, BrowserWindow: FakeWindow, session } };
});

const { runShell } = await import('../../main/electron/shell.ts');
const { CrashBudget, isAllowedUrl, parseShellArgs, windowOptions } =
  await import('../../main/electron/policy.ts');
const electron = await import('electron');

const backend = {
  launchUrl: 'http://127.0.0.1:4321/?t=secret',
  origin: 'http://127.0.0.1:4321/',
  close: vi.fn(async () => {}),
};

beforeEach(() => {
  FakeWindow.all = [];
  fake.lock = true;
  fake.app.removeAllListeners();
  vi.clearAllMocks();
});

describe('Electron shell', () => {
  it('opens one frameless kiosk window, sandboxed and isolated, at the launch URL', async () => {
    const ok = await runShell({ kiosk: true, startBackend: async () => backend });
    expect(ok).toBe(true);
    expect(FakeWindow.all).toHaveLength(1);
    const w = FakeWindow.all[0]!;
    expect(w.options).toMatchObject({
      kiosk: true,
      frame: false,
      webPreferences: {
        contextIsolation: true,
        sandbox: true,
        nodeIntegration: false,
        devTools: false,
        webviewTag: false,
      },
    });
    expect(w.loadURL).toHaveBeenCalledWith(backend.launchUrl);
    w.emit('ready-to-show');
    expect(w.show).toHaveBeenCalled();
  });

  it('denies new windows, navigation off the origin, webviews and permissions; closes devtools', async () => {
    await runShell({ kiosk: true, startBackend: async () => backend });
    const wc = FakeWindow.all[0]!.webContents;
    expect(wc.openHandler!({ url: 'https://example.com' })).toEqual({ action: 'deny' });
    const nav = (url: string, event = 'will-navigate') => {
      const e = { preventDefault: vi.fn() };
      wc.emit(event, e, url);
      return e.preventDefault.mock.calls.length > 0;
    };
    expect(nav('https://evil.example/')).toBe(true);
    expect(nav('file:///etc/passwd')).toBe(true);
    expect(nav('http://127.0.0.1:9999/')).toBe(true);
    expect(nav('http://127.0.0.1:4321/anything')).toBe(false);
    expect(nav('https://evil.example/', 'will-redirect')).toBe(true);
    const wv = { preventDefault: vi.fn() };
    wc.emit('will-attach-webview', wv);
    expect(wv.preventDefault).toHaveBeenCalled();
    wc.emit('devtools-opened');
    expect(wc.closeDevTools).toHaveBeenCalled();
    const ses = electron.session.defaultSession as unknown as {
      setPermissionRequestHandler: ReturnType<typeof vi.fn>;
      headers: { fn: (d: unknown, cb: (r: { responseHeaders: Record<string, string[]> }) => void) => void };
    };
    const handler = ses.setPermissionRequestHandler.mock.calls[0]![0] as (
      w: unknown,
      p: string,
      cb: (b: boolean) => void,
    ) => void;
    const cb = vi.fn();
    handler(null, 'media', cb);
    expect(cb).toHaveBeenCalledWith(false);
    let csp: string[] | undefined;
    ses.headers.fn({ responseHeaders: {} }, (r) => (csp = r.responseHeaders['Content-Security-Policy']));
    expect(csp?.[0]).toContain("script-src 'self'");
  });

  it('reloads a crashed renderer, but gives up after repeated crashes', async () => {
    await runShell({ kiosk: true, startBackend: async () => backend });
    const w = FakeWindow.all[0]!;
    w.loadURL.mockClear();
    w.webContents.emit('render-process-gone', {}, { reason: 'crashed', exitCode: 139 });
    expect(w.loadURL).toHaveBeenCalledTimes(1);
    w.webContents.emit('render-process-gone', {}, { reason: 'clean-exit', exitCode: 0 });
    expect(w.loadURL).toHaveBeenCalledTimes(1);
    for (let i = 0; i < 5; i++) w.webContents.emit('render-process-gone', {}, { reason: 'oom', exitCode: 1 });
    expect(electron.app.quit).toHaveBeenCalled();
  });

  it('runs as a single instance', async () => {
    fake.lock = false;
    const start = vi.fn(async () => backend);
    expect(await runShell({ kiosk: true, startBackend: start })).toBe(false);
    expect(electron.app.quit).toHaveBeenCalled();
    expect(start).not.toHaveBeenCalled();
    expect(FakeWindow.all).toHaveLength(0);
  });

  it('focuses the window when a second instance starts, and closes the backend on quit', async () => {
    await runShell({ kiosk: true, startBackend: async () => backend });
    fake.app.emit('second-instance');
    expect(FakeWindow.all[0]!.focus).toHaveBeenCalled();
    fake.app.emit('before-quit');
    expect(backend.close).toHaveBeenCalled();
  });
});

describe('shell policy', () => {
  it('allows devtools only outside kiosk mode', () => {
    expect(windowOptions({ kiosk: false }).webPreferences?.devTools).toBe(true);
    expect(windowOptions({ kiosk: true }).webPreferences?.devTools).toBe(false);
  });
  it('compares origins exactly', () => {
    expect(isAllowedUrl('http://127.0.0.1:1/x', 'http://127.0.0.1:1/')).toBe(true);
    expect(isAllowedUrl('http://localhost:1/x', 'http://127.0.0.1:1/')).toBe(false);
    expect(isAllowedUrl('not a url', 'http://127.0.0.1:1/')).toBe(false);
  });
  it('limits crash restarts in a time window', () => {
    let t = 0;
    const b = new CrashBudget(2, 1000, () => t);
    expect(b.allow()).toBe(true);
    expect(b.allow()).toBe(true);
    expect(b.allow()).toBe(false);
    t = 5000;
    expect(b.allow()).toBe(true);
  });
  it('parses its arguments', () => {
    expect(parseShellArgs(['--data', '/var/lib/finekiosk'])).toEqual({
      kiosk: true,
      dataDir: '/var/lib/finekiosk',
    });
    expect(parseShellArgs(['--no-kiosk']).kiosk).toBe(false);
  });
});
