// The Electron shell with the `electron` module mocked: which window, which flags, which navigation.
import { EventEmitter } from 'node:events';
import { beforeEach, describe, expect, it, vi } from 'vitest';

class FakeContents extends EventEmitter {
  openHandler?: (d: { url: string }) => { action: string };
  setWindowOpenHandler(h: (d: { url: string }) => { action: string }) {
    this.openHandler = h;
  }
  closeDevTools = vi.fn();
  setVisualZoomLevelLimits = vi.fn(async () => {});
  setZoomFactor = vi.fn();
  forcefullyCrashRenderer = vi.fn();
}

class FakeWindow extends EventEmitter {
  static all: FakeWindow[] = [];
  webContents = new FakeContents();
  loadURL = vi.fn(async (_u: string) => {});
  show = vi.fn();
  focus = vi.fn();
  restore = vi.fn();
  removeMenu = vi.fn();
  isMinimized = () => false;
  isDestroyed = () => false;
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
      setPermissionCheckHandler: vi.fn(),
      setDevicePermissionHandler: vi.fn(),
      webRequest: { onHeadersReceived: vi.fn((fn: unknown) => (headers.fn = fn)) },
      headers,
    },
  };
  const Menu = { setApplicationMenu: vi.fn() };
  const powerSaveBlocker = { start: vi.fn(() => 1) };
  const mod = { app, BrowserWindow: FakeWindow, session, Menu, powerSaveBlocker };
  return { ...mod, default: mod };
});

