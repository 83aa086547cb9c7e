import { afterEach, describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../protocol/signing.ts';
import { makeConfirmationToken } from '../../protocol/tokens.ts';
import type { BillView } from '../../main/bills/bills.ts';
import { fixture, outboxTypes, type Fixture } from './helpers.ts';

let f: Fixture;
afterEach(() => f.cleanup());

const OVERDUE = '3101012026005943';

function issue(): BillView {
  const r = f.kiosk.bills.issue(OVERDUE);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

/** Everything a refused confirmation must leave alone. */
function snapshot(): unknown {
  const db = f.kiosk.db;
  return {
    bills: db.prepare('SELECT * FROM bills ORDER BY seq').all(),
    fines: db.prepare('SELECT decision_no, status FROM fines ORDER BY decision_no').all(),
    payments: db.prepare('SELECT * FROM payments').all(),
    outbox: db.prepare('SELECT seq FROM outbox').all(),
  };
}

describe('payment confirmations', () => {
  it('accepts a valid confirmation: bill and fine become paid, with its event', () => {
    f = fixture();
    const b = issue();
    const token = f.hub.confirm({ billNo: b.billNo, amountFen: b.amountFen, txnId: 'T1' });
    const r = f.kiosk.payments.confirm(token);
    expect(r).toMatchObject({ ok: true, value: { billNo: b.billNo, status: 'paid', txnId: 'T1' } });
    expect(f.kiosk.bills.get(b.billNo)).toMatchObject({
      ok: true,
      value: { status: 'paid', payment: { channel: 'alipay', txnId: 'T1', amountFen: b.amountFen } },
    });
    expect(f.kiosk.fines.findByDecisionNo(OVERDUE)).toMatchObject({ ok: true, value: { status: 'paid' } });
    expect(outboxTypes(f.kiosk)).toEqual(['fines.imported', 'bill.issued', 'payment.confirmed']);
    expect(JSON.parse(f.kiosk.outbox.list(2, 1)[0]!.payload)).toMatchObject({ source: 'scan', token });
    expect(f.kiosk.payments.listSince(0)).toMatchObject([
      { txnId: 'T1', billNo: b.billNo, decisionNo: OVERDUE },
    ]);
    // A paid fine gets no new bill.
    expect(f.kiosk.bills.issue(OVERDUE)).toMatchObject({ ok: false, error: { code: 'FINE_NOT_PAYABLE' } });
  });

  it('refuses each broken rule with its reason, changing nothing', () => {
    f = fixture();
    const b = issue();
    const before = snapshot();
    const other = generateKeyPair();
    const good = { billNo: b.billNo, amountFen: b.amountFen };
    const forged = makeConfirmationToken(
      { ...good, channel: 'wechat', txnId: 'X1', paidAt: b.issuedAt, keyId: f.hub.keyId },
      other.privateKey,
    );
    const untrusted = makeConfirmationToken(
      { ...good, channel: 'wechat', txnId: 'X2', paidAt: b.issuedAt, keyId: 'other' },
      other.privateKey,
    );
    const cases: [string, string][] = [
      ['c1.garbage', 'MALFORMED'],
      ['', 'MALFORMED'],
      [untrusted, 'UNKNOWN_KEY'],
      [forged, 'BAD_SIGNATURE'],
      [f.hub.confirm({ ...good, billNo: 'NOPE-9' }), 'BILL_NOT_FOUND'],
      [f.hub.confirm({ ...good, amountFen: b.amountFen - 1 }), 'AMOUNT_MISMATCH'],
      [f.hub.confirm({ ...good, paidAt: b.expiresAt + 1 }), 'PAID_AFTER_EXPIRY'],
    ];
    for (const [token, code] of cases) {
      expect(f.kiosk.payments.confirm(token), code).toMatchObject({ ok: false, error: { code } });
    }
    // A token with one character of its signed text changed.
    const t = f.hub.confirm(good);
    const tampered = t.replace(`.${b.amountFen}.`, `.${b.amountFen + 100}.`);
    expect(f.kiosk.payments.confirm(tampered)).toMatchObject({ ok: false, error: { code: 'BAD_SIGNATURE' } });
    expect(snapshot()).toEqual(before);
  });

  it('refuses a voided bill', () => {
    f = fixture();
    const b = issue();
    f.kiosk.bills.void(b.billNo);
    const before = snapshot();
    const r = f.kiosk.payments.confirm(f.hub.confirm({ billNo: b.billNo, amountFen: b.amountFen }));
    expect(r).toMatchObject({ ok: false, error: { code: 'BILL_VOIDED' } });
    expect(snapshot()).toEqual(before);
  });

  it('a txnId is accepted once: the same token again is ALREADY_USED; another bill with it too', () => {
    f = fixture();
    const b = issue();
    const token = f.hub.confirm({ billNo: b.billNo, amountFen: b.amountFen, txnId: 'SAME' });
    expect(f.kiosk.payments.confirm(token).ok).toBe(true);
    const before = snapshot();
    expect(f.kiosk.payments.confirm(token)).toMatchObject({ ok: false, error: { code: 'ALREADY_USED' } });
    const c = f.kiosk.bills.issue('3101012026003040');
    if (!c.ok) throw new Error('issue');
    const before2 = snapshot();
    const reuse = f.hub.confirm({ billNo: c.value.billNo, amountFen: c.value.amountFen, txnId: 'SAME' });
    expect(f.kiosk.payments.confirm(reuse)).toMatchObject({ ok: false, error: { code: 'ALREADY_USED' } });
    expect(snapshot()).toEqual(before2);
    expect(before).toBeDefined();
    // A second, different payment of a paid bill is refused too (the hub flags such for refund).
    const second = f.hub.confirm({ billNo: b.billNo, amountFen: b.amountFen, txnId: 'OTHER' });
    expect(f.kiosk.payments.confirm(second)).toMatchObject({ ok: false, error: { code: 'BILL_PAID' } });
  });

  it('accepts a payment made before expiry but scanned after it', () => {
    f = fixture();
    const b = issue();
    f.clock.advance(5 * 3600 * 1000);
    expect(f.kiosk.bills.expireDue()).toBe(1);
    const r = f.kiosk.payments.confirm(
      f.hub.confirm({ billNo: b.billNo, amountFen: b.amountFen, paidAt: b.expiresAt }),
    );
    expect(r.ok).toBe(true);
    expect(f.kiosk.bills.get(b.billNo)).toMatchObject({ ok: true, value: { status: 'paid' } });
  });

  it('records a payment from the hub once, idempotently; validates the claims', () => {
    f = fixture();
    const b = issue();
    const claims = {
      billNo: b.billNo,
      amountFen: b.amountFen,
      channel: 'wechat' as const,
      txnId: 'W1',
      paidAt: b.issuedAt + 60,
      keyId: 'hub1',
    };
    expect(f.kiosk.payments.recordFromHub(claims)).toMatchObject({ ok: true, value: { status: 'paid' } });
    expect(f.kiosk.payments.recordFromHub(claims)).toMatchObject({ ok: true, value: { duplicate: true } });
    expect(outboxTypes(f.kiosk).filter((t) => t === 'payment.confirmed')).toHaveLength(1);
    expect(f.kiosk.payments.recordFromHub({ ...claims, txnId: 'bad txn' })).toMatchObject({
      ok: false,
      error: { code: 'MALFORMED' },
    });
  });

  it('trusts hub keys only in the raw base64url form', () => {
    f = fixture({ sample: false });
    expect(f.kiosk.trust.addHubKey('Bad Id', f.hub.publicKeyRaw)).toMatchObject({
      ok: false,
      error: { code: 'MALFORMED' },
    });
    expect(f.kiosk.trust.addHubKey('k2', 'short')).toMatchObject({ ok: false, error: { code: 'MALFORMED' } });
    expect(f.kiosk.trust.addHubKey('k2', f.hub.publicKeyRaw)).toMatchObject({ ok: true });
    expect(f.kiosk.trust.hubKey('k2')).toBeDefined();
    expect(f.kiosk.trust.hubKey('k3')).toBeUndefined();
  });
});
