// Migration 017: a receipt sent to a printer that cannot prove printing is `unverified`, not `printed`,
// until a person says the paper came out (printConfirm). `job_id` then names the job to confirm.
// SQLite cannot change a CHECK: the table is rebuilt with its rows, and the trigger that makes a receipt due
// (008, as 016 left it: a hub payment after an offline void too) is dropped and made again around it.
import type { Migration } from '../migrate.ts';

export const m017ReceiptUnverified: Migration = {
  id: 17,
  name: 'receipt_unverified',
  sql: `
DROP TRIGGER payments_receipt_due;
CREATE TABLE receipts_v17 (
  bill_no TEXT PRIMARY KEY REFERENCES bills (bill_no),
  state TEXT NOT NULL CHECK (state IN ('due', 'printing', 'printed', 'unverified', 'failed')),
  due_at INTEGER NOT NULL,
  job_id TEXT,
  error_code TEXT,
  updated_at INTEGER NOT NULL
) STRICT;
INSERT INTO receipts_v17 (bill_no, state, due_at, job_id, error_code, updated_at)
SELECT bill_no, state, due_at, job_id, error_code, updated_at FROM receipts;
DROP TABLE receipts;
ALTER TABLE receipts_v17 RENAME TO receipts;
CREATE INDEX receipts_state ON receipts (state, due_at);
CREATE INDEX receipts_job ON receipts (job_id);

CREATE TRIGGER payments_receipt_due AFTER INSERT ON payments
WHEN (SELECT status FROM bills WHERE bill_no = NEW.bill_no) IN ('live', 'expired', 'voided')
BEGIN
  INSERT INTO receipts (bill_no, state, due_at, updated_at)
  VALUES (NEW.bill_no, 'due', NEW.recorded_at, NEW.recorded_at)
  ON CONFLICT (bill_no) DO NOTHING;
END;
`,
};
