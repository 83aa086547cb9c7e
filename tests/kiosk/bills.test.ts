import { afterEach, describe, expect, it } from 'vitest';
import { publicKeyFromRaw } from '../../protocol/signing.ts';
import { verifyBillToken } from '../../protocol/tokens.ts';
import { fixture, outboxTypes, type Fixture } from './helpers.ts';

let f: Fixture;
afterEach(() => f.cleanup());

// Sample fine decided 2026-10-20, 15000 fen: 17 days late on 2026-11-21 → 7650 fen.
const OVERDUE = '3101012026005943';
const PAID = '1101052026008846';
const CANCELLED = '4403052026008846';

describe('bills', () => {
  it('issues fine + late fee of the day, valid 4 hours, signed by the device', () => {
    f = fixture();
    const r = f.kiosk.bills.issue(OVERDUE);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const b = r.value;
    const now = Math.floor(f.clock.now() / 1000);
    expect(b).toMatchObject({
      decisionNo: OVERDUE,
      fineFen: 15000,
      lateFeeFen: 7650,
      amountFen: 22650,
      issuedAt: now,
      expiresAt: now + 4 * 3600,
      status: 'live',
      deviceId: f.kiosk.identity.deviceId,
    });
    expect(b.billNo).toMatch(/^[A-Z0-9-]{1,32}$/);
    expect(b.url).toBe(`https://hub.test/p/${b.token}`);
    const pub = publicKeyFromRaw(f.kiosk.identity.publicKeyRaw)!;
    expect(verifyBillToken(b.token, (id) => (id === b.deviceId ? pub : undefined))).toMatchObject({
      ok: true,
      value: { billNo: b.billNo, amountFen: 22650, decisionNo: OVERDUE },
    });
    expect(outboxTypes(f.kiosk)).toEqual(['fines.imported', 'bill.issued']);
    expect(JSON.parse(f.kiosk.outbox.list(1, 1)[0]!.payload)).toMatchObject({
      billNo: b.billNo,
      amountFen: 22650,
    });
  });

  it('keeps one live bill per fine: issuing again voids the earlier one', () => {
    f = fixture();
    const a = f.kiosk.bills.issue(OVERDUE);
    f.clock.advance(60_000);
    const b = f.kiosk.bills.issue(OVERDUE);
    expect(a.ok && b.ok).toBe(true);
    if (!a.ok || !b.ok) return;
    expect(b.value.billNo).not.toBe(a.value.billNo);
    expect(f.kiosk.bills.get(a.value.billNo)).toMatchObject({
      ok: true,
      value: { status: 'voided', voidReason: 'reissued' },
    });
    expect(f.kiosk.bills.liveFor(OVERDUE)?.billNo).toBe(b.value.billNo);
    expect(outboxTypes(f.kiosk)).toEqual(['fines.imported', 'bill.issued', 'bill.voided', 'bill.issued']);
    expect(JSON.parse(f.kiosk.outbox.list(3, 1)[0]!.payload).replaces).toBe(a.value.billNo);
    // The database itself refuses a second live bill.
    expect(() =>
      f.kiosk.db.prepare("UPDATE bills SET status = 'live' WHERE bill_no = ?").run(a.value.billNo),
    ).toThrow(/UNIQUE/);
  });

  it('gives a paid or cancelled fine no bill; an unknown or malformed one is refused', () => {
    f = fixture();
    expect(f.kiosk.bills.issue(PAID)).toMatchObject({ ok: false, error: { code: 'FINE_NOT_PAYABLE' } });
    expect(f.kiosk.bills.issue(CANCELLED)).toMatchObject({ ok: false, error: { code: 'FINE_NOT_PAYABLE' } });
    expect(f.kiosk.bills.issue('999999999999999')).toMatchObject({
      ok: false,
      error: { code: 'FINE_NOT_FOUND' },
    });
    expect(f.kiosk.bills.issue('abc')).toMatchObject({ ok: false, error: { code: 'MALFORMED' } });
    expect(outboxTypes(f.kiosk)).toEqual(['fines.imported']);
  });

  it('voids a live bill once; refuses voiding a voided, unknown or malformed bill', () => {
    f = fixture();
    const a = f.kiosk.bills.issue(OVERDUE);
    if (!a.ok) throw new Error('issue failed');
    expect(f.kiosk.bills.void(a.value.billNo)).toMatchObject({
      ok: true,
      value: { status: 'voided', voidReason: 'staff' },
    });
    expect(f.kiosk.bills.void(a.value.billNo)).toMatchObject({ ok: false, error: { code: 'BILL_VOIDED' } });
    expect(f.kiosk.bills.void('NOPE-1')).toMatchObject({ ok: false, error: { code: 'BILL_NOT_FOUND' } });
    expect(f.kiosk.bills.void('bad bill')).toMatchObject({ ok: false, error: { code: 'MALFORMED' } });
    expect(outboxTypes(f.kiosk)).toEqual(['fines.imported', 'bill.issued', 'bill.voided']);
  });

  it('expires after 4 hours: shown expired, expireDue records it once, a new bill can be issued', () => {
    f = fixture();
    const a = f.kiosk.bills.issue(OVERDUE);
    if (!a.ok) throw new Error('issue failed');
    f.clock.advance(4 * 3600 * 1000);
    expect(f.kiosk.bills.get(a.value.billNo)).toMatchObject({ ok: true, value: { status: 'live' } });
    expect(f.kiosk.bills.expireDue()).toBe(0);
    f.clock.advance(1000);
    expect(f.kiosk.bills.get(a.value.billNo)).toMatchObject({ ok: true, value: { status: 'expired' } });
    expect(f.kiosk.bills.void(a.value.billNo)).toMatchObject({ ok: false, error: { code: 'BILL_EXPIRED' } });
    expect(f.kiosk.bills.expireDue()).toBe(1);
    expect(f.kiosk.bills.expireDue()).toBe(0);
    const b = f.kiosk.bills.issue(OVERDUE);
    expect(b.ok).toBe(true);
    expect(outboxTypes(f.kiosk)).toEqual(['fines.imported', 'bill.issued', 'bill.voided', 'bill.issued']);
    expect(f.kiosk.outbox.verify().ok).toBe(true);
  });

  it('numbers bills uniquely across restarts and lists them by issue time', () => {
    f = fixture();
    const nos = new Set<string>();
    for (const no of ['3101012026003040', OVERDUE, '3101012026008846']) {
      const r = f.kiosk.bills.issue(no);
      if (r.ok) nos.add(r.value.billNo);
    }
    const k = f.reopen();
    const r = k.bills.issue('3101012026011749');
    if (r.ok) nos.add(r.value.billNo);
    expect(nos.size).toBe(4);
    expect(k.bills.listSince(0).map((b) => b.billNo)).toEqual([...nos]);
    expect(k.bills.listSince(Math.floor(f.clock.now() / 1000) + 1)).toEqual([]);
  });
});
