// Hub tables of the service for the traffic authority (migration 7): API keys and the log of their calls,
// fine revisions and import batches, the payments-and-refunds event feed with each consumer's acknowledged
// cursor, webhooks with their dead letters, and the operator console's accounts, sessions, audit log,
// refund approvals and device health.
//
// The feed is filled by triggers on payments and pay_refunds, so every path that records a payment (the
// pay page, a kiosk's push, the refund job) feeds it without knowing of it. The triggers take the feed's
// advisory lock (727002, the one every feed writer takes first) before taking a position, so positions
// commit in order and a consumer's cursor never skips an event. plpgsql bodies stay on one line: the
// migration runner splits statements at ";" + line end.
export const sql = `
ALTER TABLE fines ADD COLUMN source_rev bigint NOT NULL DEFAULT 0;
CREATE TABLE api_keys (
  id text PRIMARY KEY,
  name text NOT NULL,
  hash text NOT NULL,
  scopes text NOT NULL,
  created_at bigint NOT NULL,
  created_by text NOT NULL,
  revoked_at bigint,
  last_used_at bigint
);
CREATE TABLE api_calls (
  id bigserial PRIMARY KEY,
  key_id text,
  method text NOT NULL,
  route text NOT NULL,
  status integer NOT NULL,
  at bigint NOT NULL,
  ms integer NOT NULL
);
CREATE INDEX api_calls_key ON api_calls (key_id, id);
CREATE TABLE fine_batches (
  batch_id text PRIMARY KEY,
  owner text NOT NULL,
  state text NOT NULL,
  received bigint NOT NULL DEFAULT 0,
  applied bigint NOT NULL DEFAULT 0,
  unchanged bigint NOT NULL DEFAULT 0,
  refused bigint NOT NULL DEFAULT 0,
  refusals jsonb NOT NULL DEFAULT '[]',
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  finished_at bigint
);
CREATE SEQUENCE feed_events_seq;
CREATE TABLE feed_events (
  pos bigint PRIMARY KEY,
  event_id text NOT NULL UNIQUE,
  type text NOT NULL,
  data jsonb NOT NULL,
  created_at bigint NOT NULL
);
CREATE TABLE feed_consumers (
  key_id text PRIMARY KEY,
  acked bigint NOT NULL DEFAULT 0,
  acked_at bigint
);
CREATE FUNCTION fk_feed_event(t text, id text, d jsonb) RETURNS void LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_advisory_xact_lock(727002); INSERT INTO feed_events (pos, event_id, type, data, created_at) VALUES (nextval('feed_events_seq'), id, t, d, extract(epoch from clock_timestamp())::bigint) ON CONFLICT (event_id) DO NOTHING; END $$;
CREATE FUNCTION fk_payment_feed() RETURNS trigger LANGUAGE plpgsql AS $$ DECLARE dn text; t text; BEGIN SELECT decision_no INTO dn FROM bills WHERE bill_no = NEW.bill_no; t := CASE WHEN NEW.status = 'settled' THEN 'payment.settled' ELSE 'payment.refund_due' END; PERFORM fk_feed_event(t, t || ':' || NEW.channel || ':' || NEW.txn_id, jsonb_build_object('channel', NEW.channel, 'txnId', NEW.txn_id, 'billNo', NEW.bill_no, 'decisionNo', dn, 'amountFen', NEW.amount_fen, 'paidAt', NEW.paid_at, 'source', NEW.source, 'deviceId', NEW.device_id)); RETURN NULL; END $$;
CREATE TRIGGER payments_feed AFTER INSERT OR UPDATE OF status ON payments FOR EACH ROW EXECUTE FUNCTION fk_payment_feed();
CREATE FUNCTION fk_refund_feed() RETURNS trigger LANGUAGE plpgsql AS $$ DECLARE t text; BEGIN IF TG_OP = 'INSERT' THEN t := 'refund.requested'; ELSIF NEW.resolved_at IS NOT NULL AND OLD.resolved_at IS NULL THEN t := 'refund.resolved'; ELSE RETURN NULL; END IF; PERFORM fk_feed_event(t, t || ':' || NEW.channel || ':' || NEW.txn_id, jsonb_build_object('channel', NEW.channel, 'txnId', NEW.txn_id, 'billNo', NEW.bill_no, 'outTradeNo', NEW.out_trade_no, 'amountFen', NEW.amount_fen, 'reason', NEW.reason, 'resolvedAt', NEW.resolved_at)); RETURN NULL; END $$;
CREATE TRIGGER pay_refunds_feed AFTER INSERT OR UPDATE ON pay_refunds FOR EACH ROW EXECUTE FUNCTION fk_refund_feed();
CREATE TABLE webhooks (
  id text PRIMARY KEY,
  url text NOT NULL,
  secret text NOT NULL,
  enabled boolean NOT NULL DEFAULT true,
  cursor bigint NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  next_at bigint NOT NULL DEFAULT 0,
  last_error text,
  created_at bigint NOT NULL
);
CREATE TABLE webhook_dead (
  webhook_id text NOT NULL,
  pos bigint NOT NULL,
  event_id text NOT NULL,
  attempts integer NOT NULL,
  last_error text,
  state text NOT NULL DEFAULT 'dead',
  at bigint NOT NULL,
  replayed_at bigint,
  PRIMARY KEY (webhook_id, pos)
);
CREATE TABLE operators (
  id text PRIMARY KEY,
  name text NOT NULL,
  password_hash text NOT NULL,
  role text NOT NULL,
  created_at bigint NOT NULL,
  disabled_at bigint
);
CREATE TABLE operator_sessions (
  id_hash text PRIMARY KEY,
  operator_id text NOT NULL,
  csrf text NOT NULL,
  created_at bigint NOT NULL,
  expires_at bigint NOT NULL
);
CREATE TABLE audit_log (
  id bigserial PRIMARY KEY,
  at bigint NOT NULL,
  actor text NOT NULL,
  action text NOT NULL,
  target text,
  ok boolean NOT NULL,
  details jsonb NOT NULL DEFAULT '{}'
);
CREATE TABLE refund_approvals (
  channel text NOT NULL,
  txn_id text NOT NULL,
  approved_by text NOT NULL,
  approved_at bigint NOT NULL,
  PRIMARY KEY (channel, txn_id)
);
CREATE TABLE device_health (
  device_id text PRIMARY KEY,
  reported_at bigint NOT NULL,
  app_version text NOT NULL,
  queue_depth integer NOT NULL,
  printer_state text NOT NULL,
  clock_offset_s integer,
  data jsonb NOT NULL DEFAULT '{}'
)
`;
