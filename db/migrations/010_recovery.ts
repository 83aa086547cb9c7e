// Recovery from a database that went back in time (a restored copy, a lost -wal): what the hub holds of
// this device, when the kiosk noticed it is behind, the feed epoch its pull cursor belongs to, the
// lowest bill sequence still free after a recovery, and the local events set aside because the hub
// holds other events under their numbers (kept for staff, never pushed, never dropped).
import type { Migration } from '../migrate.ts';

export const m010Recovery: Migration = {
  id: 10,
  name: 'recovery',
  sql: `
ALTER TABLE sync_state ADD COLUMN hub_device_seq INTEGER;
ALTER TABLE sync_state ADD COLUMN rolled_back_at INTEGER;
ALTER TABLE sync_state ADD COLUMN feed_epoch TEXT;
ALTER TABLE sync_state ADD COLUMN bill_seq_floor INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_state ADD COLUMN recovered_at INTEGER;

CREATE TABLE recovery_orphans (
  seq INTEGER NOT NULL,
  event_id TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  at INTEGER NOT NULL,
  payload TEXT NOT NULL,
  hash TEXT NOT NULL,
  set_aside_at INTEGER NOT NULL
) STRICT;
`,
};
