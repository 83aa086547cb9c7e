// Migration 008: the receipt follows the payment. A payment recorded for a bill that was still open here
// (by a scanned confirmation or from the hub) makes its receipt due, in the same transaction, by trigger:
// whatever screen is showing, the backend prints each due receipt once (main/payments/receipts.ts).
// Also the reason a bill was voided by staff, kept for the shift report.
import type { Migration } from '../migrate.ts';

export const m008Receipts: Migration = {
  id: 8,
  name: 'receipts',
  sql: `
CREATE TABLE receipts (
  bill_no TEXT PRIMARY KEY REFERENCES bills (bill_no),
  state TEXT NOT NULL CHECK (state IN ('due', 'printing', 'printed', 'failed')),
  due_at INTEGER NOT NULL,
  job_id TEXT,
  error_code TEXT,
  updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX receipts_state ON receipts (state, due_at);

-- Only a payment that closes an open bill of this kiosk: a bill restored already paid prints nothing.
CREATE TRIGGER payments_receipt_due AFTER INSERT ON payments
WHEN (SELECT status FROM bills WHERE bill_no = NEW.bill_no) IN ('live', 'expired')
BEGIN
  INSERT INTO receipts (bill_no, state, due_at, updated_at)
  VALUES (NEW.bill_no, 'due', NEW.recorded_at, NEW.recorded_at)
  ON CONFLICT (bill_no) DO NOTHING;
END;

CREATE TABLE void_reasons (
  bill_no TEXT PRIMARY KEY REFERENCES bills (bill_no),
  reason TEXT NOT NULL CHECK (length(reason) BETWEEN 1 AND 200),
  staff_id TEXT NOT NULL,
  voided_at INTEGER NOT NULL
) STRICT;
`,
};
