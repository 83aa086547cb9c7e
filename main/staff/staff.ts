// Staff PINs and console sessions. PINs are stored only as scrypt hashes with a per-PIN salt; after 5
// wrong PINs in a row the console locks for 5 minutes (the clock is injected so tests need not wait).
import { randomBytes, randomInt, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { Database as Db } from '../../db/connection.ts';
import { z } from 'zod';
import { fail, ok, type Result } from '../../protocol/result.ts';
import { unixSeconds, type Clock } from '../../protocol/time.ts';

export const MAX_FAILURES = 5;
export const LOCK_SECONDS = 5 * 60;
export const SESSION_SECONDS = 8 * 3600;

/** scrypt cost; the default is node's (N=16384), tests may pass a cheaper one. */
export interface PinCost {
  N: number;
  r: number;
  p: number;
}
export const DEFAULT_COST: PinCost = { N: 16384, r: 8, p: 1 };

export const pinSchema = z.string().regex(/^[0-9]{4,12}$/, 'PIN: 4 to 12 digits');
const nameSchema = z.string().trim().min(1).max(40);

function scrypt(pin: string, salt: Buffer, cost: PinCost): Promise<Buffer> {
  const opts: ScryptOptions = { N: cost.N, r: cost.r, p: cost.p, maxmem: 256 * cost.N * cost.r };
  return new Promise((resolve, reject) =>
    scryptCb(pin, salt, 32, opts, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** "scrypt$N$r$p$salt$hash" with base64url salt and hash. */
export async function hashPin(pin: string, cost: PinCost = DEFAULT_COST): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(pin, salt, cost);
  return ['scrypt', cost.N, cost.r, cost.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

export async function verifyPin(pin: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string];
  const expected = Buffer.from(hash, 'base64url');
  const got = await scrypt(pin, Buffer.from(salt, 'base64url'), { N: Number(n), r: Number(r), p: Number(p) });
  return got.length === expected.length && timingSafeEqual(got, expected);
}

export interface StaffMember {
  staffId: string;
  name: string;
}

export interface LoginResult extends StaffMember {
  session: string;
  expiresAt: number;
}

export interface StaffService {
  count(): number;
  add(name: string, pin?: string): Promise<Result<StaffMember & { pin: string }>>;
  login(pin: string): Promise<Result<LoginResult>>;
  checkSession(session: string): Result<StaffMember>;
  logout(session: string): void;
  list(): StaffMember[];
}

export function createStaffService(db: Db, clock: Clock, cost: PinCost = DEFAULT_COST): StaffService {
  const guard = (): { failures: number; lockedUntil: number } => {
    const row = db.prepare('SELECT failures, locked_until FROM staff_login_guard WHERE id = 1').get() as
      { failures: number; locked_until: number } | undefined;
    return { failures: row?.failures ?? 0, lockedUntil: row?.locked_until ?? 0 };
  };
  const setGuard = (failures: number, lockedUntil: number): void => {
    db.prepare(
      `INSERT INTO staff_login_guard (id, failures, locked_until) VALUES (1, ?, ?)
       ON CONFLICT(id) DO UPDATE SET failures = excluded.failures, locked_until = excluded.locked_until`,
    ).run(failures, lockedUntil);
  };

  return {
    count() {
      return (db.prepare('SELECT count(*) AS n FROM staff WHERE disabled = 0').get() as { n: number }).n;
    },
    list() {
      return (
        db.prepare('SELECT id, name FROM staff WHERE disabled = 0 ORDER BY created_at').all() as {
          id: string;
          name: string;
        }[]
      ).map((r) => ({ staffId: r.id, name: r.name }));
    },
    async add(name, pin) {
      const n = nameSchema.safeParse(name);
      if (!n.success) return fail('MALFORMED', 'name: 1 to 40 characters');
      const thePin = pin ?? String(randomInt(0, 1_000_000)).padStart(6, '0');
      if (!pinSchema.safeParse(thePin).success) return fail('MALFORMED', 'PIN: 4 to 12 digits');
      // Two staff with one PIN could not be told apart at login.
      for (const row of db.prepare('SELECT pin_hash FROM staff WHERE disabled = 0').all() as {
        pin_hash: string;
      }[]) {
        if (await verifyPin(thePin, row.pin_hash)) return fail('MALFORMED', 'this PIN is already in use');
      }
      const id = `s${randomBytes(6).toString('hex')}`;
      const hash = await hashPin(thePin, cost);
      db.prepare('INSERT INTO staff (id, name, pin_hash, created_at) VALUES (?, ?, ?, ?)').run(
        id,
        n.data,
        hash,
        unixSeconds(clock),
      );
      return ok({ staffId: id, name: n.data, pin: thePin });
    },
    async login(pin) {
      const now = unixSeconds(clock);
      const g = guard();
      if (g.lockedUntil > now) {
        return fail('LOCKED', `try again in ${g.lockedUntil - now} s`, { retryAfter: g.lockedUntil - now });
      }
      const rows = db.prepare('SELECT id, name, pin_hash FROM staff WHERE disabled = 0').all() as {
        id: string;
        name: string;
        pin_hash: string;
      }[];
      for (const row of rows) {
        if (await verifyPin(pin, row.pin_hash)) {
          setGuard(0, 0);
          const session = randomBytes(24).toString('base64url');
          const expiresAt = now + SESSION_SECONDS;
          db.prepare(
            'INSERT INTO staff_sessions (id, staff_id, created_at, expires_at) VALUES (?, ?, ?, ?)',
          ).run(session, row.id, now, expiresAt);
          return ok({ staffId: row.id, name: row.name, session, expiresAt });
        }
      }
      const failures = (g.lockedUntil > 0 && g.lockedUntil <= now ? 0 : g.failures) + 1;
      if (failures >= MAX_FAILURES) {
        setGuard(failures, now + LOCK_SECONDS);
        return fail('LOCKED', `try again in ${LOCK_SECONDS} s`, { retryAfter: LOCK_SECONDS });
      }
      setGuard(failures, 0);
      return fail('PIN_WRONG', undefined, { attemptsLeft: MAX_FAILURES - failures });
    },
    checkSession(session) {
      const row = db
        .prepare(
          `SELECT s.staff_id, st.name, s.expires_at FROM staff_sessions s JOIN staff st ON st.id = s.staff_id
           WHERE s.id = ? AND st.disabled = 0`,
        )
        .get(session) as { staff_id: string; name: string; expires_at: number } | undefined;
      if (!row || row.expires_at <= unixSeconds(clock)) return fail('UNAUTHORIZED', 'log in again');
      return ok({ staffId: row.staff_id, name: row.name });
    },
    logout(session) {
      db.prepare('DELETE FROM staff_sessions WHERE id = ?').run(session);
    },
  };
}
