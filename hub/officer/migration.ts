// Hub tables for officer decision numbers: one counter per number prefix (a region and a year), and
// one row per block handed to a device. Blocks come from the counter under its row lock, so several
// hub processes on one PostgreSQL never hand out overlapping ranges.
export const sql = `
CREATE TABLE decision_counters (
  prefix text PRIMARY KEY,
  next_n bigint NOT NULL
);
CREATE TABLE decision_blocks (
  block_id text PRIMARY KEY,
  device_id text NOT NULL,
  request_id text NOT NULL,
  region text NOT NULL,
  prefix text NOT NULL,
  width integer NOT NULL,
  first_n bigint NOT NULL,
  last_n bigint NOT NULL,
  created_at bigint NOT NULL,
  UNIQUE (device_id, request_id),
  UNIQUE (prefix, first_n)
);
CREATE INDEX decision_blocks_device ON decision_blocks (device_id, created_at)
`;
