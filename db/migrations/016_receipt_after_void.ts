// Migration 016: a payment the hub holds wins over a void made here offline (issue 10, case 8). The bill
// becomes paid, and its receipt must become due like any other payment's: the trigger of 008 now also
// fires for a bill voided here. A scanned confirmation never reaches a voided bill (protocol/acceptance.ts
// refuses it before the insert), so only the hub's payment takes this path.
import type { Migration } from '../migrate.ts';

export const m016ReceiptAfterVoid: Migration = {
  id: 16,
  name: 'receipt_after_void',
  sql: `
DROP TRIGGER payments_receipt_due;
-- Only a payment that closes a bill of this kiosk not yet paid: a bill restored already paid prints nothing.
CREATE TRIGGER payments_receipt_due AFTER INSERT ON payments
WHEN (SELECT status FROM bills WHERE bill_no = NEW.bill_no) IN ('live', 'expired', 'voided')
BEGIN
  INSERT INTO receipts (bill_no, state, due_at, updated_at)
  VALUES (NEW.bill_no, 'due', NEW.recorded_at, NEW.recorded_at)
  ON CONFLICT (bill_no) DO NOTHING;
END;
`,
};
