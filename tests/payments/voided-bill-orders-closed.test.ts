// Issue 11: a bill voided at the hub (hub bills.void) or at its kiosk (a pushed bill.voided) keeps
// its channel order open at Alipay / WeChat. bills.void only marks the orders close_requested_at, which
// nothing reads; a pushed void does not even mark them. Neither the pay jobs nor the scheduled query close
// them before the bill's expiry (only a fine paid by another bill queues close_orders).
// The payer still holding the QR (phone screen, printed bill) pays it, the channel takes the money and
// the hub can only flag a refund.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSimulatorKeys } from '../../hub/channels/simulator.ts';
import { ManualClock } from '../../protocol/time.ts';
import { streamUpsertFines } from '../../hub/integration/fines-upsert.ts';
import { enrollDevice, sampleFine, TestDevice } from '../hub/helpers.ts';
import { ALIPAY_UA, PLAIN_UA, openPayPage, startPayHub, type PayHubFixture } from '../payments/helpers.ts';

const T0 = Date.parse('2026-11-21T02:00:00Z');

describe('orders of a voided bill are closed at the channel', () => {
  let f: PayHubFixture;
  const clock = new ManualClock(T0);
  let dev: TestDevice;
  let n = 0;
  const decision = (): string => `1100000000000${String(++n + 700).padStart(5, '0')}`;

  beforeAll(async () => {
    f = await startPayHub('pglite', clock, generateSimulatorKeys());
    dev = new TestDevice('kiosk0atk', clock);
    await enrollDevice({ db: f.db, hub: f.hub, app: f.app, url: f.url, close: async () => undefined }, dev);
  });
  afterAll(async () => {
    await f?.close();
  });

  /** Everything the hub runs in the background, short of the bill's expiry. */
  async function background(): Promise<void> {
    clock.advance(5 * 60_000);
    await f.pay.work();
    await f.pay.whenIdle();
    await f.pay.sweep();
    await f.pay.work();
    await f.pay.whenIdle();
  }

  it('a bill voided at the hub: its open Alipay order is closed, the QR the payer holds no longer takes money', async () => {
    const decisionNo = decision();
    await f.hub.fines.importRows([sampleFine(decisionNo, '110000', { fineFen: 20000, decidedOn: '2026-11-20' })]);
    const b = dev.issueBill(decisionNo, 20000);
    const page = await openPayPage(`${f.url}/p/${b.token}`, ALIPAY_UA);
    expect(page.outTradeNo).toBeDefined();

    const v = await f.hub.bills.void(b.billNo, 'staff');
    expect(v.ok).toBe(true);
    await background();

    // The channel should no longer take money for a voided bill.
    const paid = await f.sim.pay('alipay', page.outTradeNo!);
    const refunds = await f.db.query('SELECT reason FROM pay_refunds WHERE bill_no = $1', [b.billNo]);
    expect({ paidAtChannel: paid.ok, refunds: refunds.rows }).toEqual({ paidAtChannel: false, refunds: [] });
  });

  it('a bill voided at the kiosk and pushed: its open order is closed, the QR the payer holds no longer takes money', async () => {
    const decisionNo = decision();
    await f.hub.fines.importRows([sampleFine(decisionNo, '110000', { fineFen: 20000, decidedOn: '2026-11-20' })]);
    const b = dev.issueBill(decisionNo, 20000);
    // The payer scans at once and keeps the Alipay cashier open; staff then void the bill at the kiosk.
    const page = await openPayPage(`${f.url}/p/${b.token}?channel=alipay`, PLAIN_UA);
    expect(page.outTradeNo).toBeDefined();
    dev.append('bill.voided', { billNo: b.billNo, reason: 'staff', at: Math.floor(clock.now() / 1000) });
    const pushed = await dev.push(f.url, dev.events);
    expect(pushed.status, JSON.stringify(pushed.json)).toBe(200);
    expect((await f.hub.bills.get(b.billNo))?.status).toBe('voided');
    await background();

    const paid = await f.sim.pay('alipay', page.outTradeNo!);
    const refunds = await f.db.query('SELECT reason FROM pay_refunds WHERE bill_no = $1', [b.billNo]);
    expect({ paidAtChannel: paid.ok, refunds: refunds.rows }).toEqual({ paidAtChannel: false, refunds: [] });
  });
  it('a fine cancelled through the API, or marked cancelled by a fines file: the open orders of its live bill are closed', async () => {
    for (const how of ['api', 'file'] as const) {
      const decisionNo = decision();
      const fine = sampleFine(decisionNo, '110000', { fineFen: 20000, decidedOn: '2026-11-20' });
      await f.hub.fines.importRows([fine]);
      const b = dev.issueBill(decisionNo, 20000);
      const page = await openPayPage(`${f.url}/p/${b.token}?channel=alipay`, PLAIN_UA);
      expect(page.outTradeNo).toBeDefined();
      if (how === 'api') {
        const t = await streamUpsertFines(
          f.db,
          (async function* () {
            yield { line: 1, op: 'cancel' as const, revision: 5, decisionNo };
          })(),
          { nowS: () => Math.floor(clock.now() / 1000) },
        );
        expect(t.applied).toBe(1);
      } else {
        const r = await f.hub.fines.importRows([{ ...fine, status: 'cancelled' }]);
        expect(r.ok).toBe(true);
      }
      await background();
      const paid = await f.sim.pay('alipay', page.outTradeNo!);
      const refunds = await f.db.query('SELECT reason FROM pay_refunds WHERE bill_no = $1', [b.billNo]);
      expect({ how, paidAtChannel: paid.ok, refunds: refunds.rows }).toEqual({ how, paidAtChannel: false, refunds: [] });
    }
  });
});
