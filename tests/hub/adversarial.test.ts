// The hub against devices that lie (issue 10): a rogue enrolled device, the stolen key of a disabled device,
// and a spoofed hub answering a kiosk. Each attempt is refused with its code, kept in the security log, and
// changes no bill, fine or payment.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeConfirmationToken, makeBillToken } from '../../protocol/tokens.ts';
import { generateKeyPair, publicKeyToRaw } from '../../protocol/signing.ts';
import { signHubKey } from '../../protocol/hubkeys.ts';
import { verifyConfirmation } from '../../protocol/acceptance.ts';
import { enrollDevice, sampleFine, STORAGES, startTestHub, TestDevice, type TestHub } from './helpers.ts';
import { fixture } from '../kiosk/helpers.ts';

const DAY = new Date().toISOString().slice(0, 10);

async function money(t: TestHub): Promise<string> {
  const parts: unknown[] = [];
  for (const q of [
    'SELECT bill_no, status, paid_txn, token FROM bills ORDER BY bill_no',
    'SELECT channel, txn_id, status FROM payments ORDER BY channel, txn_id',
    'SELECT decision_no, status, data FROM fines ORDER BY decision_no',
    'SELECT bill_no FROM voids ORDER BY bill_no',
  ])
    parts.push((await t.db.query(q)).rows);
  return JSON.stringify(parts);
}