const { runShell } = await import('../../main/electron/shell.ts');
const { childGoneAction, CrashBudget, isAllowedUrl, isBlockedKey, parseShellArgs, windowOptions } =
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
    // Each crash comes after the previous reload finished loading.
    const loaded = () => new Promise((r) => setImmediate(r));
    await loaded();
    w.loadURL.mockClear();
    w.webContents.emit('render-process-gone', {}, { reason: 'crashed', exitCode: 139 });
    expect(w.loadURL).toHaveBeenCalledTimes(1);
    await loaded();
    w.webContents.emit('render-process-gone', {}, { reason: 'clean-exit', exitCode: 0 });
    expect(w.loadURL).toHaveBeenCalledTimes(1);
    for (let i = 0; i < 5; i++) {
      await loaded();
      w.webContents.emit('render-process-gone', {}, { reason: 'oom', exitCode: 1 });
    }
    expect(electron.app.quit).toHaveBeenCalled();
  });

  it('removes the application menu before any window exists, and the window menu', async () => {
    await runShell({ kiosk: true, startBackend: async () => backend });
    expect(electron.Menu.setApplicationMenu).toHaveBeenCalledWith(null);
    expect(FakeWindow.all[0]!.removeMenu).toHaveBeenCalled();
  });

  it('swallows close, quit, reload, zoom, full-screen, devtools and menu keys in kiosk mode', async () => {
    await runShell({ kiosk: true, startBackend: async () => backend });
    const wc = FakeWindow.all[0]!.webContents;
    const press = (
      key: string,
      mods: Partial<Record<'control' | 'alt' | 'meta' | 'shift', boolean>> = {},
    ) => {
      const e = { preventDefault: vi.fn() };
      const input = {
        type: 'keyDown',
        key,
        code: '',
        control: false,
        alt: false,
        meta: false,
        shift: false,
        ...mods,
      };
      wc.emit('before-input-event', e, input);
      return e.preventDefault.mock.calls.length > 0 ? 'swallowed' : 'passed';
    };
    const swallowed: [string, Parameters<typeof press>[1]?][] = [
      ['w', { control: true }], // close
      ['q', { control: true }], // quit
      ['F4', { alt: true }], // close
      ['r', { control: true }], // reload
      ['R', { control: true, shift: true }],
      ['F5'],
      ['BrowserRefresh'],
      ['+', { control: true }], // zoom
      ['=', { control: true }],
      ['-', { control: true }],
      ['0', { control: true }],
      ['F11'], // full screen
      ['F12'], // devtools
      ['I', { control: true, shift: true }],
      ['J', { control: true, shift: true }],
      ['Alt'], // menu bar
      ['F10'],
      ['ContextMenu'],
      ['Meta'],
      ['ArrowLeft', { alt: true }], // history back
      ['BrowserBack'],
      ['p', { control: true }], // print dialog
      ['u', { control: true }], // page source
      ['t', { meta: true }],
    ];
    for (const [key, mods] of swallowed) expect(press(key, mods), key).toBe('swallowed');
    // The keypad, a keyboard and a barcode scanner still work.
    for (const key of ['0', '9', 'a', 'Z', 'Enter', 'Backspace', 'Tab', 'Escape', 'ArrowLeft', ' ', '-']) {
      expect(press(key), key).toBe('passed');
    }
    expect(press('A', { shift: true })).toBe('passed');
  });

  it('lets a technician window (--no-kiosk) keep its keys, devtools and display sleep', async () => {
    await runShell({ kiosk: false, startBackend: async () => backend });
    expect(FakeWindow.all[0]!.webContents.listenerCount('before-input-event')).toBe(0);
    expect(electron.powerSaveBlocker.start).not.toHaveBeenCalled();
  });

  it('holds zoom at 100 % (pinch and Ctrl+wheel)', async () => {
    await runShell({ kiosk: true, startBackend: async () => backend });
    const wc = FakeWindow.all[0]!.webContents;
    expect(wc.setVisualZoomLevelLimits).toHaveBeenCalledWith(1, 1);
    wc.emit('zoom-changed', {}, 'in');
    expect(wc.setZoomFactor).toHaveBeenCalledWith(1);
  });

  it('keeps the display from sleeping in kiosk mode', async () => {
    await runShell({ kiosk: true, startBackend: async () => backend });
    expect(electron.powerSaveBlocker.start).toHaveBeenCalledWith('prevent-display-sleep');
  });

  it('denies permission checks and device access as well as permission requests', async () => {
    await runShell({ kiosk: true, startBackend: async () => backend });
    const ses = electron.session.defaultSession as unknown as Record<string, ReturnType<typeof vi.fn>>;
    const check = ses.setPermissionCheckHandler!.mock.calls[0]![0] as (...a: unknown[]) => boolean;
    for (const p of ['media', 'notifications', 'geolocation', 'clipboard-read', 'hid', 'usb', 'serial']) {
      expect(check(null, p, 'http://127.0.0.1:4321', {})).toBe(false);
    }
    const device = ses.setDevicePermissionHandler!.mock.calls[0]![0] as (d: unknown) => boolean;
    expect(device({ deviceType: 'usb', origin: 'http://127.0.0.1:4321' })).toBe(false);
  });

  it('kills and reloads an unresponsive renderer, once, even when its death is reported after', async () => {
    const log = vi.fn();
    await runShell({ kiosk: true, startBackend: async () => backend, log });
    const w = FakeWindow.all[0]!;
    await new Promise((r) => setImmediate(r));
    w.loadURL.mockClear();
    w.emit('unresponsive');
    expect(w.webContents.forcefullyCrashRenderer).toHaveBeenCalled();
    // The killed renderer is reported gone while the reload is under way: not loaded twice.
    w.webContents.emit('render-process-gone', {}, { reason: 'killed', exitCode: 9 });
    expect(w.loadURL).toHaveBeenCalledTimes(1);
    expect(w.loadURL).toHaveBeenCalledWith(backend.launchUrl);
    // The token-bearing launch URL is never logged.
    expect(log.mock.calls.flat().join('\n')).not.toContain('secret');
  });

  it('reloads the page when the GPU process dies (a white or black window otherwise)', async () => {
    await runShell({ kiosk: true, startBackend: async () => backend });
    const w = FakeWindow.all[0]!;
    await new Promise((r) => setImmediate(r));
    w.loadURL.mockClear();
    fake.app.emit('child-process-gone', {}, { type: 'Utility', reason: 'crashed', exitCode: 1 });
    expect(w.loadURL).not.toHaveBeenCalled();
    fake.app.emit('child-process-gone', {}, { type: 'GPU', reason: 'crashed', exitCode: 1 });
    expect(w.loadURL).toHaveBeenCalledWith(backend.launchUrl);
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
  it('reloads only for a GPU process that did not exit cleanly', () => {
    expect(childGoneAction({ type: 'GPU', reason: 'crashed' })).toBe('reload');
    expect(childGoneAction({ type: 'GPU', reason: 'oom' })).toBe('reload');
    expect(childGoneAction({ type: 'GPU', reason: 'clean-exit' })).toBe('ignore');
    expect(childGoneAction({ type: 'Utility', reason: 'crashed' })).toBe('ignore');
  });
  it('blocks every Ctrl, Alt and Super combination and the function keys, never plain typing', () => {
    const k = (
      key: string,
      m: Partial<{ control: boolean; alt: boolean; meta: boolean; shift: boolean }> = {},
    ) => isBlockedKey({ type: 'keyDown', key, control: false, alt: false, meta: false, shift: false, ...m });
    expect(k('F1')).toBe(true);
    expect(k('F24')).toBe(true);
    expect(k('c', { control: true })).toBe(true);
    expect(k('1')).toBe(false);
    expect(k('京')).toBe(false);
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
