// Migration 009: PIN attempts per role and entry point (the public staff button, a counter's console,
// the officer screen), with the wait between attempts and the count of lockouts in a row. Replaces the
// one-row guards of 004 and 005 (one lock for every entry point); a lock in force is carried over.
import type { Migration } from '../migrate.ts';

export const m009PinGuard: Migration = {
  id: 9,
  name: 'pin_guard',
  sql: `
CREATE TABLE pin_guard (
  role TEXT NOT NULL CHECK (role IN ('staff', 'officer')),
  entry TEXT NOT NULL CHECK (length(entry) BETWEEN 1 AND 32),
  failures INTEGER NOT NULL CHECK (failures >= 0),
  next_at INTEGER NOT NULL,
  locked_until INTEGER NOT NULL,
  lockouts INTEGER NOT NULL CHECK (lockouts >= 0),
  PRIMARY KEY (role, entry)
) STRICT;

INSERT INTO pin_guard (role, entry, failures, next_at, locked_until, lockouts)
  SELECT 'staff', 'public', failures, 0, locked_until, 0 FROM staff_login_guard WHERE id = 1;
INSERT INTO pin_guard (role, entry, failures, next_at, locked_until, lockouts)
  SELECT 'officer', 'officer', failures, 0, locked_until, 0 FROM officer_login_guard WHERE id = 1;

DROP TABLE staff_login_guard;
DROP TABLE officer_login_guard;
`,
};
