// Officer mode: blocks of decision numbers handed out by the hub (or the stand-alone local sequence),
// the tickets written on this device, recent places, and the violation code table the hub sends.
import type { Migration } from '../migrate.ts';

export const m005Officer: Migration = {
  id: 5,
  name: 'officer',
  sql: `
-- A block is the numbers prefix || lpad(n, width) for n in first..last; next_n is the next to issue.
-- Taking a number is one conditional UPDATE inside the ticket's transaction, so a crash never
-- hands out a number twice: either the ticket and the bump commit together, or neither does.
CREATE TABLE decision_blocks (
  block_id TEXT PRIMARY KEY,
  region TEXT NOT NULL,
  prefix TEXT NOT NULL,
  width INTEGER NOT NULL CHECK (width BETWEEN 1 AND 15),
  first_n INTEGER NOT NULL CHECK (first_n >= 0),
  last_n INTEGER NOT NULL,
  next_n INTEGER NOT NULL,
  standalone INTEGER NOT NULL DEFAULT 0 CHECK (standalone IN (0, 1)),
  received_at INTEGER NOT NULL,
  CHECK (last_n >= first_n AND next_n BETWEEN first_n AND last_n + 1)
) STRICT;
CREATE INDEX decision_blocks_open ON decision_blocks (standalone, received_at) WHERE next_n <= last_n;

CREATE TABLE tickets (
  decision_no TEXT PRIMARY KEY REFERENCES fines (decision_no),
  block_id TEXT NOT NULL REFERENCES decision_blocks (block_id),
  officer_id TEXT NOT NULL,
  vehicle_kind TEXT NOT NULL,
  plate_kind TEXT,
  bill_no TEXT REFERENCES bills (bill_no),
  issued_at INTEGER NOT NULL
) STRICT;
CREATE INDEX tickets_issued_at ON tickets (issued_at);

CREATE TABLE recent_places (
  place TEXT PRIMARY KEY,
  used_at INTEGER NOT NULL,
  uses INTEGER NOT NULL DEFAULT 1
) STRICT;

-- Officers log in like staff, with their own role and scrypt-hashed PIN (same hashing as staff).
CREATE TABLE officers (
  officer_id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  pin_hash TEXT NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
  created_at INTEGER NOT NULL
) STRICT;
CREATE TABLE officer_sessions (
  id TEXT PRIMARY KEY,
  officer_id TEXT NOT NULL REFERENCES officers (officer_id),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT;
CREATE TABLE officer_login_guard (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  failures INTEGER NOT NULL,
  locked_until INTEGER NOT NULL
) STRICT;

CREATE TABLE officer_config (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  source TEXT NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
`,
};
