// PIN attempts, counted so that parallel guesses cannot outrun the count, and locked per entry point.
//
// Each attempt is written as a failure BEFORE its PIN is checked, in one immediate transaction that also
// reads the lock: fifty guesses sent at once see each other's counts, so only the allowed number is ever
// checked. A right PIN then clears its entry point's count; a wrong one needs no second write.
//
// Entry points are kept apart (a row per role and entry point): the public 工作人员 button on the
// citizen screen is one, the counter's console another, the officer's screen a third. A passer-by
// guessing at the public button locks that button only, never staff at the counter. Within an entry
// point, wrong PINs first slow down (a growing wait between attempts after the first few typos), then
// lock it; each further lockout before a successful login lasts twice as long, up to a cap. Everything
// is in the kiosk's database, so a restart neither clears nor shortens a lock.
import type { Database } from '../../db/connection.ts';
import { writeTx } from '../../db/connection.ts';
import { fail, ok, type Result } from '../../protocol/result.ts';
import { unixSeconds, type Clock } from '../../protocol/time.ts';

export type PinRole = 'staff' | 'officer';

/** Where a PIN is typed: the citizen screen's staff button, a counter's console, the officer screen. */
export const STAFF_ENTRY_POINTS = ['public', 'counter'] as const;
export type StaffEntryPoint = (typeof STAFF_ENTRY_POINTS)[number];

export interface PinGuardPolicy {
  /** Wrong PINs in a row that lock the entry point (the attempt that reaches it takes the lock). */
  maxFailures: number;
  /** Wrong PINs allowed back to back before each next attempt must wait (typos). */
  freeFailures: number;
  /** Wait after the first failure past the free ones, doubling with each further failure (seconds). */
  baseDelaySeconds: number;
  /** The first lockout (seconds); each further one before a successful login doubles it. */
  lockSeconds: number;
  /** No lockout lasts longer (seconds). */
  maxLockSeconds: number;
}

export const DEFAULT_PIN_POLICY: PinGuardPolicy = {
  maxFailures: 5,
  freeFailures: 2,
  baseDelaySeconds: 2,
  lockSeconds: 5 * 60,
  maxLockSeconds: 60 * 60,
};

interface GuardRow {
  failures: number;
  next_at: number;
  locked_until: number;
  lockouts: number;
}

/** Seconds to wait after the n-th failure in a row (0 for the free ones). */
export function delayAfter(failures: number, p: PinGuardPolicy): number {
  if (failures <= p.freeFailures) return 0;
  return Math.min(p.baseDelaySeconds * 2 ** (failures - p.freeFailures - 1), p.lockSeconds);
}

/** Length of the (lockouts+1)-th lockout in a row, in seconds. */
export function lockLength(lockouts: number, p: PinGuardPolicy): number {
  return Math.min(p.lockSeconds * 2 ** Math.min(lockouts, 20), p.maxLockSeconds);
}

export interface PinGuard {
  /**
   * Runs one login attempt at an entry point. `check` compares the PIN (scrypt) and returns the match or
   * undefined. Fails with LOCKED {retryAfter} while the entry point is locked (also when this attempt
   * took the lock), PIN_WAIT {retryAfter} when attempts come faster than the growing delay allows, and
   * PIN_WRONG {attemptsLeft} otherwise; retryAfter is in seconds.
   */
  attempt<T>(role: PinRole, entry: string, check: () => Promise<T | undefined>): Promise<Result<T>>;
  /**
   * Clears the counts and locks (all roles and entry points, or one role) and returns how many entry
   * points were locked or counting. For staff at the machine (`finekiosk staff unlock`), so a passer-by
   * who locked the screen never keeps staff out.
   */
  unlock(role?: PinRole): number;
}

export function createPinGuard(
  db: Database,
  clock: Clock,
  policy: PinGuardPolicy = DEFAULT_PIN_POLICY,
): PinGuard {
  const read = db.prepare<[string, string], GuardRow>(
    'SELECT failures, next_at, locked_until, lockouts FROM pin_guard WHERE role = ? AND entry = ?',
  );
  const write = db.prepare(
    `INSERT INTO pin_guard (role, entry, failures, next_at, locked_until, lockouts) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (role, entry) DO UPDATE SET failures = excluded.failures, next_at = excluded.next_at,
       locked_until = excluded.locked_until, lockouts = excluded.lockouts`,
  );
  const clear = db.prepare('DELETE FROM pin_guard WHERE role = ? AND entry = ?');

  type Begun = { refused: Result<never> } | { failures: number; locked: boolean };
  const begin = (role: PinRole, entry: string): Begun =>
    writeTx(db, () => {
      const now = unixSeconds(clock);
      const row = read.get(role, entry) ?? { failures: 0, next_at: 0, locked_until: 0, lockouts: 0 };
      // A clock set back (a dead RTC battery, then a correction) must not stretch a lock or a wait beyond
      // its longest: clamp, and store the clamp so it ends.
      if (row.locked_until > now + policy.maxLockSeconds || row.next_at > now + policy.lockSeconds) {
        row.locked_until = Math.min(row.locked_until, now + policy.maxLockSeconds);
        row.next_at = Math.min(row.next_at, now + policy.lockSeconds);
        write.run(role, entry, row.failures, row.next_at, row.locked_until, row.lockouts);
      }
      if (row.locked_until > now) {
        return { refused: fail('LOCKED', undefined, { retryAfter: row.locked_until - now }) };
      }
      if (row.next_at > now) {
        return { refused: fail('PIN_WAIT', undefined, { retryAfter: row.next_at - now }) };
      }
      // A lock that has run out starts a fresh count, but remembers it happened (the next one is longer).
      const failures = (row.locked_until > 0 ? 0 : row.failures) + 1;
      if (failures >= policy.maxFailures) {
        write.run(role, entry, failures, 0, now + lockLength(row.lockouts, policy), row.lockouts + 1);
        return { failures, locked: true };
      }
      write.run(role, entry, failures, now + delayAfter(failures, policy), 0, row.lockouts);
      return { failures, locked: false };
    });

  return {
    unlock(role) {
      return writeTx(db, () =>
        role === undefined
          ? db.prepare('DELETE FROM pin_guard').run().changes
          : db.prepare('DELETE FROM pin_guard WHERE role = ?').run(role).changes,
      );
    },
    async attempt(role, entry, check) {
      const b = begin(role, entry);
      if ('refused' in b) return b.refused;
      const found = await check();
      if (found !== undefined) {
        writeTx(db, () => clear.run(role, entry));
        return ok(found);
      }
      if (b.locked) {
        const row = read.get(role, entry);
        const retryAfter = Math.max(0, (row?.locked_until ?? 0) - unixSeconds(clock));
        return fail('LOCKED', undefined, { retryAfter });
      }
      const row = read.get(role, entry);
      return fail('PIN_WRONG', undefined, {
        attemptsLeft: Math.max(0, policy.maxFailures - b.failures),
        ...(row && row.next_at > unixSeconds(clock) ? { retryAfter: row.next_at - unixSeconds(clock) } : {}),
      });
    },
  };
}
