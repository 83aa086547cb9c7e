// Several hub processes on one PostgreSQL: the same device pushing through two hubs at once still lands
// each (device, seq) exactly once, a change written through one hub wakes a long poll held by the other, and
// two hubs racing to settle payments of one fine pay it once (issue 10).
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHubApp } from '../../hub/app.ts';
import { openHubDb, type HubDb } from '../../hub/db.ts';
import { createHubService, type HubService } from '../../hub/service/index.ts';
import { listRefunds } from '../../hub/pay/refunds.ts';
import { enrollDevice, sampleFine, TestDevice, type TestHub } from './helpers.ts';

const url = process.env.DATABASE_URL;
type SettleOutcome = { status: 'settled' | 'duplicate' | 'refund'; token?: string; reason?: string };

// Only PostgreSQL admits several processes; PGlite is single-process by design.
describe.skipIf(!url)('two hubs on one PostgreSQL', () => {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const hubs: { db: HubDb; hub: HubService; url: string; close(): Promise<void> }[] = [];
  beforeAll(async () => {
    for (let i = 0; i < 2; i++) {
      const db = await openHubDb({ databaseUrl: url!, schema });
      const hub = createHubService({ db });
      const app = await buildHubApp({ hub, logger: pino({ level: 'silent' }), closeGraceMs: 200 });
      await app.listen({ port: 0, host: '127.0.0.1' });
      const a = app.server.address();
      hubs.push({
        db,
        hub,
        url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`,
        close: async () => {
          await app.close();
          await db.close();
        },
      });
    }
  });
  afterAll(async () => {
    for (const h of hubs) await h.close();
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query(`DROP SCHEMA ${schema} CASCADE`);
    await c.end();
  });

  it('applies each event once when batches race through both hubs', async () => {
    const dev = new TestDevice('kioskmulti1');
    await enrollDevice(hubs[0] as unknown as TestHub, dev);
    for (let i = 0; i < 400; i++)
      dev.append('print.job', { jobId: `j${i}`, kind: 'bill', ref: 'R', state: 'printed' });
    // Every batch sent to both hubs at once, twice over; the device row lock sorts them out.
    for (let from = 0; from < 400; from += 50) {
      const batch = dev.events.slice(from, from + 50);
      const rs = await Promise.all([
        dev.push(hubs[0]!.url, batch),
        dev.push(hubs[1]!.url, batch),
        dev.push(hubs[1]!.url, batch),
      ]);
      expect(rs.every((r) => r.status === 200)).toBe(true);
      expect(rs.reduce((s, r) => s + r.json.applied, 0)).toBe(50);
    }
    const held = await hubs[1]!.hub.eventsOf(dev.id);
    expect(held.map((e) => e.seq)).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
    expect((await hubs[0]!.hub.verifyChains()).broken).toEqual([]);
  });

  it('wakes a long poll on one hub when the other writes a change', async () => {
    const dev = new TestDevice('kioskmulti2');
    await enrollDevice(hubs[0] as unknown as TestHub, dev);
    let cursor = (await dev.request(hubs[0]!.url, 'GET', '/v1/sync/pull?cursor=0')).json.cursor as number;
    // A poll may also be woken by a notification from before it (enrollment's own writes): it then answers
    // without the fine and is held again, as a kiosk does. The fine must come in a poll held while the other
    // hub wrote it (an expired poll answers empty only after its 60 s).
    for (let i = 0; i < 4; i++) {
      const no = `10000000000000007${i}`;
      const waiting = dev.request(hubs[0]!.url, 'GET', `/v1/sync/pull?cursor=${cursor}&wait=60`);
      await new Promise((r) => setTimeout(r, 200));
      await hubs[1]!.hub.fines.importRows([sampleFine(no)]);
      const r = await waiting;
      const got = (r.json.changes as { fine?: { decisionNo: string } }[]).map((c) => c.fine?.decisionNo);
      if (got.includes(no)) return;
      cursor = r.json.cursor as number;
    }
    throw new Error('no long poll was woken by the other hub’s write');
  });

  it('pays a fine once when both hubs settle its two bills, and the same notification, at the same moment', async () => {
    const a = new TestDevice('kioskracea1');
    const b = new TestDevice('kioskraceb1');
    await enrollDevice(hubs[0] as unknown as TestHub, a);
    await enrollDevice(hubs[1] as unknown as TestHub, b);
    const day = new Date().toISOString().slice(0, 10);
    const fines = Array.from({ length: 8 }, (_, i) => `1100000000009900${String(i).padStart(2, '0')}`);
    await hubs[0]!.hub.fines.importRows(fines.map((no) => sampleFine(no, '110000', { decidedOn: day })));
    // Each fine has a bill from each kiosk, pushed through different hubs.
    const billsA = fines.map((no) => a.issueBill(no, 20000));
    const billsB = fines.map((no) => b.issueBill(no, 20000));
    expect((await a.push(hubs[0]!.url, a.events)).json.rejected).toEqual([]);
    expect((await b.push(hubs[1]!.url, b.events)).json.rejected).toEqual([]);
    const paidAt = Math.floor(Date.now() / 1000);
    for (const [i, no] of fines.entries()) {
      const ba = billsA[i]!.billNo;
      const bb = billsB[i]!.billNo;
      const alipay = { billNo: ba, amountFen: 20000, channel: 'alipay' as const, txnId: `A99${i}`, paidAt };
      const wechat = { billNo: bb, amountFen: 20000, channel: 'wechat' as const, txnId: `W99${i}`, paidAt };
      const again = { billNo: ba, amountFen: 20000, channel: 'wechat' as const, txnId: `WA99${i}`, paidAt };
      // Alipay's notification reaches both processes (a retry behind the load balancer) while WeChat Pay's
      // for the other kiosk's bill, and a second payment of the first bill, land on either of them.
      const rs = await Promise.all([
        hubs[0]!.hub.payments.settle(alipay),
        hubs[1]!.hub.payments.settle(wechat),
        hubs[1]!.hub.payments.settle(alipay),
        hubs[i % 2]!.hub.payments.settle(again),
      ]);
      const [r1, r2, r3, r4] = rs.map((r) => {
        if (!r.ok) throw new Error(`${no}: ${r.error.code}`);
        return r.value;
      }) as [SettleOutcome, SettleOutcome, SettleOutcome, SettleOutcome];
      // The same notification twice is one payment: the same outcome, the same token.
      expect([r1.status, r3.status].sort()).toEqual(
        r1.status === 'refund' ? ['refund', 'refund'] : ['duplicate', 'settled'],
      );
      if (r1.status !== 'refund') expect(r1.token ?? r3.token).toBe(r3.token ?? r1.token);
      // Exactly one of the three payments pays the fine; the others are flagged with the amount to return.
      const settled = [
        r1.status === 'refund' ? 0 : 1,
        r2.status === 'settled' ? 1 : 0,
        r4.status === 'settled' ? 1 : 0,
      ];
      expect(settled.reduce((x, y) => x + y, 0)).toBe(1);
      for (const r of [r2, r4])
        if (r.status === 'refund')
          expect(['BILL_PAID', 'BILL_VOIDED', 'FINE_NOT_PAYABLE']).toContain(r.reason);

      const pays = (
        await hubs[0]!.db.query<{
          txn_id: string;
          bill_no: string;
          status: string;
          refund_fen: number | null;
        }>(
          'SELECT txn_id, bill_no, status, refund_fen FROM payments WHERE bill_no = ANY($1::text[]) ORDER BY txn_id',
          [[ba, bb]],
        )
      ).rows;
      expect(pays).toHaveLength(3);
      expect(pays.filter((p) => p.status === 'settled')).toHaveLength(1);
      for (const p of pays.filter((x) => x.status === 'refund')) expect(Number(p.refund_fen)).toBe(20000);
      const winner = pays.find((p) => p.status === 'settled')!;
      const fine = await hubs[1]!.db.query<{ status: string }>(
        'SELECT status FROM fines WHERE decision_no = $1',
        [no],
      );
      expect(fine.rows[0]!.status).toBe('paid');
      const loser = winner.bill_no === ba ? bb : ba;
      expect((await hubs[1]!.hub.bills.get(winner.bill_no))?.status).toBe('paid');
      expect((await hubs[0]!.hub.bills.get(loser))?.status).toBe('voided');
    }
    // The operator's refund list holds each flagged payment once, with its amount.
    const mine = new Set(fines.flatMap((_, i) => [`A99${i}`, `W99${i}`, `WA99${i}`]));
    const refunds = (await listRefunds(hubs[0]!.db)).filter((r) => mine.has(r.txnId));
    expect(refunds).toHaveLength(fines.length * 2);
    expect(new Set(refunds.map((r) => r.txnId)).size).toBe(refunds.length);
    expect(refunds.every((r) => r.amountFen === 20000)).toBe(true);
    // Each kiosk pulls a void for every one of its bills that lost, and a payment for every one that won.
    for (const [dev, bills] of [
      [a, billsA],
      [b, billsB],
    ] as const) {
      const pulled = await dev.request(
        hubs[dev === a ? 1 : 0]!.url,
        'GET',
        '/v1/sync/pull?cursor=0&limit=10000',
      );
      const changes = pulled.json.changes as { kind: string; billNo?: string }[];
      for (const bill of bills) {
        const held = await hubs[0]!.hub.bills.get(bill.billNo);
        const kind = held?.status === 'paid' ? 'payment' : 'void';
        expect(changes.filter((c) => c.kind === kind && c.billNo === bill.billNo)).toHaveLength(1);
      }
    }
  });
});
