// Migration 022: a receipt that failed because the printer was not ready (paper out, cover open, offline)
// is printed again by itself once the printer is ready; `auto_retries` bounds how often. Every copy of a
// receipt (a confirmation scanned again, a staff reprint) is recorded in `receipt_copies`: who asked, when,
// the job and how it ended. Copies asked for by scanning are capped per bill (main/payments/receipts.ts).
import type { Migration } from '../migrate.ts';

export const m022ReceiptCopies: Migration = {
  id: 22,
  name: 'receipt_copies',
  sql: `
ALTER TABLE receipts ADD COLUMN auto_retries INTEGER NOT NULL DEFAULT 0;

CREATE TABLE receipt_copies (
  id INTEGER PRIMARY KEY,
  bill_no TEXT NOT NULL REFERENCES bills (bill_no),
  asked_by TEXT NOT NULL CHECK (asked_by IN ('scan', 'staff')),
  staff_id TEXT,
  at INTEGER NOT NULL,
  job_id TEXT,
  outcome TEXT NOT NULL CHECK (outcome IN ('printing', 'printed', 'unverified', 'failed')),
  error_code TEXT
) STRICT;
CREATE INDEX receipt_copies_bill ON receipt_copies (bill_no, asked_by);
CREATE INDEX receipt_copies_at ON receipt_copies (at);
`,
};
