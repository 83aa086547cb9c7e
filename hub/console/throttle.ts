// Console login throttle: failed logins are counted per operator id and per client address
// (console_login_failures, hub migration 13). MAX_FAILURES failures of one operator id (MAX_ADDRESS_FAILURES
// from one address) within WINDOW_S lock that subject for
// LOCK_S: every login for a locked operator or from a locked address is refused LOGIN_LOCKED (HTTP 429)
// before the password is checked (no scrypt spent), even with the right password. A successful login
// clears its operator's count. Like the kiosk's staff PIN lockout, it bounds password guessing.
import type { HubQueryable } from '../db.ts';

export const MAX_FAILURES = 5;
/** An address (a whole office behind one NAT, say) may fail more often before it is locked. */
export const MAX_ADDRESS_FAILURES = 20;
export const WINDOW_S = 15 * 60;
export const LOCK_S = 15 * 60;

/** The subjects one login attempt counts against: the operator id and the client address. */
export function loginSubjects(operatorId: string, address: string): string[] {
  return [`operator:${operatorId}`, `address:${address}`];
}

/** Seconds until the last lock among `subjects` ends (0 when none is locked at `now`, Unix seconds). */
export async function loginLockedFor(db: HubQueryable, subjects: string[], now: number): Promise<number> {
  const r = await db.query<{ until: string | number | null }>(
    'SELECT max(locked_until) AS until FROM console_login_failures WHERE subject = ANY($1::text[])',
    [subjects],
  );
  const until = Number(r.rows[0]?.until ?? 0);
  return until > now ? until - now : 0;
}

/** Counts a failed login against each subject; the MAX_FAILURES-th within WINDOW_S locks it for LOCK_S. */
export async function recordLoginFailure(db: HubQueryable, subjects: string[], now: number): Promise<void> {
  for (const s of subjects) {
    await db.query(
      `INSERT INTO console_login_failures AS f (subject, failures, first_at, locked_until) VALUES ($1, 1, $2, 0)
       ON CONFLICT (subject) DO UPDATE SET
         failures = CASE WHEN f.first_at < $2 - $3 THEN 1 ELSE f.failures + 1 END,
         first_at = CASE WHEN f.first_at < $2 - $3 THEN $2 ELSE f.first_at END,
         locked_until = CASE WHEN f.first_at >= $2 - $3 AND f.failures + 1 >= $4 THEN $2 + $5 ELSE f.locked_until END`,
      [s, now, WINDOW_S, s.startsWith('address:') ? MAX_ADDRESS_FAILURES : MAX_FAILURES, LOCK_S],
    );
  }
}

/** A successful login clears the operator's failures. */
export async function clearLoginFailures(db: HubQueryable, operatorId: string): Promise<void> {
  await db.query('DELETE FROM console_login_failures WHERE subject = $1', [`operator:${operatorId}`]);
}
