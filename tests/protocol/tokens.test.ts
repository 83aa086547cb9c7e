// Property-based tests of the token parsers: random and mutated tokens must be refused with MALFORMED or
// a signature failure, never accepted with claims other than the ones signed, and never throw.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../protocol/signing.ts';
import {
  makeBillToken,
  makeConfirmationToken,
  parseBillToken,
  parseConfirmationToken,
  tokenFromBillUrl,
  billUrl,
  verifyBillToken,
  verifyConfirmationToken,
  type BillClaims,
  type ConfirmationClaims,
} from '../../protocol/tokens.ts';

const device = generateKeyPair();
const hub = generateKeyPair();
const DEVICE_ID = 'abcdef234567';
const deviceKeys = (id: string) => (id === DEVICE_ID ? device.publicKey : undefined);
const hubKeys = (id: string) => (id === 'hub1' ? hub.publicKey : undefined);

const chars = (alphabet: string, min: number, max: number) =>
  fc.string({ unit: fc.constantFrom(...alphabet), minLength: min, maxLength: max });
const UP = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-';
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const MAX_TIME = 2 ** 40 - 14_400;

const billClaims: fc.Arbitrary<BillClaims> = fc
  .record({
    billNo: chars(UP, 1, 32),
    decisionNo: chars(ALNUM, 1, 32),
    amountFen: fc.integer({ min: 0, max: 10_000_000_000 }),
    issuedAt: fc.integer({ min: 0, max: MAX_TIME }),
  })
  .map((c) => ({ ...c, expiresAt: c.issuedAt + 14_400, deviceId: DEVICE_ID }));

const confClaims: fc.Arbitrary<ConfirmationClaims> = fc.record({
  billNo: chars(UP, 1, 32),
  amountFen: fc.integer({ min: 0, max: 10_000_000_000 }),
  channel: fc.constantFrom('alipay' as const, 'wechat' as const),
  txnId: chars(ALNUM + '_-', 1, 64),
  paidAt: fc.integer({ min: 0, max: MAX_TIME }),
  keyId: fc.constant('hub1'),
});

/** A token with one character replaced, inserted or deleted. */
const mutated = (token: string) =>
  fc
    .record({
      at: fc.nat({ max: token.length - 1 }),
      kind: fc.constantFrom('replace', 'insert', 'delete'),
      ch: fc.oneof(
        fc.constantFrom(...'.0123456789-_AaZz~ \n\u0000é中'),
        fc.string({ minLength: 1, maxLength: 1 }),
      ),
    })
    .map(({ at, kind, ch }) =>
      kind === 'delete'
        ? token.slice(0, at) + token.slice(at + 1)
        : kind === 'insert'
          ? token.slice(0, at) + ch + token.slice(at)
          : token.slice(0, at) + ch + token.slice(at + 1),
    )
    .filter((t) => t !== token);

const REFUSALS = ['MALFORMED', 'BAD_SIGNATURE', 'UNKNOWN_KEY'];

describe('bill tokens', () => {
  it('round-trip: what is signed parses and verifies to the same claims', () => {
    fc.assert(
      fc.property(billClaims, (c) => {
        const t = makeBillToken(c, device.privateKey);
        expect(t.length).toBeLessThanOrEqual(512);
        expect(verifyBillToken(t, deviceKeys)).toEqual({ ok: true, value: c });
        expect(tokenFromBillUrl(billUrl('https://hub.example/', t))).toBe(t);
      }),
      { numRuns: 200 },
    );
  });

  it('any one-character mutation is refused', () => {
    fc.assert(
      fc.property(
        billClaims.chain((c) => {
          const t = makeBillToken(c, device.privateKey);
          return fc.tuple(fc.constant(t), mutated(t));
        }),
        ([, m]) => {
          const r = verifyBillToken(m, deviceKeys);
          expect(r.ok).toBe(false);
          if (!r.ok) expect(REFUSALS).toContain(r.error.code);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('random text never parses and never throws', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 600 }), fc.string({ unit: 'binary', maxLength: 300 })),
        (s) => {
          expect(parseBillToken(s).ok).toBe(false);
          expect(verifyBillToken(s, deviceKeys).ok).toBe(false);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('random dotted fields are refused as MALFORMED', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 40 }), { minLength: 0, maxLength: 10 }), (fields) => {
        const r = parseBillToken(['b1', ...fields].join('.'));
        if (!r.ok) expect(r.error.code).toBe('MALFORMED');
        else expect(r.value.claims.expiresAt).toBe(r.value.claims.issuedAt + 14_400);
      }),
    );
  });

  it('refuses non-canonical numbers and times past what the event log holds', () => {
    const c: BillClaims = {
      billNo: 'B-1',
      decisionNo: '123456789012345',
      amountFen: 100,
      issuedAt: 1_700_000_000,
      expiresAt: 1_700_014_400,
      deviceId: DEVICE_ID,
    };
    const t = makeBillToken(c, device.privateKey);
    expect(parseBillToken(t.replace('.100.', '.0100.')).ok).toBe(false);
    expect(parseBillToken(t.replace('.100.', '.+100.')).ok).toBe(false);
    expect(parseBillToken(t.replace('.100.', '.1e2.')).ok).toBe(false);
    const huge = 2 ** 41;
    const bad = t.replace('.1700000000.1700014400.', `.${huge}.${huge + 14_400}.`);
    expect(parseBillToken(bad)).toMatchObject({ ok: false, error: { code: 'MALFORMED' } });
  });
});

