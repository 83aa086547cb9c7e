// Sync with the hub: the enrollment and the sync loop's state (one row), and the events the hub refused
// with their reasons, kept for staff to see. Hub keys live in hub_keys (001).
import type { Migration } from '../migrate.ts';

export const m003Sync: Migration = {
  id: 3,
  name: 'sync',
  sql: `
CREATE TABLE sync_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  hub_url TEXT,
  device_name TEXT,
  region TEXT,
  enrolled_at INTEGER,
  -- Pull position in the hub's change feed.
  cursor INTEGER NOT NULL DEFAULT 0,
  -- Highest outbox seq the hub holds.
  acked_seq INTEGER NOT NULL DEFAULT 0,
  last_success_at INTEGER,
  last_error_code TEXT,
  last_error TEXT,
  last_error_at INTEGER,
  -- This kiosk's clock minus the hub's, seconds.
  clock_offset_s INTEGER,
  hub_config TEXT
) STRICT;

CREATE TABLE sync_rejected (
  seq INTEGER PRIMARY KEY,
  event_id TEXT NOT NULL,
  type TEXT NOT NULL,
  code TEXT NOT NULL,
  reason TEXT NOT NULL,
  at INTEGER NOT NULL
) STRICT;
`,
};
