// Core kiosk schema: device identity, settings, fines, bills, payments, trusted hub keys, the outbox.
import type { Migration } from '../migrate.ts';

export const m001Core: Migration = {
  id: 1,
  name: 'core',
  sql: `
CREATE TABLE device (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  device_id TEXT NOT NULL,
  public_key TEXT NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;

CREATE TABLE fines (
  decision_no TEXT PRIMARY KEY,
  region TEXT NOT NULL,
  plate TEXT NOT NULL,
  vin6 TEXT NOT NULL,
  violation_code TEXT NOT NULL,
  description TEXT NOT NULL,
  description_en TEXT,
  place TEXT NOT NULL,
  occurred_at TEXT NOT NULL,
  decided_on TEXT NOT NULL,
  fine_fen INTEGER NOT NULL CHECK (fine_fen >= 0),
  points INTEGER NOT NULL CHECK (points BETWEEN 0 AND 12),
  status TEXT NOT NULL CHECK (status IN ('unpaid', 'paid', 'cancelled')),
  updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX fines_plate_vin6 ON fines (plate, vin6);

CREATE TABLE bills (
  bill_no TEXT PRIMARY KEY,
  seq INTEGER NOT NULL UNIQUE,
  decision_no TEXT NOT NULL REFERENCES fines (decision_no),
  fine_fen INTEGER NOT NULL CHECK (fine_fen >= 0),
  late_fee_fen INTEGER NOT NULL CHECK (late_fee_fen >= 0),
  amount_fen INTEGER NOT NULL CHECK (amount_fen = fine_fen + late_fee_fen),
  issued_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  token TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('live', 'paid', 'voided', 'expired')),
  void_reason TEXT,
  closed_at INTEGER
) STRICT;
-- At most one live bill per fine, enforced by the database itself.
CREATE UNIQUE INDEX bills_one_live ON bills (decision_no) WHERE status = 'live';
CREATE INDEX bills_issued_at ON bills (issued_at);
CREATE INDEX bills_live_expiry ON bills (expires_at) WHERE status = 'live';

CREATE TABLE payments (
  txn_id TEXT PRIMARY KEY,
  bill_no TEXT NOT NULL REFERENCES bills (bill_no),
  channel TEXT NOT NULL CHECK (channel IN ('alipay', 'wechat')),
  amount_fen INTEGER NOT NULL CHECK (amount_fen >= 0),
  paid_at INTEGER NOT NULL,
  source TEXT NOT NULL CHECK (source IN ('scan', 'hub')),
  token TEXT,
  recorded_at INTEGER NOT NULL
) STRICT;
CREATE INDEX payments_bill ON payments (bill_no);
CREATE INDEX payments_paid_at ON payments (paid_at);

CREATE TABLE hub_keys (
  key_id TEXT PRIMARY KEY,
  public_key TEXT NOT NULL,
  added_at INTEGER NOT NULL
) STRICT;

CREATE TABLE outbox (
  seq INTEGER PRIMARY KEY,
  event_id TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  at INTEGER NOT NULL,
  payload TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL,
  pushed INTEGER NOT NULL DEFAULT 0
) STRICT;
`,
};