describe.each(STORAGES)('hub against lying devices on %s', (storage) => {
  let t: TestHub;
  let victim: TestDevice;
  let rogue: TestDevice;
  const FINE = '110000000000000101';
  const OTHER_REGION_FINE = '310000000000000102';
  let victimBill: { billNo: string; token: string };

  beforeEach(async () => {
    t = await startTestHub(storage);
    victim = new TestDevice('victim01');
    rogue = new TestDevice('victim01x');
    await enrollDevice(t, victim);
    await enrollDevice(t, rogue);
    await t.hub.fines.importRows([
      sampleFine(FINE, '110000', { decidedOn: DAY }),
      sampleFine(OTHER_REGION_FINE, '310000', { decidedOn: DAY }),
    ]);
    victimBill = victim.issueBill(FINE, 20000);
    const r = await victim.push(t.url, victim.events);
    expect(r.json.rejected).toEqual([]);
  });
  afterEach(async () => {
    await t.close();
  });

  async function refused(events: ReturnType<TestDevice['append']>[], code: string): Promise<void> {
    const before = await money(t);
    const r = await rogue.push(t.url, events);
    expect(r.status).toBe(200);
    expect(r.json.rejected.map((x: { code: string }) => x.code)).toEqual(events.map(() => code));
    expect(await money(t)).toBe(before);
  }

  it('refuses a payment pushed as a device’s word, for another’s bill, a bill that does not exist, or a forged token', async () => {
    const now = Math.floor(Date.now() / 1000);
    const base = {
      decisionNo: FINE,
      amountFen: 1,
      channel: 'alipay',
      txnId: 'T1',
      paidAt: now,
      source: 'scan',
    };
    await refused(
      [rogue.append('payment.confirmed', { ...base, billNo: victimBill.billNo, token: 'not-a-token' })],
      'MALFORMED',
    );
    await refused([rogue.append('payment.confirmed', { ...base, billNo: victimBill.billNo })], 'MALFORMED');
    // A token signed by a key that is not the hub's.
    const fake = generateKeyPair();
    const forged = makeConfirmationToken(
      { billNo: 'NOBILL-1', amountFen: 1, channel: 'alipay', txnId: 'T2', paidAt: now, keyId: 'k1' },
      fake.privateKey,
    );
    await refused(
      [
        rogue.append('payment.confirmed', {
          ...base,
          decisionNo: OTHER_REGION_FINE,
          billNo: 'NOBILL-1',
          txnId: 'T2',
          token: forged,
        }),
      ],
      'UNKNOWN_KEY',
    );
    // A genuine hub-signed token, but for the victim's bill: not this device's act.
    const key = await t.hub.keys.current();
    const real = makeConfirmationToken(
      {
        billNo: victimBill.billNo,
        amountFen: 20000,
        channel: 'wechat',
        txnId: 'T3',
        paidAt: now,
        keyId: key.keyId,
      },
      key.privateKey,
    );
    await refused(
      [
        rogue.append('payment.confirmed', {
          ...base,
          amountFen: 20000,
          channel: 'wechat',
          billNo: victimBill.billNo,
          txnId: 'T3',
          token: real,
        }),
      ],
      'NOT_OWN_BILL',
    );
    const log = await t.hub.security.list({ deviceId: rogue.id });
    expect(log.total).toBe(4);
    expect(log.counts).toMatchObject({ MALFORMED: 2, UNKNOWN_KEY: 1, NOT_OWN_BILL: 1 });
    // The refusals go back to the device in its pull, so staff see them even if the push answer was lost.
    const pull = await rogue.request(t.url, 'GET', '/v1/sync/pull?cursor=0&wait=0');
    expect(pull.json.changes.filter((c: { kind: string }) => c.kind === 'refused')).toHaveLength(4);
  });

  it('refuses voids and replacements of another device’s bills', async () => {
    await refused(
      [rogue.append('bill.voided', { billNo: victimBill.billNo, reason: 'staff', at: 1 })],
      'NOT_OWN_BILL',
    );
    const own = rogue.issueBill(FINE, 20000, victimBill.billNo);
    await refused([own.event], 'NOT_OWN_BILL');
    // A bill numbered in the victim's range, even signed by the rogue.
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      billNo: `${victim.id.toUpperCase()}-7`,
      decisionNo: FINE,
      amountFen: 20000,
      issuedAt: now,
      expiresAt: now + 14400,
      deviceId: rogue.id,
    };
    const token = makeBillToken(claims, rogue.privateKey);
    await refused(
      [rogue.append('bill.issued', { ...claims, fineFen: 20000, lateFeeFen: 0, token })],
      'NOT_OWN_BILL',
    );
    expect((await t.hub.bills.ensureKnown(claims, token)).ok).toBe(false);
    expect((await t.hub.bills.get(victimBill.billNo))?.status).toBe('live');
  });

  it('refuses tickets in another device’s stand-alone range (no prefix test) and never overwrites a fine', async () => {
    const ticket = (no: string) =>
      rogue.append('ticket.issued', {
        fine: sampleFine(no, '110000', { fineFen: 1 }),
        vehicleKind: 'car',
        officerId: 'o1',
      });
    await refused([ticket(`${victim.id}S00000001`)], 'NUMBER_NOT_ISSUED');
    await refused([ticket(FINE)], 'NUMBER_NOT_ISSUED');
  });

  it('refuses a reused bill number with another token (BILL_CONFLICT) and never serves the stored bill for it', async () => {
    const before = await money(t);
    const again = new TestDevice(victim.id);
    // The victim's database went back in time: the same key, number 1 again, another fine.
    Object.assign(again, { privateKey: victim.privateKey, publicKeyRaw: victim.publicKeyRaw });
    const now = Math.floor(Date.now() / 1000) + 1;
    const claims = {
      billNo: victimBill.billNo,
      decisionNo: OTHER_REGION_FINE,
      amountFen: 20000,
      issuedAt: now,
      expiresAt: now + 14400,
      deviceId: victim.id,
    };
    const token = makeBillToken(claims, victim.privateKey);
    const r = await t.hub.bills.ensureKnown(claims, token);
    expect(!r.ok && r.error.code).toBe('BILL_CONFLICT');
    victim.append('bill.issued', { ...claims, fineFen: 20000, lateFeeFen: 0, token });
    const p = await victim.push(t.url, victim.events);
    expect(p.json.rejected.map((x: { code: string }) => x.code)).toEqual(['BILL_CONFLICT']);
    expect(await money(t)).toBe(before);
    expect((await t.hub.security.list()).counts.BILL_CONFLICT).toBe(2);
  });

  it('a disabled device’s stolen key: pushes refused, its bills not payable; a 1-fen bill is not payable either', async () => {
    const cheap = victim.issueBill(FINE, 1);
    await victim.push(t.url, victim.events);
    const b = await t.hub.bills.get(cheap.billNo);
    const r1 = await t.hub.bills.payable(b!);
    expect(!r1.ok && r1.error.code).toBe('AMOUNT_MISMATCH');
    await t.hub.devices.setEnabled(victim.id, false);
    const r2 = await t.hub.bills.payable((await t.hub.bills.get(victimBill.billNo))!);
    expect(!r2.ok && r2.error.code).toBe('DEVICE_DISABLED');
    const before = await money(t);
    victim.append('bill.voided', { billNo: victimBill.billNo, reason: 'staff', at: 1 });
    const p = await victim.push(t.url, victim.events.slice(-1));
    expect(p.json.error.code).toBe('DEVICE_DISABLED');
    expect(await money(t)).toBe(before);
    expect((await t.hub.security.list({ deviceId: victim.id })).counts).toMatchObject({
      DEVICE_DISABLED: 2,
      AMOUNT_MISMATCH: 1,
    });
  });

  it('pays a fine once: two bills, two channels; the second payment is flagged for refund with its amount, the other bill voided', async () => {
    const second = rogue.issueBill(FINE, 20000);
    expect((await rogue.push(t.url, rogue.events)).json.rejected).toEqual([]);
    const now = Math.floor(Date.now() / 1000);
    const a = await t.hub.payments.settle({
      billNo: victimBill.billNo,
      amountFen: 20000,
      channel: 'alipay',
      txnId: 'A1',
      paidAt: now,
    });
    const w = await t.hub.payments.settle({
      billNo: second.billNo,
      amountFen: 20000,
      channel: 'wechat',
      txnId: 'W1',
      paidAt: now,
    });
    expect(a.ok && a.value.status).toBe('settled');
    expect(w.ok && w.value).toMatchObject({ status: 'refund', reason: 'BILL_VOIDED' });
    expect((await t.hub.bills.get(second.billNo))?.status).toBe('voided');
    const refunds = (
      await t.db.query<{ txn_id: string; amount_fen: number }>('SELECT txn_id, amount_fen FROM pay_refunds')
    ).rows;
    expect(refunds.map((r) => [r.txn_id, Number(r.amount_fen)])).toEqual([['W1', 20000]]);
    const pull = await rogue.request(t.url, 'GET', '/v1/sync/pull?cursor=0&wait=0');
    expect(pull.json.changes).toContainEqual(
      expect.objectContaining({ kind: 'void', billNo: second.billNo }),
    );
  });
});

