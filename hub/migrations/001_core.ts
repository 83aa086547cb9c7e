// Hub core tables: devices and enrollment, the event log with its replay window, fines, bills,
// payments, voids, hub keys, config, and the change feed. Every feed position (fines.rev,
// changes.pos) comes from one sequence; writers take an advisory lock so positions commit in order.
export const sql = `
CREATE TABLE devices (
  id text PRIMARY KEY,
  name text NOT NULL,
  region text NOT NULL DEFAULT '',
  public_key text NOT NULL,
  enabled boolean NOT NULL DEFAULT true,
  last_seq bigint NOT NULL DEFAULT 0,
  last_hash text NOT NULL DEFAULT '${'0'.repeat(64)}',
  created_at bigint NOT NULL,
  last_seen_at bigint
);
CREATE TABLE enroll_codes (
  code text PRIMARY KEY,
  name text NOT NULL,
  region text NOT NULL DEFAULT '',
  created_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  used_at bigint,
  device_id text
);
CREATE TABLE events (
  device_id text NOT NULL,
  seq bigint NOT NULL,
  event_id text NOT NULL,
  type text NOT NULL,
  at bigint NOT NULL,
  payload text NOT NULL,
  prev_hash text NOT NULL,
  hash text NOT NULL,
  status text NOT NULL,
  reason text,
  received_at bigint NOT NULL,
  PRIMARY KEY (device_id, seq)
);
CREATE TABLE nonces (
  device_id text NOT NULL,
  nonce text NOT NULL,
  at bigint NOT NULL,
  PRIMARY KEY (device_id, nonce)
);
CREATE INDEX nonces_at ON nonces (at);
CREATE SEQUENCE feed_seq;
CREATE TABLE fines (
  decision_no text PRIMARY KEY,
  region text NOT NULL,
  plate text NOT NULL,
  vin6 text NOT NULL,
  status text NOT NULL,
  data jsonb NOT NULL,
  rev bigint NOT NULL,
  updated_at bigint NOT NULL
);
CREATE INDEX fines_region_rev ON fines (region, rev);
CREATE INDEX fines_plate ON fines (plate, vin6);
CREATE TABLE bills (
  bill_no text PRIMARY KEY,
  device_id text NOT NULL,
  decision_no text NOT NULL,
  amount_fen bigint NOT NULL,
  issued_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  token text NOT NULL,
  status text NOT NULL DEFAULT 'open',
  paid_txn text,
  created_at bigint NOT NULL
);
CREATE INDEX bills_decision ON bills (decision_no);
CREATE TABLE payments (
  channel text NOT NULL,
  txn_id text NOT NULL,
  bill_no text NOT NULL,
  amount_fen bigint NOT NULL,
  paid_at bigint NOT NULL,
  key_id text,
  token text,
  source text NOT NULL,
  status text NOT NULL,
  device_id text,
  created_at bigint NOT NULL,
  PRIMARY KEY (channel, txn_id)
);
CREATE INDEX payments_bill ON payments (bill_no);
CREATE TABLE voids (
  bill_no text PRIMARY KEY,
  reason text NOT NULL,
  at bigint NOT NULL,
  device_id text
);
CREATE TABLE hub_keys (
  key_id text PRIMARY KEY,
  public_key text NOT NULL,
  private_pem text NOT NULL,
  created_at bigint NOT NULL,
  retired_at bigint
);
CREATE TABLE config (
  key text PRIMARY KEY,
  value jsonb NOT NULL,
  updated_at bigint NOT NULL
);
CREATE TABLE changes (
  pos bigint PRIMARY KEY,
  kind text NOT NULL,
  region text,
  device_id text,
  data jsonb NOT NULL,
  created_at bigint NOT NULL
);
CREATE INDEX changes_device ON changes (device_id, pos);
CREATE INDEX changes_region ON changes (region, pos)
`;
