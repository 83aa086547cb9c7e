// Pay jobs and refunds through the channels, and reconciliation reports:
// - pay_jobs: durable background work (close a paid bill's other orders, execute a refund), claimed with
//   SKIP LOCKED by any hub process, retried with backoff, one row per (kind, key) so a job is made once.
// - pay_refunds gains the refund request number, its state and the channel's answer.
// - pay_reconciliations: one kept report per channel and day.
export const sql = `
CREATE TABLE pay_jobs (
  id bigserial PRIMARY KEY,
  kind text NOT NULL,
  job_key text NOT NULL,
  payload text NOT NULL,
  status text NOT NULL DEFAULT 'pending',
  attempts integer NOT NULL DEFAULT 0,
  next_at bigint NOT NULL,
  last_error text,
  created_at bigint NOT NULL,
  done_at bigint,
  UNIQUE (kind, job_key)
);
CREATE INDEX pay_jobs_due ON pay_jobs (next_at) WHERE status = 'pending';
ALTER TABLE pay_refunds ADD COLUMN out_refund_no text;
ALTER TABLE pay_refunds ADD COLUMN status text NOT NULL DEFAULT 'flagged';
ALTER TABLE pay_refunds ADD COLUMN refund_id text;
ALTER TABLE pay_refunds ADD COLUMN last_error text;
ALTER TABLE pay_refunds ADD COLUMN approved_by text;
ALTER TABLE pay_refunds ADD COLUMN done_at bigint;
CREATE UNIQUE INDEX pay_refunds_request ON pay_refunds (out_refund_no);
CREATE TABLE pay_reconciliations (
  bill_date text NOT NULL,
  channel text NOT NULL,
  report text NOT NULL,
  created_at bigint NOT NULL,
  PRIMARY KEY (bill_date, channel)
)
`;
