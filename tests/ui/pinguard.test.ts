// PIN attempts under attack: many guesses at once, a passer-by at the public staff button, a restart in
// the middle of a lock. The clock is injected; waits and locks are passed by advancing it.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openKiosk, type Kiosk } from '../../main/kiosk.ts';
import { createOfficerService } from '../../main/officer/officers.ts';
import { DEFAULT_PIN_POLICY, delayAfter, lockLength } from '../../main/staff/pinguard.ts';
import { createStaffService, type StaffService } from '../../main/staff/staff.ts';
import type { Result } from '../../protocol/result.ts';
import { ManualClock } from '../../protocol/time.ts';

const CHEAP = { N: 1024, r: 8, p: 1 };
const RIGHT = '246810';
const WRONG = '135790';
const P = DEFAULT_PIN_POLICY;

let dir: string;
let kiosk: Kiosk;
let clock: ManualClock;
let staff: StaffService;

beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'fk-pin-'));
  clock = new ManualClock(Date.parse('2026-11-21T02:00:00Z'));
  kiosk = openKiosk({ dataDir: dir, clock });
  staff = createStaffService(kiosk.db, clock, CHEAP);
  expect((await staff.add('王芳', RIGHT)).ok).toBe(true);
});
afterEach(() => {
  kiosk.close();
  rmSync(dir, { recursive: true, force: true });
});

const code = (r: Result<unknown>) => (r.ok ? 'OK' : r.error.code);
const retryAfter = (r: Result<unknown>) => (r.ok ? 0 : Number(r.error.details?.retryAfter ?? 0));

/** Waves of n parallel wrong PINs, the clock moved past each wait, until one answer is LOCKED. */
async function guessUntilLocked(n: number, entry?: 'public' | 'counter') {
  const seen: string[] = [];
  for (let wave = 0; wave < 20; wave++) {
    const rs = await Promise.all(Array.from({ length: n }, () => staff.login(WRONG, entry)));
    seen.push(...rs.map(code));
    if (rs.some((r) => code(r) === 'LOCKED')) return seen;
    clock.advance(Math.max(...rs.map(retryAfter)) * 1000);
  }
  throw new Error('never locked');
}

describe('PIN attempts', () => {
  it('50 parallel wrong PINs: exactly the limit is checked, then the entry point locks, even for the right PIN', async () => {
    const seen = await guessUntilLocked(50);
    // Each check that ran answered PIN_WRONG, except the one that reached the limit (LOCKED at once).
    expect(seen.filter((c) => c === 'PIN_WRONG')).toHaveLength(P.maxFailures - 1);
    expect(seen.every((c) => ['PIN_WRONG', 'PIN_WAIT', 'LOCKED'].includes(c))).toBe(true);
    const during = await staff.login(RIGHT);
    expect(code(during)).toBe('LOCKED');
    expect(retryAfter(during)).toBe(P.lockSeconds);
    clock.advance((P.lockSeconds - 1) * 1000);
    expect(code(await staff.login(RIGHT))).toBe('LOCKED');
    clock.advance(1000);
    expect(code(await staff.login(RIGHT))).toBe('OK');
  });

  it('a guess in flight is already counted: the right PIN sent with 50 wrong ones gets no extra tries', async () => {
    const rs = await Promise.all([
      ...Array.from({ length: 50 }, () => staff.login(WRONG)),
      staff.login(RIGHT),
    ]);
    // Only the first few were checked at all (the rest were told to wait): no more than the free typos.
    expect(rs.filter((r) => ['PIN_WRONG', 'OK'].includes(code(r))).length).toBeLessThanOrEqual(
      P.freeFailures + 1,
    );
    expect(code(rs[50]!)).toBe('PIN_WAIT');
  });

  it('slows down with a growing wait between wrong PINs', async () => {
    const waits: number[] = [];
    for (let i = 1; i < P.maxFailures; i++) {
      const r = await staff.login(WRONG);
      expect(code(r)).toBe('PIN_WRONG');
      waits.push(retryAfter(r));
      if (retryAfter(r) > 0) {
        // Too soon: refused without a check, and the wait does not reset.
        const early = await staff.login(RIGHT);
        expect(code(early)).toBe('PIN_WAIT');
        expect(retryAfter(early)).toBe(retryAfter(r));
        clock.advance(retryAfter(r) * 1000);
      }
    }
    expect(waits).toEqual([1, 2, 3, 4].map((n) => delayAfter(n, P)));
    expect(waits.slice(0, P.freeFailures)).toEqual([0, 0]);
    expect(waits[3]).toBeGreaterThan(waits[2]!);
  });

  it('a passer-by at the public staff button locks that button only, never the counter', async () => {
    await guessUntilLocked(10, 'public');
    expect(code(await staff.login(RIGHT, 'public'))).toBe('LOCKED');
    expect(code(await staff.login(RIGHT, 'counter'))).toBe('OK');
    // The counter's login does not lift the public button's lock either.
    expect(code(await staff.login(RIGHT, 'public'))).toBe('LOCKED');
  });

  it('officer guesses lock the officer screen, not the staff', async () => {
    const officers = createOfficerService(kiosk.db, clock, CHEAP);
    expect((await officers.add('031234', '王警官', '222222')).ok).toBe(true);
    for (let i = 0; i < 20; i++) {
      const r = await officers.login('999999');
      if (code(r) === 'LOCKED') break;
      clock.advance(retryAfter(r) * 1000);
    }
    expect(code(await officers.login('222222'))).toBe('LOCKED');
    expect(code(await staff.login(RIGHT))).toBe('OK');
  });

  it('a lock survives a restart, and each further lockout in a row lasts longer', async () => {
    await guessUntilLocked(5);
    kiosk.close();
    kiosk = openKiosk({ dataDir: dir, clock });
    staff = createStaffService(kiosk.db, clock, CHEAP);
    const r = await staff.login(RIGHT);
    expect(code(r)).toBe('LOCKED');
    clock.advance(retryAfter(r) * 1000);
    // The second lockout in a row is twice as long.
    await guessUntilLocked(5);
    const second = await staff.login(RIGHT);
    expect(retryAfter(second)).toBe(lockLength(1, P));
    expect(lockLength(1, P)).toBe(2 * P.lockSeconds);
    expect(lockLength(30, P)).toBe(P.maxLockSeconds);
    clock.advance(retryAfter(second) * 1000);
    // A successful login clears the count and the run of lockouts.
    expect(code(await staff.login(RIGHT))).toBe('OK');
    expect(kiosk.db.prepare('SELECT count(*) AS n FROM pin_guard').get()).toEqual({ n: 0 });
  });

  it('a clock set back stretches no lock beyond the longest one', async () => {
    await guessUntilLocked(5);
    clock.advance(-24 * 3600 * 1000);
    const r = await staff.login(RIGHT);
    expect(code(r)).toBe('LOCKED');
    expect(retryAfter(r)).toBe(P.maxLockSeconds);
    clock.advance(P.maxLockSeconds * 1000);
    expect(code(await staff.login(RIGHT))).toBe('OK');
  });
});
