// Money rules on the kiosk (issue 10): a hub key's retirement time (a retired key verifies only payments
// made before it), and the pulled changes the kiosk could not apply, kept with their reason for staff.
import type { Migration } from '../migrate.ts';

export const m006Money: Migration = {
  id: 6,
  name: 'money',
  sql: `
ALTER TABLE hub_keys ADD COLUMN retired_at INTEGER;

CREATE TABLE sync_refused_changes (
  id INTEGER PRIMARY KEY,
  -- Position of the change in the hub's feed.
  cursor INTEGER NOT NULL,
  kind TEXT NOT NULL,
  code TEXT NOT NULL,
  reason TEXT NOT NULL,
  -- The change as received (JSON), so nothing is lost.
  change TEXT NOT NULL,
  at INTEGER NOT NULL
) STRICT;
CREATE INDEX sync_refused_changes_cursor ON sync_refused_changes (cursor);
`,
};
