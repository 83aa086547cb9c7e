// Staff PINs and console sessions. PINs are stored only as scrypt hashes with a per-PIN salt; attempts
// go through the PIN guard (pinguard.ts): counted before the check, slowed down and locked per entry
// point, so a passer-by at the public staff button cannot lock out staff at the counter.
import { randomBytes, randomInt, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { Database as Db } from '../../db/connection.ts';
import { z } from 'zod';
import { fail, ok, type Result } from '../../protocol/result.ts';
import { unixSeconds, type Clock } from '../../protocol/time.ts';
import { createPinGuard, DEFAULT_PIN_POLICY, type PinGuardPolicy, type StaffEntryPoint } from './pinguard.ts';

export const MAX_FAILURES = DEFAULT_PIN_POLICY.maxFailures;
export const LOCK_SECONDS = DEFAULT_PIN_POLICY.lockSeconds;
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
  /** Checks a PIN typed at an entry point (default: the citizen screen's staff button). */
  login(pin: string, entry?: StaffEntryPoint): Promise<Result<LoginResult>>;
  checkSession(session: string): Result<StaffMember>;
  logout(session: string): void;
  list(): StaffMember[];
}

export function createStaffService(
  db: Db,
  clock: Clock,
  cost: PinCost = DEFAULT_COST,
  policy: PinGuardPolicy = DEFAULT_PIN_POLICY,
): StaffService {
  const guard = createPinGuard(db, clock, policy);
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
    async login(pin, entry = 'public') {
      const found = await guard.attempt('staff', entry, async () => {
        if (!pinSchema.safeParse(pin).success) return undefined;
        const rows = db.prepare('SELECT id, name, pin_hash FROM staff WHERE disabled = 0').all() as {
          id: string;
          name: string;
          pin_hash: string;
        }[];
        for (const row of rows) if (await verifyPin(pin, row.pin_hash)) return row;
        return undefined;
      });
      if (!found.ok) return found;
      const row = found.value;
      const now = unixSeconds(clock);
      const session = randomBytes(24).toString('base64url');
      const expiresAt = now + SESSION_SECONDS;
      db.prepare('INSERT INTO staff_sessions (id, staff_id, created_at, expires_at) VALUES (?, ?, ?, ?)').run(
        session,
        row.id,
        now,
        expiresAt,
      );
      return ok({ staffId: row.id, name: row.name, session, expiresAt });
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
