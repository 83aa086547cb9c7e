// Attacks on issue 10's money rules enforced by the hub: a device that lies, a leaked retired hub key.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeBillToken, makeConfirmationToken } from '../../protocol/tokens.ts';
import { billTimeCheck } from '../../protocol/billtime.ts';
import { enrollDevice, sampleFine, STORAGES, startTestHub, TestDevice, type TestHub } from './helpers.ts';

const DAY = new Date().toISOString().slice(0, 10);
const daysAgo = (n: number): string => new Date(Date.now() - n * 86400_000).toISOString().slice(0, 10);

async function money(t: TestHub): Promise<string> {
  const parts: unknown[] = [];
  for (const q of [
    'SELECT bill_no, status, paid_txn, token, issued_at, expires_at, amount_fen FROM bills ORDER BY bill_no',
    'SELECT channel, txn_id, status FROM payments ORDER BY channel, txn_id',
    'SELECT decision_no, status, data FROM fines ORDER BY decision_no',
    'SELECT bill_no FROM voids ORDER BY bill_no',
  ])
    parts.push((await t.db.query(q)).rows);
  return JSON.stringify(parts);
}

describe.each(STORAGES)('money rules against attacks on %s', (storage) => {
  let t: TestHub;
  let victim: TestDevice;
  let rogue: TestDevice;
  const FINE = '110000000000000101';
  const LATE = '110000000000000202';

  beforeEach(async () => {
    t = await startTestHub(storage);
    victim = new TestDevice('victim01');
    rogue = new TestDevice('victim01x');
    await enrollDevice(t, victim);
    await enrollDevice(t, rogue);
    await t.hub.fines.importRows([
      sampleFine(FINE, '110000', { decidedOn: DAY }),
      // decided 60 days ago: the late fee is capped at the fine, the bill is 400 yuan today.
      sampleFine(LATE, '110000', { decidedOn: daysAgo(60) }),
    ]);
  });
  afterEach(async () => {
    await t.close();
  });

  it('SEV1: bill.issued whose payload issuedAt/expiresAt differ from its signed token is refused; the late fee cannot be dodged', async () => {
    const now = Math.floor(Date.now() / 1000);
    // The token (what is printed and scanned) says: issued now, 200 yuan. The hub computes 400 yuan today.
    const claims = {
      billNo: `${rogue.id.toUpperCase()}-1`,
      decisionNo: LATE,
      amountFen: 20000,
      issuedAt: now,
      expiresAt: now + 14400,
      deviceId: rogue.id,
    };
    const token = makeBillToken(claims, rogue.privateKey);
    // The event payload claims an issue day 50 days ago (before the due date) and an expiry far away.
    const backdated = now - 50 * 86400;
    const r = await rogue.push(t.url, [
      rogue.append('bill.issued', {
        ...claims,
        issuedAt: backdated,
        expiresAt: now + 14400,
        fineFen: 20000,
        lateFeeFen: 0,
        token,
      }),
    ]);
    expect(r.status).toBe(200);
    // Expected: the event does not match its token → refused (MALFORMED), nothing stored.
    const rejected = r.json.rejected.map((x: { code: string }) => x.code);
    // What the pay page does with the printed token (hub/pay/service.ts open()):
    const known = await t.hub.bills.ensureKnown(claims, token);
    let payableAt200 = false;
    if (known.ok) {
      const b = known.value;
      const times = billTimeCheck(b, b.firstSeenAt ?? b.issuedAt, now);
      const p = await t.hub.bills.payable(b);
      payableAt200 = times.ok && p.ok;
    }
    expect({ rejected, payableAt200 }).toEqual({ rejected: ['MALFORMED'], payableAt200: false });
  });

  it('SEV1: a confirmation signed by a retired hub key with paidAt backdated before the bill existed pays nothing', async () => {
    const old = await t.hub.keys.current(); // its private key leaks; the operator rotates
    await new Promise((r) => setTimeout(r, 1100));
    await t.hub.keys.rotate();
    const retiredAt = Number((await t.hub.keys.trustedMap()).get(old.keyId)!.retiredAt);
    expect(retiredAt).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 1100));
    const bill = rogue.issueBill(FINE, 20000); // issued after the retirement
    expect((await rogue.push(t.url, rogue.events)).json.rejected).toEqual([]);
    const before = await money(t);
    const paidAt = retiredAt - 1; // before the retirement: "verifies", though the bill did not exist yet
    const tok = makeConfirmationToken(
      { billNo: bill.billNo, amountFen: 20000, channel: 'alipay', txnId: 'LEAK1', paidAt, keyId: old.keyId },
      old.privateKey,
    );
    const r = await rogue.push(t.url, [
      rogue.append('payment.confirmed', {
        billNo: bill.billNo,
        decisionNo: FINE,
        amountFen: 20000,
        channel: 'alipay',
        txnId: 'LEAK1',
        paidAt,
        source: 'scan',
        token: tok,
      }),
    ]);
    expect(r.status).toBe(200);
    expect(r.json.rejected.length).toBe(1);
    expect(await money(t)).toBe(before);
    expect((await t.hub.fines.byDecisionNo(FINE))?.status).toBe('unpaid');
  });

  it('a ticket pushed with status "paid" never creates a fine paid without money', async () => {
    const no = `${rogue.id}S00000001`;
    const r = await rogue.push(t.url, [
      rogue.append('ticket.issued', {
        fine: sampleFine(no, '110000', { status: 'paid', decidedOn: DAY }),
        vehicleKind: 'car',
        officerId: 'o1',
      }),
    ]);
    const f = await t.hub.fines.byDecisionNo(no);
    // Expected: refused, or the fine created unpaid.
    expect({ rejected: r.json.rejected, status: f?.status }).not.toMatchObject({
      rejected: [],
      status: 'paid',
    });
  });

  it('bill numbers with case games, zero, leading zero, prefix ids, other device are refused NOT_OWN_BILL', async () => {
    const now = Math.floor(Date.now() / 1000);
    const nos = [
      `${rogue.id}-1`,
      `${rogue.id.toUpperCase()}-0`,
      `${rogue.id.toUpperCase()}-01`,
      `${rogue.id.toUpperCase()}-+1`,
      `${rogue.id.toUpperCase()}-1 `,
      `${victim.id.toUpperCase()}-1`,
      `${victim.id.toUpperCase()}X-1`.replace('X-', 'x-'),
      `${rogue.id.toUpperCase()}-1-1`,
    ];
    const codes: string[] = [];
    for (const billNo of nos) {
      const before = await money(t);
      const claims = {
        billNo,
        decisionNo: FINE,
        amountFen: 20000,
        issuedAt: now,
        expiresAt: now + 14400,
        deviceId: rogue.id,
      };
      let token: string;
      try {
        token = makeBillToken(claims, rogue.privateKey);
      } catch {
        codes.push('CANNOT_SIGN');
        continue;
      }
      const r = await rogue.push(t.url, [
        rogue.append('bill.issued', { ...claims, fineFen: 20000, lateFeeFen: 0, token }),
      ]);
      if (r.status !== 200) {
        codes.push(`HTTP${r.status}:${r.json?.error?.code}`);
        rogue.events.pop();
        continue;
      }
      codes.push(r.json.rejected[0]?.code ?? 'APPLIED');
      expect(await money(t)).toBe(before);
    }
    expect(codes.filter((c) => c === 'APPLIED')).toEqual([]);
  });

  it('a replayed push (same events, new nonce) and a reordered batch change nothing', async () => {
    const b = rogue.issueBill(FINE, 20000);
    await rogue.push(t.url, rogue.events);
    rogue.append('bill.voided', { billNo: b.billNo, reason: 'staff', at: 1 });
    const before = await money(t);
    const again = await rogue.push(t.url, rogue.events.slice(0, 1));
    expect(again.status).toBe(200);
    expect(await money(t)).toBe(before);
    const swapped = [rogue.events[1]!, rogue.events[0]!];
    const r = await rogue.push(t.url, swapped);
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(await money(t)).toBe(before);
  });

  it('race: two bills of one fine settled concurrently through both channels: exactly one kept', async () => {
    const a = victim.issueBill(FINE, 20000);
    await victim.push(t.url, victim.events);
    const b = rogue.issueBill(FINE, 20000);
    await rogue.push(t.url, rogue.events);
    const now = Math.floor(Date.now() / 1000);
    const rs = await Promise.all([
      t.hub.payments.settle({
        billNo: a.billNo,
        amountFen: 20000,
        channel: 'alipay',
        txnId: 'RA',
        paidAt: now,
      }),
      t.hub.payments.settle({
        billNo: b.billNo,
        amountFen: 20000,
        channel: 'wechat',
        txnId: 'RW',
        paidAt: now,
      }),
    ]);
    const st = rs.map((r) => (r.ok ? r.value.status : r.error.code)).sort();
    expect(st).toEqual(['refund', 'settled']);
    const settled = await t.db.query("SELECT count(*)::int AS n FROM payments WHERE status = 'settled'");
    expect(Number(settled.rows[0]?.n)).toBe(1);
    const refunds = await t.db.query('SELECT amount_fen FROM pay_refunds');
    expect(refunds.rows.map((r) => Number(r.amount_fen))).toEqual([20000]);
  });
});
