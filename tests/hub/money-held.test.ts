// Attacks on issue 10's money rules from a lying device (a disabled key; a reissue over a paid bill).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { enrollDevice, sampleFine, startTestHub, TestDevice, type TestHub } from './helpers.ts';

const DAY = new Date().toISOString().slice(0, 10);
const FINE = '110000000000000101';

describe('money rules held against a lying device (pglite)', () => {
  let t: TestHub;
  let victim: TestDevice;
  let rogue: TestDevice;
  beforeEach(async () => {
    t = await startTestHub('pglite');
    victim = new TestDevice('victim01');
    rogue = new TestDevice('victim01x');
    await enrollDevice(t, victim);
    await enrollDevice(t, rogue);
    await t.hub.fines.importRows([sampleFine(FINE, '110000', { decidedOn: DAY })]);
  });
  afterEach(async () => {
    await t.close();
  });

  it('disabled device key: pull, lookup, push all refused; its unseen bill refused on the pay page', async () => {
    const b = victim.issueBill(FINE, 20000); // printed, never pushed
    await t.hub.devices.setEnabled(victim.id, false);
    const pull = await victim.request(t.url, 'GET', '/v1/sync/pull?cursor=0&wait=0');
    const look = await victim.request(t.url, 'GET', `/v1/fines/lookup?decisionNo=${FINE}`);
    const push = await victim.push(t.url, victim.events);
    expect([pull.status, look.status, push.status].every((s) => s >= 400)).toBe(true);
    expect(look.json.fines).toBeUndefined();
    const claims = JSON.parse(victim.events[0]!.payload);
    const r = await t.hub.bills.ensureKnown({ ...claims, deviceId: victim.id }, b.token);
    expect(!r.ok && r.error.code).toBe('DEVICE_DISABLED');
  });

  it('LOW: pay page for a bill whose fine was paid a second ago: refused (held); a reissue replacing a paid bill is kept, refused BILL_PAID for the staff void, and leaves no voids row', async () => {
    const a = victim.issueBill(FINE, 20000);
    await victim.push(t.url, victim.events);
    const b = rogue.issueBill(FINE, 20000);
    await rogue.push(t.url, rogue.events);
    const now = Math.floor(Date.now() / 1000);
    const s = await t.hub.payments.settle({
      billNo: a.billNo,
      amountFen: 20000,
      channel: 'alipay',
      txnId: 'P1',
      paidAt: now,
    });
    expect(s.ok && s.value.status).toBe('settled');
    const bb = (await t.hub.bills.get(b.billNo))!;
    expect(bb.status).toBe('voided');
    const p = await t.hub.bills.payable(bb);
    expect(p.ok).toBe(false);
    // The victim kiosk, offline, reissued A as A2 (replaces A) and voided A by staff: A stays paid.
    victim.issueBill(FINE, 20000, a.billNo);
    victim.append('bill.voided', { billNo: a.billNo, reason: 'staff', at: now });
    const r = await victim.push(t.url, victim.events.slice(1));
    expect(r.json.rejected.map((x: { code: string }) => x.code)).toEqual(['BILL_PAID']);
    expect((await t.hub.bills.get(a.billNo))?.status).toBe('paid');
    expect((await t.hub.fines.byDecisionNo(FINE))?.status).toBe('paid');
    // Records: a paid bill should not also be listed as voided.
    const v = await t.db.query('SELECT bill_no, reason FROM voids WHERE bill_no = $1', [a.billNo]);
    expect(v.rows).toEqual([]);
  });
});
