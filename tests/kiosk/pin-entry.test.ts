// The PIN entry point is decided by the kiosk (its counterConsole setting), never by the request body:
// the citizen screen cannot claim entry 'counter' for a fresh budget of guesses, and staff can always
// unlock from the machine (`finekiosk staff unlock`).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryPrinter, startUi, type Ui } from '../../main/ui/backend.ts';
import { prepareKiosk } from '../../main/start.ts';
import type { Kiosk } from '../../main/kiosk.ts';
import { ManualClock } from '../../protocol/time.ts';
import { main as cli } from '../../main/cli.ts';
import { SETTING } from '../../main/settings/settings.ts';

let dir: string;
let kiosk: Kiosk;
let ui: Ui;
const clock = new ManualClock(Date.parse('2026-11-21T02:00:00Z'));
const RIGHT = '246810';

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'fk-atk15-pin-'));
  const dist = path.join(dir, 'dist');
  mkdirSync(dist);
  writeFileSync(path.join(dist, 'index.html'), '<!doctype html><title>t</title>');
  kiosk = prepareKiosk({
    dataDir: path.join(dir, 'data'),
    clock,
    io: { stdout() {}, stderr() {}, stopSignal: new Promise(() => {}) },
  }).kiosk;
  ui = await startUi({ kiosk, printer: new MemoryPrinter(), staticDir: dist, pinCost: { N: 1024, r: 8, p: 1 } });
  expect((await ui.staff.add('王芳', RIGHT)).ok).toBe(true);
});
afterAll(async () => {
  await ui.close();
  kiosk.close();
  rmSync(dir, { recursive: true, force: true });
});

const code = (r: { ok: boolean; error?: { code: string } }) => (r.ok ? 'OK' : r.error!.code);

describe('PIN entry point spoofing from the citizen screen ', () => {
  it('after the public button locks, the same screen gets no further guesses by claiming entry "counter"', async () => {
    // A passer-by locks the public button (the renderer never sends `entry`).
    let last = '';
    for (let i = 0; i < 20 && last !== 'LOCKED'; i++) {
      const r = await ui.call('staffLogin', { pin: String(100000 + i) });
      last = code(r);
      if (!r.ok && r.error.code !== 'LOCKED' && r.error.details?.retryAfter) clock.advance(Number(r.error.details.retryAfter) * 1000);
    }
    expect(last).toBe('LOCKED');
    // Same session, same JSON API, one more field: a fresh budget of guesses.
    const spoofed = await ui.call('staffLogin', { pin: '999999', entry: 'counter' });
    expect(code(spoofed)).not.toBe('PIN_WRONG');
    expect(code(spoofed)).not.toBe('OK');
    // Not even the right PIN gets in through the locked screen, claimed entry or not.
    expect(code(await ui.call('staffLogin', { pin: RIGHT }))).toBe('LOCKED');
    expect(code(await ui.call('staffLogin', { pin: RIGHT, entry: 'counter' }))).not.toBe('OK');
  });

  it('the lock message says how staff unlock it, and `finekiosk staff unlock` on the machine does', async () => {
    const locked = await ui.call('staffLogin', { pin: RIGHT });
    expect(code(locked)).toBe('LOCKED');
    if (!locked.ok) {
      expect(locked.error.message).toContain('finekiosk staff unlock');
      expect(locked.error.messageZh).toContain('finekiosk staff unlock');
    }
    const out: string[] = [];
    const rc = await cli(['staff', 'unlock', '--data', path.join(dir, 'data')], {
      stdout: (t) => void out.push(t),
      stderr: (t) => void out.push(t),
    });
    expect(rc).toBe(0);
    expect(code(await ui.call('staffLogin', { pin: RIGHT }))).toBe('OK');
  });

  it('a kiosk set as a counter console counts its PINs against the counter entry point only', async () => {
    // Lock the public entry again, then the operator marks this kiosk a counter console.
    let last = '';
    for (let i = 0; i < 20 && last !== 'LOCKED'; i++) {
      const r = await ui.call('staffLogin', { pin: String(200000 + i) });
      last = code(r);
      if (!r.ok && r.error.code !== 'LOCKED' && r.error.details?.retryAfter) clock.advance(Number(r.error.details.retryAfter) * 1000);
    }
    expect(last).toBe('LOCKED');
    kiosk.settings.set(SETTING.counterConsole, 'true');
    expect(code(await ui.call('staffLogin', { pin: RIGHT }))).toBe('OK');
    kiosk.settings.set(SETTING.counterConsole, 'false');
    expect(code(await ui.call('staffLogin', { pin: RIGHT }))).toBe('LOCKED');
  });
});
