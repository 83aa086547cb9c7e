// Officers log in like staff: a PIN checked against a scrypt hash (the staff module's hashing), a lockout
// after repeated failures, and sessions that expire. The role is its own: an officer session opens only
// the officer screen, and a staff PIN opens nothing here.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Database } from '../../db/connection.ts';
import { fail, ok, type Result } from '../../protocol/result.ts';
import { unixSeconds, type Clock } from '../../protocol/time.ts';
import { DEFAULT_COST, hashPin, pinSchema, verifyPin, type PinCost } from '../staff/staff.ts';
import { createPinGuard, DEFAULT_PIN_POLICY, type PinGuardPolicy } from '../staff/pinguard.ts';

export const OFFICER_MAX_FAILURES = DEFAULT_PIN_POLICY.maxFailures;
export const OFFICER_LOCK_SECONDS = DEFAULT_PIN_POLICY.lockSeconds;
export const OFFICER_SESSION_SECONDS = 12 * 3600;

/** Officer id (police number): printed on the notice and carried in ticket.issued (max 32). */
export const officerIdSchema = z
  .string()
  .regex(/^[0-9A-Za-z]{1,32}$/, 'officer id: letters and digits, 1 to 32');
const nameSchema = z.string().trim().min(1).max(40);

export interface Officer {
  officerId: string;
  name: string;
}

export interface OfficerLogin extends Officer {
  session: string;
  expiresAt: number;
  role: 'officer';
}

export interface OfficerService {
  add(officerId: string, name: string, pin: string): Promise<Result<Officer>>;
  login(pin: string): Promise<Result<OfficerLogin>>;
  checkSession(session: string): Result<Officer>;
  logout(session: string): void;
  list(): Officer[];
  get(officerId: string): Officer | undefined;
}

export function createOfficerService(
  db: Database,
  clock: Clock,
  cost: PinCost = DEFAULT_COST,
  policy: PinGuardPolicy = DEFAULT_PIN_POLICY,
): OfficerService {
  // The officer screen is its own entry point: guesses there never lock the kiosk's staff.
  const guard = createPinGuard(db, clock, policy);
  const active = (): { officer_id: string; name: string; pin_hash: string }[] =>
    db.prepare('SELECT officer_id, name, pin_hash FROM officers WHERE disabled = 0').all() as {
      officer_id: string;
      name: string;
      pin_hash: string;
    }[];

  return {
    async add(officerId, name, pin) {
      const id = officerIdSchema.safeParse(officerId);
      if (!id.success) return fail('MALFORMED', id.error.issues[0]?.message);
      const n = nameSchema.safeParse(name);
      if (!n.success) return fail('MALFORMED', 'name: 1 to 40 characters');
      if (!pinSchema.safeParse(pin).success) return fail('MALFORMED', 'PIN: 4 to 12 digits');
      for (const row of active()) {
        if (row.officer_id === id.data) return fail('MALFORMED', `officer ${id.data} exists`);
        if (await verifyPin(pin, row.pin_hash)) return fail('MALFORMED', 'this PIN is already in use');
      }
      const hash = await hashPin(pin, cost);
      db.prepare('INSERT INTO officers (officer_id, name, pin_hash, created_at) VALUES (?, ?, ?, ?)').run(
        id.data,
        n.data,
        hash,
        unixSeconds(clock),
      );
      return ok({ officerId: id.data, name: n.data });
    },
    async login(pin) {
      const found = await guard.attempt('officer', 'officer', async () => {
        if (!pinSchema.safeParse(pin).success) return undefined;
        for (const row of active()) if (await verifyPin(pin, row.pin_hash)) return row;
        return undefined;
      });
      if (!found.ok) return found;
      const row = found.value;
      const now = unixSeconds(clock);
      const session = randomBytes(24).toString('base64url');
      const expiresAt = now + OFFICER_SESSION_SECONDS;
      db.prepare(
        'INSERT INTO officer_sessions (id, officer_id, created_at, expires_at) VALUES (?, ?, ?, ?)',
      ).run(session, row.officer_id, now, expiresAt);
      return ok({ officerId: row.officer_id, name: row.name, session, expiresAt, role: 'officer' });
    },
    checkSession(session) {
      const row = db
        .prepare(
          `SELECT s.officer_id, o.name, s.expires_at FROM officer_sessions s
             JOIN officers o ON o.officer_id = s.officer_id WHERE s.id = ? AND o.disabled = 0`,
        )
        .get(session) as { officer_id: string; name: string; expires_at: number } | undefined;
      if (!row || row.expires_at <= unixSeconds(clock)) return fail('UNAUTHORIZED', 'log in again');
      return ok({ officerId: row.officer_id, name: row.name });
    },
    logout(session) {
      db.prepare('DELETE FROM officer_sessions WHERE id = ?').run(session);
    },
    list() {
      return (
        db.prepare('SELECT officer_id, name FROM officers WHERE disabled = 0 ORDER BY officer_id').all() as {
          officer_id: string;
          name: string;
        }[]
      ).map((r) => ({ officerId: r.officer_id, name: r.name }));
    },
    get(officerId) {
      const r = db
        .prepare('SELECT officer_id, name FROM officers WHERE officer_id = ? AND disabled = 0')
        .get(officerId) as { officer_id: string; name: string } | undefined;
      return r ? { officerId: r.officer_id, name: r.name } : undefined;
    },
  };
}