describe('confirmation tokens', () => {
  it('round-trip', () => {
    fc.assert(
      fc.property(confClaims, (c) => {
        const t = makeConfirmationToken(c, hub.privateKey);
        expect(verifyConfirmationToken(t, hubKeys)).toEqual({ ok: true, value: c });
        expect(parseConfirmationToken(t).ok).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('any one-character mutation is refused (including the signature’s last character)', () => {
    fc.assert(
      fc.property(
        confClaims.chain((c) => {
          const t = makeConfirmationToken(c, hub.privateKey);
          return fc.tuple(fc.constant(t), mutated(t));
        }),
        ([, m]) => {
          const r = verifyConfirmationToken(m, hubKeys);
          expect(r.ok).toBe(false);
          if (!r.ok) expect(REFUSALS).toContain(r.error.code);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('a signature has exactly one spelling: the unused low bits of its last character must be zero', () => {
    const t = makeConfirmationToken(
      { billNo: 'B-1', amountFen: 100, channel: 'alipay', txnId: 'T1', paidAt: 1_700_000_000, keyId: 'hub1' },
      hub.privateKey,
    );
    const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = B64.indexOf(t.at(-1)!);
    for (let low = 1; low < 16; low++) {
      const other = t.slice(0, -1) + B64[(last & ~15) | low];
      expect(verifyConfirmationToken(other, hubKeys), other.slice(-3)).toMatchObject({ ok: false });
    }
  });

  it('random text and random fields are refused, never thrown', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 600 }), (s) => {
        expect(verifyConfirmationToken(s, hubKeys).ok).toBe(false);
        expect(verifyConfirmationToken(`c1.${s}`, hubKeys).ok).toBe(false);
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 40 }), { minLength: 7, maxLength: 7 }), (fields) => {
        const r = parseConfirmationToken(['c1', ...fields].join('.'));
        expect(r.ok).toBe(false);
      }),
    );
  });

  it('refuses an unknown channel, a bad key id and an over-long token', () => {
    const c: ConfirmationClaims = {
      billNo: 'B-1',
      amountFen: 100,
      channel: 'alipay',
      txnId: 'T1',
      paidAt: 1_700_000_000,
      keyId: 'hub1',
    };
    const t = makeConfirmationToken(c, hub.privateKey);
    expect(parseConfirmationToken(t.replace('.alipay.', '.paypal.'))).toMatchObject({
      ok: false,
      error: { code: 'MALFORMED' },
    });
    expect(parseConfirmationToken(t.replace('.hub1.', '.HUB1.'))).toMatchObject({
      ok: false,
      error: { code: 'MALFORMED' },
    });
    expect(parseConfirmationToken(t.replace('.T1.', `.${'T'.repeat(600)}.`)).ok).toBe(false);
    expect(verifyConfirmationToken(t.replace('.hub1.', '.hub2.'), hubKeys)).toMatchObject({
      ok: false,
      error: { code: 'UNKNOWN_KEY' },
    });
  });
});
