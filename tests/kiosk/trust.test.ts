// The kiosk trusts hub keys only through the hub (issue 10): a key added by an announcement signed by a
// trusted key, a retired key verifying only confirmations paid before it retired, no key id ever replaced.
// The hub's side here is the hub's own signing code (protocol/hubkeys.ts, protocol/tokens.ts) with keys
// this test holds, as a hub rotating its keys would sign them.
import { afterEach, describe, expect, it } from 'vitest';
import { signHubKey, type HubKeyAnnouncement } from '../../protocol/hubkeys.ts';
import { generateKeyPair, publicKeyToRaw } from '../../protocol/signing.ts';
import { makeConfirmationToken } from '../../protocol/tokens.ts';
import { fixture, type Fixture } from './helpers.ts';

let f: Fixture;
afterEach(() => f.cleanup());

const OVERDUE = '3101012026005943';

function snapshot(): unknown {
  const db = f.kiosk.db;
  return {
    bills: db.prepare('SELECT * FROM bills ORDER BY seq').all(),
    payments: db.prepare('SELECT * FROM payments').all(),
    keys: db.prepare('SELECT * FROM hub_keys ORDER BY key_id').all(),
  };
}

describe('hub keys on the kiosk', () => {
  it('a retired key: a confirmation paid before retirement accepted, one paid after refused', () => {
    f = fixture();
    const k = f.kiosk;
    const root = generateKeyPair();
    expect(k.trust.addHubKey('root', publicKeyToRaw(root.publicKey)).ok).toBe(true);
    const next = generateKeyPair();
    // The hub rotates: announces `next` signed by `root`, then root's retirement signed by `next`.
    const add: HubKeyAnnouncement = {
      keyId: 'next',
      publicKey: publicKeyToRaw(next.publicKey),
      retiredAt: 0,
      signedBy: 'root',
    };
    expect(k.trust.applyAnnouncement(add, signHubKey(add, root.privateKey))).toMatchObject({
      ok: true,
      value: { keyId: 'next', added: true },
    });
    const b = k.bills.issue(OVERDUE);
    if (!b.ok) throw new Error(b.error.message);
    const bill = b.value;
    const retiredAt = bill.issuedAt + 600;
    const retire: HubKeyAnnouncement = {
      keyId: 'root',
      publicKey: publicKeyToRaw(root.publicKey),
      retiredAt,
      signedBy: 'next',
    };
    expect(k.trust.applyAnnouncement(retire, signHubKey(retire, next.privateKey))).toMatchObject({
      ok: true,
      value: { keyId: 'root', added: false },
    });
    expect(k.trust.list().find((x) => x.keyId === 'root')?.retiredAt).toBe(retiredAt);

    const token = (paidAt: number, txnId: string): string =>
      makeConfirmationToken(
        { billNo: bill.billNo, amountFen: bill.amountFen, channel: 'wechat', txnId, paidAt, keyId: 'root' },
        root.privateKey,
      );
    // Paid at or after retirement under the retired key: refused, nothing changes.
    const before = snapshot();
    expect(k.payments.confirm(token(retiredAt, 'W-AFTER'))).toMatchObject({
      ok: false,
      error: { code: 'KEY_RETIRED' },
    });
    expect(snapshot()).toEqual(before);
    // Paid before it retired: still accepted (the citizen's confirmation stays good).
    expect(k.payments.confirm(token(retiredAt - 1, 'W-BEFORE'))).toMatchObject({
      ok: true,
      value: { billNo: bill.billNo, status: 'paid', txnId: 'W-BEFORE' },
    });
    // A retired key signs no new key.
    const stolen = generateKeyPair();
    const late: HubKeyAnnouncement = {
      keyId: 'late',
      publicKey: publicKeyToRaw(stolen.publicKey),
      retiredAt: 0,
      signedBy: 'root',
    };
    expect(k.trust.applyAnnouncement(late, signHubKey(late, root.privateKey))).toMatchObject({
      ok: false,
      error: { code: 'KEY_RETIRED' },
    });
  });

  it('a new key id not signed by a trusted key is refused; an existing key id is never replaced', () => {
    f = fixture();
    const k = f.kiosk;
    const root = generateKeyPair();
    expect(k.trust.addHubKey('root', publicKeyToRaw(root.publicKey)).ok).toBe(true);
    const before = snapshot();
    const stranger = generateKeyPair();
    const raw = publicKeyToRaw(stranger.publicKey);
    // Signed by a key id nobody trusts.
    const a: HubKeyAnnouncement = { keyId: 'k2', publicKey: raw, retiredAt: 0, signedBy: 'k9' };
    expect(k.trust.applyAnnouncement(a, signHubKey(a, stranger.privateKey))).toMatchObject({
      ok: false,
      error: { code: 'UNKNOWN_KEY' },
    });
    // Claims the trusted signer, signed by another key.
    const b: HubKeyAnnouncement = { ...a, signedBy: 'root' };
    expect(k.trust.applyAnnouncement(b, signHubKey(b, stranger.privateKey))).toMatchObject({
      ok: false,
      error: { code: 'BAD_SIGNATURE' },
    });
    // Genuinely signed by root, but the announcement changes a field after signing.
    const sig = signHubKey(b, root.privateKey);
    expect(k.trust.applyAnnouncement({ ...b, keyId: 'k3' }, sig)).toMatchObject({
      ok: false,
      error: { code: 'BAD_SIGNATURE' },
    });
    expect(snapshot()).toEqual(before);

    // An existing id with another key: refused even when signed by the trusted key itself.
    const swap: HubKeyAnnouncement = { keyId: 'root', publicKey: raw, retiredAt: 0, signedBy: 'root' };
    expect(k.trust.applyAnnouncement(swap, signHubKey(swap, root.privateKey))).toMatchObject({
      ok: false,
      error: { code: 'KEY_CONFLICT' },
    });
    expect(k.trust.addHubKey('root', raw)).toMatchObject({ ok: false, error: { code: 'KEY_CONFLICT' } });
    expect(snapshot()).toEqual(before);
    expect(k.trust.list().find((x) => x.keyId === 'root')?.publicKey).toBe(publicKeyToRaw(root.publicKey));
    // A confirmation signed by the stranger under root's id does not verify.
    const bill = k.bills.issue(OVERDUE);
    if (!bill.ok) throw new Error(bill.error.message);
    const forged = makeConfirmationToken(
      {
        billNo: bill.value.billNo,
        amountFen: bill.value.amountFen,
        channel: 'alipay',
        txnId: 'A-FORGED',
        paidAt: bill.value.issuedAt,
        keyId: 'root',
      },
      stranger.privateKey,
    );
    expect(k.payments.confirm(forged)).toMatchObject({ ok: false, error: { code: 'BAD_SIGNATURE' } });
    expect(k.bills.get(bill.value.billNo)).toMatchObject({ ok: true, value: { status: 'live' } });
  });
});
