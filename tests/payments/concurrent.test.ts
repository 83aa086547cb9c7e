// A fine paid once under a real race (issue 10), on PostgreSQL: two kiosks each print a bill for the same
// fine, one payer pays bill A in Alipay and another pays bill B in WeChat Pay, and both channels'
// notifications reach the hub at the same moment. Exactly one payment is kept as the fine's, the other
// is flagged for refund with its amount (what `hub pay refunds` lists), and after their sync one kiosk
// holds its bill paid and the other its bill voided.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSimulatorKeys } from '../../hub/channels/simulator.ts';
import { listRefunds } from '../../hub/pay/refunds.ts';
import { openKiosk, type Kiosk } from '../../main/kiosk.ts';
import { enroll, SyncEngine } from '../../main/sync/engine.ts';
import { ManualClock } from '../../protocol/time.ts';
import { sampleFine } from '../hub/helpers.ts';
import { ALIPAY_UA, WECHAT_UA, openPayPage, startPayHub, type PayHubFixture } from './helpers.ts';

const T0 = Date.parse('2026-11-21T02:00:00Z');
const FINE = '110000000000055501';

// Row locks across connections are what this proves; PGlite runs one connection, so it has no race to show.
describe.skipIf(!process.env.DATABASE_URL)('one fine, two bills, two channels paid at once on PostgreSQL', () => {
  let f: PayHubFixture;
  const clock = new ManualClock(T0);
  const kiosks: { kiosk: Kiosk; engine: SyncEngine; dir: string }[] = [];

  beforeAll(async () => {
    f = await startPayHub('postgres', clock, generateSimulatorKeys());
    await f.hub.fines.importRows([sampleFine(FINE, '110000', { decidedOn: '2026-11-20' })]);
    for (let i = 0; i < 2; i++) {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'fk-race-'));
      const kiosk = openKiosk({ dataDir: dir, clock });
      const code = await f.hub.devices.add({ name: `Hall ${i}`, region: '110000' });
      if (!code.ok) throw new Error('device add');
      expect((await enroll(kiosk, { hubUrl: f.url, code: code.value.code })).ok).toBe(true);
      const engine = new SyncEngine(kiosk, { pullWaitSeconds: 0, idlePollMs: 50 });
      expect((await engine.pullAll()).ok).toBe(true);
      kiosks.push({ kiosk, engine, dir });
    }
  });
  afterAll(async () => {
    for (const k of kiosks) {
      await k.engine.stop();
      k.kiosk.close();
      rmSync(k.dir, { recursive: true, force: true });
    }
    await f?.close();
  });

  it('keeps exactly one payment, flags the other with its amount, and every kiosk ends paid or voided', async () => {
    const bills = kiosks.map((k) => {
      const b = k.kiosk.bills.issue(FINE);
      if (!b.ok) throw new Error(b.error.message);
      return b.value;
    });
    const [a, b] = bills as [(typeof bills)[0], (typeof bills)[0]];
    // The pay page opens one order per fine at a time (FINE_PAYMENT_PENDING). Two pages opened in the
    // same instant can both pass that check; this stands for it: the WeChat order is recorded closed at
    // the hub (as after a close the channel never received), so the Alipay page opens too, and the
    // channel still takes the WeChat payment.
    const wpage = await openPayPage(b.url, WECHAT_UA);
    expect(wpage.outTradeNo).toBeDefined();
    await f.db.query("UPDATE pay_orders SET status = 'closed' WHERE out_trade_no = $1", [wpage.outTradeNo]);
    const apage = await openPayPage(a.url, ALIPAY_UA);
    expect(apage.outTradeNo).toBeDefined();

    // Both payers confirm at once; each channel's signed notification is posted to the hub concurrently.
    const [pa, pw] = await Promise.all([
      f.sim.pay('alipay', apage.outTradeNo!),
      f.sim.pay('wechat', wpage.outTradeNo!),
    ]);
    expect(pa.ok && pw.ok).toBe(true);
    // Both acknowledged as received (Alipay: 200 `success`; WeChat Pay v3: 2xx): neither channel retries.
    for (const d of [...pa.deliveries, ...pw.deliveries]) expect([200, 204]).toContain(d.status);

    const pays = (
      await f.db.query<{ bill_no: string; txn_id: string; status: string }>(
        'SELECT bill_no, txn_id, status FROM payments ORDER BY txn_id',
      )
    ).rows;
    const settled = pays.filter((p) => p.status === 'settled');
    expect(settled).toHaveLength(1);
    const winner = settled[0]!;
    const loserTxn = winner.txn_id === pa.txnId ? pw.txnId! : pa.txnId!;
    const loserBill = winner.bill_no === a.billNo ? b.billNo : a.billNo;
    expect([a.billNo, b.billNo]).toContain(winner.bill_no);

    const refunds = await listRefunds(f.db);
    expect(refunds.map((r) => [r.txnId, r.billNo, r.amountFen])).toEqual([[loserTxn, loserBill, a.amountFen]]);
    expect((await f.hub.bills.get(winner.bill_no))?.status).toBe('paid');
    expect((await f.hub.bills.get(loserBill))?.status).toBe('voided');
    const fine = await f.db.query<{ status: string }>('SELECT status FROM fines WHERE decision_no = $1', [FINE]);
    expect(fine.rows[0]!.status).toBe('paid');

    // Every kiosk after its sync: the winner's bill paid with the kept payment, the other voided.
    for (const k of kiosks) expect((await k.engine.pullAll()).ok).toBe(true);
    for (const [i, bill] of bills.entries()) {
      const held = kiosks[i]!.kiosk.bills.get(bill.billNo);
      if (!held.ok) throw new Error(held.error.message);
      if (bill.billNo === winner.bill_no) {
        expect(held.value.status).toBe('paid');
        expect(held.value.payment?.txnId).toBe(winner.txn_id);
      } else {
        expect(held.value.status).toBe('voided');
      }
    }
  });
});
