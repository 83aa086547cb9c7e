// Issue 11, "nothing lost: restored backup": a genuine, verified notification for an out_trade_no the hub
// does not hold (its database restored from a backup taken before the payer scanned) is kept: the
// out_trade_no names the bill, so the order is rebuilt from the stored bill and the payment settled; when
// the hub does not hold the bill either, the payment is kept and flagged for refund. Never dropped.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateSimulatorKeys } from '../../hub/channels/simulator.ts';
import { ManualClock } from '../../protocol/time.ts';
import { enrollDevice, sampleFine, TestDevice } from '../hub/helpers.ts';
import { ALIPAY_UA, openPayPage, startPayHub, type PayHubFixture } from '../payments/helpers.ts';

const T0 = Date.parse('2026-11-21T02:00:00Z');
let f: PayHubFixture;
const clock = new ManualClock(T0);
const dev = new TestDevice('kiosk0rst', clock);

beforeAll(async () => {
  f = await startPayHub('pglite', clock, generateSimulatorKeys());
  await enrollDevice({ db: f.db, hub: f.hub, app: f.app, url: f.url, close: async () => undefined }, dev);
});
afterAll(async () => f?.close());

it('a verified payment for an order the restored hub does not hold is kept, not dropped', async () => {
  const decisionNo = '220000000000088801';
  await f.hub.fines.importRows([sampleFine(decisionNo, '110000', { fineFen: 20000, decidedOn: '2026-11-20' })]);
  const b = dev.issueBill(decisionNo, 20000);
  const page = await openPayPage(`${f.url}/p/${b.token}`, ALIPAY_UA);
  expect(page.outTradeNo).toBeDefined();
  // The hub's storage goes back to a backup taken before the scan: the order row is gone.
  await f.db.query('DELETE FROM pay_orders WHERE bill_no = $1', [b.billNo]);

  const paid = await f.sim.pay('alipay', page.outTradeNo!);
  expect(paid.ok).toBe(true);
  const txn = paid.txnId!;
  const kept = {
    payments: (await f.db.query('SELECT status FROM payments WHERE txn_id = $1', [txn])).rows.length,
    refunds: (await f.db.query('SELECT reason FROM pay_refunds WHERE txn_id = $1', [txn])).rows.length,
    notifications: (await f.db.query('SELECT outcome FROM pay_notifications WHERE txn_id = $1', [txn])).rows.length,
  };
  expect(kept.payments + kept.refunds + kept.notifications, JSON.stringify({ ack: paid.deliveries[0]?.body, kept })).toBeGreaterThan(0);
  expect(paid.deliveries[0]?.body).toBe('success');
  expect((await f.hub.bills.get(b.billNo))?.status).toBe('paid');
});

it('a verified payment for a bill the restored hub does not hold either is kept and flagged for refund', async () => {
  const decisionNo = '220000000000088802';
  await f.hub.fines.importRows([sampleFine(decisionNo, '110000', { fineFen: 20000, decidedOn: '2026-11-20' })]);
  const b = dev.issueBill(decisionNo, 20000);
  const page = await openPayPage(`${f.url}/p/${b.token}`, ALIPAY_UA);
  expect(page.outTradeNo).toBeDefined();
  await f.db.query('DELETE FROM pay_orders WHERE bill_no = $1', [b.billNo]);
  await f.db.query('DELETE FROM bills WHERE bill_no = $1', [b.billNo]);

  const paid = await f.sim.pay('alipay', page.outTradeNo!);
  expect(paid.ok).toBe(true);
  expect(paid.deliveries[0]?.body).toBe('success');
  const refunds = await f.db.query<{ reason: string; amount_fen: number }>(
    'SELECT reason, amount_fen FROM pay_refunds WHERE txn_id = $1',
    [paid.txnId],
  );
  expect(refunds.rows.map((r) => ({ reason: r.reason, amountFen: Number(r.amount_fen) }))).toEqual([
    { reason: 'BILL_NOT_FOUND', amountFen: 20000 },
  ]);
});