describe('a kiosk against a spoofed hub', () => {
  it('takes no key or payment it cannot verify, never replaces a key id, ', () => {
    const f = fixture();
    const k = f.kiosk;
    const spoof = generateKeyPair();
    const spoofRaw = publicKeyToRaw(spoof.publicKey);
    // An unsigned new key, and one signed by itself.
    const a = { keyId: 'evil', publicKey: spoofRaw, retiredAt: 0, signedBy: 'evil' };
    expect(k.trust.applyAnnouncement(a, signHubKey(a, spoof.privateKey))).toMatchObject({
      ok: false,
      error: { code: 'UNKNOWN_KEY' },
    });
    const b = { ...a, signedBy: 'hub1' };
    expect(k.trust.applyAnnouncement(b, signHubKey(b, spoof.privateKey))).toMatchObject({
      ok: false,
      error: { code: 'BAD_SIGNATURE' },
    });
    // The trusted key id with another key: never replaced.
    expect(k.trust.addHubKey('hub1', spoofRaw)).toMatchObject({ ok: false, error: { code: 'KEY_CONFLICT' } });
    expect(k.trust.list().map((x) => x.keyId)).toEqual(['hub1']);
    // A payment signed by the spoofed key is no payment.
    const tok = makeConfirmationToken(
      { billNo: 'X-1', amountFen: 1, channel: 'alipay', txnId: 'Z1', paidAt: 10, keyId: 'evil' },
      spoof.privateKey,
    );
    expect(verifyConfirmation(tok, (id) => k.trust.trusted(id))).toMatchObject({
      ok: false,
      error: { code: 'UNKNOWN_KEY' },
    });
    expect(k.payments.confirm(tok)).toMatchObject({ ok: false, error: { code: 'UNKNOWN_KEY' } });
  });
});
