// One record of a refund's approval: who approved it and when live on the refund itself (pay_refunds,
// hub/pay/refunds.ts). The console's separate refund_approvals table (migration 7) held a second copy of
// who and when; its rows are folded into pay_refunds and the table is dropped.
export const sql = `
ALTER TABLE pay_refunds ADD COLUMN approved_at bigint;
UPDATE pay_refunds r SET approved_by = coalesce(r.approved_by, a.approved_by), approved_at = a.approved_at
  FROM refund_approvals a WHERE a.channel = r.channel AND a.txn_id = r.txn_id;
DROP TABLE refund_approvals
`;
