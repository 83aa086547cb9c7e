// A kiosk against a leaked, retired hub key (issue 10): a payment is never dated before its bill.
import { afterEach, describe, expect, it } from 'vitest';
import { generateKeyPair, publicKeyToRaw } from '../../protocol/signing.ts';
import { signHubKey } from '../../protocol/hubkeys.ts';
import { fixture } from './helpers.ts';

const OVERDUE = '3101012026005943';
let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

describe('kiosk trust against a leaked hub key', () => {
  it('SEV1: a retired (leaked) hub key cannot pay a bill issued after its retirement by backdating paidAt', () => {
    const f = fixture();
    cleanup = f.cleanup;
    const k = f.kiosk;
    // hub1 is trusted; the hub rotates to hub2 (announced, signed by hub1) and retires hub1 (signed by hub2).
    const hub2 = generateKeyPair();
    const h2 = publicKeyToRaw(hub2.publicKey);
    // fixture keeps hub1's private key inside f.hub.confirm; trust hub2 the operator way instead.
    expect(k.trust.addHubKey('hub2', h2).ok).toBe(true);
    const retiredAt = Math.floor(f.clock.now() / 1000);
    const ret = { keyId: 'hub1', publicKey: f.hub.publicKeyRaw, retiredAt, signedBy: 'hub2' };
    expect(k.trust.applyAnnouncement(ret, signHubKey(ret, hub2.privateKey)).ok).toBe(true);
    f.clock.advance(3600_000);
    const b = k.bills.issue(OVERDUE);
    expect(b.ok).toBe(true);
    if (!b.ok) return;
    const bill = b.value as unknown as { billNo: string; amountFen: number; issuedAt: number };
    // The leaked hub1 signs a payment dated before its retirement (and before the bill existed).
    const tok = f.hub.confirm({ billNo: bill.billNo, amountFen: bill.amountFen, paidAt: retiredAt - 1 });
    const r = k.payments.confirm(tok);
    expect(r.ok).toBe(false);
  });
});
