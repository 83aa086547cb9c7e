// The change feed without a global lock (docs/scale.md, "The change feed"). Writers no longer take a
// position when they write: a fine they change gets rev NULL, a change or an integration event gets pos NULL,
// each with `pend`, the order in which it was written (feed_pend_seq). Positions are handed out after commit
// by fk_feed_sequence (hub/feed/order.ts), one run at a time, to committed rows only, in `pend` order; so
// positions become visible in increasing order and a reader that has read up to p never meets a later row
// below p. Settlements run in parallel across hub processes; only the short sequencing runs take turns.
// Order within a run is `pend` order, so a change caused by an earlier commit comes after it; the one exception
// is a fine some transaction holds locked at that moment, which keeps its place until the next run.
/** The advisory lock of sequencing runs, per schema (two-key form), so test schemas do not wait on each other. */
export const SEQUENCER_LOCK_ARGS =
  '727011, (SELECT oid::integer FROM pg_namespace WHERE nspname = current_schema())';

// One line: the migration runner splits statements at a semicolon that ends a line.
const SEQUENCE_FN = [
  'CREATE FUNCTION fk_feed_sequence(max_rows integer, wait_ms integer) RETURNS bigint LANGUAGE plpgsql AS $$',
  'DECLARE n bigint := 0; m bigint := 0;',
  'BEGIN',
  'IF NOT EXISTS (SELECT 1 FROM fines WHERE rev IS NULL) AND NOT EXISTS (SELECT 1 FROM changes WHERE pos IS NULL)',
  'AND NOT EXISTS (SELECT 1 FROM feed_events WHERE pos IS NULL) THEN RETURN 0; END IF;',
  "PERFORM set_config('lock_timeout', wait_ms || 'ms', true);",
  'BEGIN',
  `PERFORM pg_advisory_xact_lock(${SEQUENCER_LOCK_ARGS});`,
  'EXCEPTION WHEN lock_not_available THEN RETURN -1;',
  'END;',
  // A fine a transaction is changing right now is left for a later run (with its newer version); waiting for
  // its row lock would hold up every reader behind one writer.
  'WITH pf AS MATERIALIZED (',
  'SELECT decision_no, pend FROM fines WHERE rev IS NULL ORDER BY pend LIMIT max_rows FOR UPDATE SKIP LOCKED),',
  'p AS MATERIALIZED (',
  "SELECT t, k, pend, nextval('feed_seq') AS pos FROM (",
  "SELECT 'f' AS t, decision_no AS k, pend FROM pf",
  "UNION ALL SELECT 'c', NULL, pend FROM changes WHERE pos IS NULL",
  'ORDER BY pend LIMIT max_rows) s),',
  'uf AS (UPDATE fines f SET rev = p.pos FROM p',
  "WHERE p.t = 'f' AND f.decision_no = p.k AND f.rev IS NULL AND f.pend = p.pend RETURNING 1),",
  "uc AS (UPDATE changes c SET pos = p.pos FROM p WHERE p.t = 'c' AND c.pend = p.pend AND c.pos IS NULL RETURNING 1)",
  'SELECT (SELECT count(*) FROM uf) + (SELECT count(*) FROM uc) INTO n;',
  'WITH p AS MATERIALIZED (',
  "SELECT pend, nextval('feed_events_seq') AS pos FROM (",
  'SELECT pend FROM feed_events WHERE pos IS NULL ORDER BY pend LIMIT max_rows) s),',
  'ue AS (UPDATE feed_events e SET pos = p.pos FROM p WHERE e.pend = p.pend AND e.pos IS NULL RETURNING 1)',
  'SELECT count(*) FROM ue INTO m;',
  'RETURN n + m;',
  'END $$',
].join(' ');

export const sql = `
CREATE SEQUENCE feed_pend_seq;
ALTER TABLE fines ALTER COLUMN rev DROP NOT NULL;
ALTER TABLE fines ADD COLUMN pend bigint NOT NULL DEFAULT nextval('feed_pend_seq');
CREATE INDEX fines_pending ON fines (pend) WHERE rev IS NULL;
ALTER TABLE changes DROP CONSTRAINT changes_pkey;
ALTER TABLE changes ALTER COLUMN pos DROP NOT NULL;
ALTER TABLE changes ADD COLUMN pend bigint NOT NULL DEFAULT nextval('feed_pend_seq');
CREATE UNIQUE INDEX changes_pos ON changes (pos);
CREATE UNIQUE INDEX changes_pend ON changes (pend);
CREATE INDEX changes_pending ON changes (pend) WHERE pos IS NULL;
ALTER TABLE feed_events DROP CONSTRAINT feed_events_pkey;
ALTER TABLE feed_events ALTER COLUMN pos DROP NOT NULL;
ALTER TABLE feed_events ADD COLUMN pend bigint NOT NULL DEFAULT nextval('feed_pend_seq');
CREATE UNIQUE INDEX feed_events_pos ON feed_events (pos);
CREATE UNIQUE INDEX feed_events_pend ON feed_events (pend);
CREATE INDEX feed_events_pending ON feed_events (pend) WHERE pos IS NULL;
CREATE OR REPLACE FUNCTION fk_feed_event(t text, id text, d jsonb) RETURNS void LANGUAGE plpgsql AS $$ BEGIN INSERT INTO feed_events (event_id, type, data, created_at) VALUES (id, t, d, extract(epoch from clock_timestamp())::bigint) ON CONFLICT (event_id) DO NOTHING; END $$;
${SEQUENCE_FN}
`;
