// Money rules enforced by the hub (issue 10): one bill-state vocabulary with the kiosk ('open' becomes
// 'live'), the security log of everything a device or a payer was refused, payments kept but flagged for
// refund with the amount to return, and channel orders of bills voided because their fine was paid
// elsewhere, marked to be closed by the channels' job.
export const sql = `
UPDATE bills SET status = 'live' WHERE status = 'open';
ALTER TABLE bills ALTER COLUMN status SET DEFAULT 'live';
CREATE INDEX bills_decision_status ON bills (decision_no, status);
CREATE TABLE security_log (
  id bigserial PRIMARY KEY,
  at bigint NOT NULL,
  device_id text,
  source text NOT NULL,
  code text NOT NULL,
  reason text NOT NULL,
  event_seq bigint,
  event_type text,
  subject text
);
CREATE INDEX security_log_at ON security_log (at);
CREATE INDEX security_log_device ON security_log (device_id, at);
ALTER TABLE payments ADD COLUMN refund_fen bigint;
ALTER TABLE payments ADD COLUMN refund_reason text;
ALTER TABLE pay_orders ADD COLUMN close_requested_at bigint;
ALTER TABLE pay_orders ADD COLUMN close_reason text;
CREATE INDEX pay_orders_close_requested ON pay_orders (close_requested_at) WHERE status = 'open' AND close_requested_at IS NOT NULL
`;
