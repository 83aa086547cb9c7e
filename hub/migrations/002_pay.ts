// Pay page tables: channel orders (one open order per bill and channel, reused on a second scan),
// the log of verified notifications, and payments flagged for refund (a second payment of a paid
// bill, or money taken for a bill that can no longer be settled).
export const sql = `
CREATE TABLE pay_orders (
  out_trade_no text PRIMARY KEY,
  bill_no text NOT NULL,
  channel text NOT NULL,
  amount_fen bigint NOT NULL,
  expires_at bigint NOT NULL,
  pay_url text,
  status text NOT NULL DEFAULT 'open',
  txn_id text,
  created_at bigint NOT NULL,
  url_at bigint NOT NULL DEFAULT 0,
  checked_at bigint NOT NULL DEFAULT 0,
  settled_at bigint
);
CREATE UNIQUE INDEX pay_orders_one_open ON pay_orders (bill_no, channel) WHERE status = 'open';
CREATE INDEX pay_orders_bill ON pay_orders (bill_no);
CREATE INDEX pay_orders_due ON pay_orders (checked_at) WHERE status = 'open';
CREATE TABLE pay_notifications (
  id bigserial PRIMARY KEY,
  channel text NOT NULL,
  out_trade_no text NOT NULL,
  txn_id text NOT NULL,
  amount_fen bigint NOT NULL,
  source text NOT NULL,
  outcome text NOT NULL,
  received_at bigint NOT NULL
);
CREATE INDEX pay_notifications_order ON pay_notifications (out_trade_no);
CREATE TABLE pay_refunds (
  channel text NOT NULL,
  txn_id text NOT NULL,
  bill_no text NOT NULL,
  out_trade_no text NOT NULL,
  amount_fen bigint NOT NULL,
  reason text NOT NULL,
  created_at bigint NOT NULL,
  resolved_at bigint,
  PRIMARY KEY (channel, txn_id)
)
`;
