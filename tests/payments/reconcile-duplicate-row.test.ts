// Issue 11, reconciliation: a statement that lists the same channel transaction (or refund) twice is
// never counted as two matched payments: the repeated row is reported channel-only (STATEMENT_DUPLICATE),
// so the operator sees a statement whose total exceeds the hub's.
import { expect, it } from 'vitest';
import { reconcileRows } from '../../hub/pay/reconcile.ts';
import type { ChannelAdapter, StatementRow } from '../../hub/channels/types.ts';
import type { HubQueryable } from '../../hub/db.ts';
import { ok } from '../../protocol/result.ts';

const DAY = '2026-11-21';
const AT = Date.parse('2026-11-21T12:00:00+08:00') / 1000;
const TXN = '2026112122001400000000000001';

/** The hub's side of the day as the reconciler reads it: one settled Alipay payment of 20000 fen. */
const db = {
  async query(sql: string) {
    if (/FROM payments p/.test(sql) && /UNION ALL/.test(sql))
      return { rows: [{ txn_id: TXN, amount_fen: 20000, out_trade_no: 'B_1_A0001' }], rowCount: 1 };
    if (/FROM payments WHERE channel = \$1 AND txn_id = \$2/.test(sql))
      return { rows: [{ amount_fen: 20000 }], rowCount: 1 };
    return { rows: [], rowCount: 0 };
  },
} as unknown as HubQueryable;

it('a transaction listed twice on the statement is not matched twice', async () => {
  const row: StatementRow = { kind: 'payment', outTradeNo: 'B_1_A0001', txnId: TXN, amountFen: 20000, at: AT };
  const settled: string[] = [];
  const report = await reconcileRows(
    {
      db,
      adapter: { channel: 'alipay' } as ChannelAdapter,
      now: () => AT + 86_400,
      settle: async (_c, p) => {
        settled.push(p.txnId);
        return ok('settled');
      },
    },
    DAY,
    [row, { ...row }],
  );
  expect(report.statement).toMatchObject({ payments: 2, paymentsFen: 40000 });
  const flagged = report.channelOnly.length + report.amountDiffs.length;
  expect({ matched: report.matched.payments, flagged, settled }).toEqual({ matched: 1, flagged: 1, settled: [] });
});
