// Migration 004: staff with scrypt PIN hashes, their console sessions, the login guard (lockout after
// repeated failures) and closed shifts with their stored reports.
import type { Migration } from '../migrate.ts';

export const m004Staff: Migration = {
  id: 4,
  name: 'staff',
  sql: `
CREATE TABLE staff (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  pin_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE staff_sessions (
  id TEXT PRIMARY KEY,
  staff_id TEXT NOT NULL REFERENCES staff(id),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT;

CREATE TABLE staff_login_guard (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  failures INTEGER NOT NULL,
  locked_until INTEGER NOT NULL
) STRICT;

CREATE TABLE shifts (
  id TEXT PRIMARY KEY,
  staff_id TEXT NOT NULL REFERENCES staff(id),
  opened_at INTEGER NOT NULL,
  closed_at INTEGER NOT NULL,
  totals TEXT NOT NULL,
  report TEXT NOT NULL
) STRICT;
`,
};
