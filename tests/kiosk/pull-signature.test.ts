// A kiosk believes a pull answer only when the hub signed it (issue 10; protocol/answers.ts). Against a fake
// hub that answers the kiosk's own signed requests: a fine marked paid and a void of the kiosk's live bill,
// sent unsigned, signed by a stranger, signed for another request, altered after signing, or signed by a
// retired key, change nothing and show on the sync tab; the same answer signed by the hub is applied. Key
// rotation: an answer signed by a key the kiosk has not pulled yet verifies through the announcements it
// carries, from a key the kiosk trusts, and never from a retired one.
import type { KeyObject } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { enroll, SyncEngine, syncStatus, type Transport } from '../../main/sync/engine.ts';
import {
  HEADER_HUB_KEYS,
  HEADER_HUB_SIGNATURE,
  signAnswer,
  type ChainEntry,
} from '../../protocol/answers.ts';
import { signHubKey, type HubKeyAnnouncement } from '../../protocol/hubkeys.ts';
import { generateKeyPair, publicKeyToRaw } from '../../protocol/signing.ts';
import { makeConfirmationToken } from '../../protocol/tokens.ts';
import { HEADER_DEVICE, HEADER_NONCE, type PullChange } from '../../protocol/sync.ts';
import { fixture, type Fixture } from './helpers.ts';

const OVERDUE = '3101012026005943';
let f: Fixture;
afterEach(() => f.cleanup());

interface Seen {
  method: string;
  path: string;
  nonce: string;
  deviceId: string;
}

/** What the fake hub sends for one request: a JSON body and the headers it chooses. */
type Answer = (req: Seen) => { status?: number; body: string; headers?: Record<string, string> };

/** A transport that plays the hub: enrollment hands over hub1 (the fixture's key); other requests get `answer`. */
function fakeHub(answer: () => Answer): Transport {
  return async (url, init) => {
    const u = new URL(url);
    const path = u.pathname + u.search;
    if (u.pathname === '/v1/enroll') {
      return reply(200, JSON.stringify(enrollAnswer()), {});
    }
    const seen: Seen = {
      method: init.method,
      path,
      nonce: init.headers[HEADER_NONCE] ?? '',
      deviceId: init.headers[HEADER_DEVICE] ?? '',
    };
    const a = answer()(seen);
    return reply(a.status ?? 200, a.body, a.headers ?? {});
  };
}

function reply(status: number, body: string, headers: Record<string, string>) {
  const h = new Headers(headers);
  return { status, text: async () => body, headers: h };
}

function enrollAnswer(): unknown {
  return {
    deviceId: f.kiosk.identity.deviceId,
    name: 'Hall',
    region: '310101',
    hubKeys: [{ keyId: f.hub.keyId, publicKey: f.hub.publicKeyRaw }],
    config: {},
    hubTime: Math.floor(f.clock.now() / 1000),
  };
}

function pullBody(changes: PullChange[]): string {
  return JSON.stringify({
    changes,
    cursor: changes.at(-1)?.cursor ?? 0,
    more: false,
    hubTime: Math.floor(f.clock.now() / 1000),
  });
}

/** Signs as the hub would: over this request, with `keyId`/`key`, carrying `chain`. */
function signed(body: string, keyId: string, key: KeyObject, chain: ChainEntry[] = []): Answer {
  return (req) => ({ body, headers: signAnswer({ ...req, status: 200 }, body, keyId, key, chain) });
}

function snapshot(): unknown {
  const db = f.kiosk.db;
  return {
    bills: db.prepare('SELECT * FROM bills ORDER BY seq').all(),
    fines: db.prepare('SELECT * FROM fines ORDER BY decision_no').all(),
    payments: db.prepare('SELECT * FROM payments').all(),
    keys: db.prepare('SELECT * FROM hub_keys ORDER BY key_id').all(),
    cursor: db.prepare('SELECT cursor FROM sync_state').get(),
  };
}

function announce(keyId: string, pub: KeyObject, signedBy: string, signer: KeyObject): ChainEntry {
  const a: HubKeyAnnouncement = { keyId, publicKey: publicKeyToRaw(pub), retiredAt: 0, signedBy };
  return { keyId, publicKey: a.publicKey, signedBy, sig: signHubKey(a, signer) };
}

async function enrolledKiosk(answer: () => Answer): Promise<SyncEngine> {
  f = fixture();
  const transport = fakeHub(answer);
  const e = await enroll(f.kiosk, { hubUrl: 'https://hub.test', code: 'ABC-123', transport });
  if (!e.ok) throw new Error(e.error.message);
  return new SyncEngine(f.kiosk, { transport, network: false });
}

describe('a kiosk against pull answers it cannot verify', () => {
  it('changes nothing for a paid fine and a void that are unsigned, forged, replayed, altered or signed by a retired key', async () => {
    let current: Answer = () => ({ body: '{}' });
    const engine = await enrolledKiosk(() => current);
    const k = f.kiosk;
    const b = k.bills.issue(OVERDUE);
    if (!b.ok) throw new Error(b.error.message);
    const fine = k.fines.get(OVERDUE)!;
    expect(fine.status).toBe('unpaid');
    const stranger = generateKeyPair();
    // What a spoofed hub would say: the fine paid, the bill voided, its own key, and a payment signed with it.
    const evil: HubKeyAnnouncement = {
      keyId: 'evil',
      publicKey: publicKeyToRaw(stranger.publicKey),
      retiredAt: 0,
      signedBy: 'evil',
    };
    const attack = pullBody([
      {
        cursor: 3,
        kind: 'hubKey',
        key: { keyId: 'evil', publicKey: evil.publicKey },
        retired: false,
        retiredAt: 0,
        signedBy: 'evil',
        sig: signHubKey(evil, stranger.privateKey),
      },
      {
        cursor: 4,
        kind: 'payment',
        billNo: b.value.billNo,
        token: makeConfirmationToken(
          {
            billNo: b.value.billNo,
            amountFen: b.value.amountFen,
            channel: 'alipay',
            txnId: 'EVIL1',
            paidAt: b.value.issuedAt + 60,
            keyId: 'evil',
          },
          stranger.privateKey,
        ),
      },
      { cursor: 5, kind: 'fine', fine: { ...fine, status: 'paid' } },
      { cursor: 6, kind: 'void', billNo: b.value.billNo, reason: 'paid elsewhere' },
    ]);
    // A retired hub key (leaked): trusted once, retired through a signed announcement.
    const old = generateKeyPair();
    expect(k.trust.addHubKey('hub0', publicKeyToRaw(old.publicKey)).ok).toBe(true);
    const retire: HubKeyAnnouncement = {
      keyId: 'hub0',
      publicKey: publicKeyToRaw(old.publicKey),
      retiredAt: Math.floor(f.clock.now() / 1000) - 60,
      signedBy: 'hub1',
    };
    expect(k.trust.applyAnnouncement(retire, signHubKey(retire, f.hub.privateKey)).ok).toBe(true);

    const attempts: [string, Answer][] = [
      ['unsigned', () => ({ body: attack })],
      ['a stranger signing as hub1', signed(attack, 'hub1', stranger.privateKey)],
      [
        'a stranger key announced by itself',
        signed(attack, 'evil', stranger.privateKey, [
          announce('evil', stranger.publicKey, 'evil', stranger.privateKey),
        ]),
      ],
      [
        'a stranger key whose announcement claims hub1',
        signed(attack, 'evil', stranger.privateKey, [
          announce('evil', stranger.publicKey, 'hub1', stranger.privateKey),
        ]),
      ],
      [
        'a stranger announced by the retired hub0',
        signed(attack, 'evil', stranger.privateKey, [
          announce('evil', stranger.publicKey, 'hub0', old.privateKey),
        ]),
      ],
      [
        'hub1 signing another request (replayed)',
        (req) => ({
          body: attack,
          headers: signAnswer(
            { ...req, nonce: 'A'.repeat(22), status: 200 },
            attack,
            'hub1',
            f.hub.privateKey,
          ),
        }),
      ],
      [
        'hub1 signing another device',
        (req) => ({
          body: attack,
          headers: signAnswer(
            { ...req, deviceId: 'otherkiosk1', status: 200 },
            attack,
            'hub1',
            f.hub.privateKey,
          ),
        }),
      ],
      [
        'hub1 signing an empty answer, the body swapped',
        (req) => ({
          body: attack,
          headers: signAnswer({ ...req, status: 200 }, pullBody([]), 'hub1', f.hub.privateKey),
        }),
      ],
      ['the retired hub0', signed(attack, 'hub0', old.privateKey)],
      [
        'a malformed signature header',
        () => ({ body: attack, headers: { [HEADER_HUB_SIGNATURE]: 'hub1.' + 'A'.repeat(85) } }),
      ],
      [
        'a malformed key chain',
        () => ({
          body: attack,
          headers: { [HEADER_HUB_SIGNATURE]: 'evil.' + 'A'.repeat(86), [HEADER_HUB_KEYS]: 'e30' },
        }),
      ],
    ];
    const before = snapshot();
    for (const [name, a] of attempts) {
      current = a;
      const r = await engine.pullOnce();
      expect({ name, r }).toMatchObject({ name, r: { ok: false, error: { code: 'HUB_ANSWER_UNVERIFIED' } } });
      expect({ name, s: snapshot() }).toEqual({ name, s: before });
      const s = syncStatus(k);
      expect(s.lastError?.code).toBe('HUB_ANSWER_UNVERIFIED');
      expect(s.refusedChanges[0]).toMatchObject({ kind: 'answer', code: 'HUB_ANSWER_UNVERIFIED' });
    }
    // Each refusal is kept for staff (the same refusal again only updates its time).
    const kept = k.db.prepare(`SELECT reason FROM sync_refused_changes WHERE kind = 'answer'`).all() as {
      reason: string;
    }[];
    expect(kept.length).toBeGreaterThanOrEqual(5);
    expect(kept.every((x) => x.reason.startsWith('GET /v1/sync/pull (200)'))).toBe(true);

    // An unsigned failure is the hub out of reach: a proxy's error page, or a refusal that would stop the
    // kiosk issuing (CHAIN_BROKEN) or move its clock (CLOCK_SKEW), is not acted on nor shown as forged.
    const keptBefore = kept.length;
    for (const failureAnswer of [
      { status: 502, body: '<html>Bad Gateway</html>' },
      {
        status: 409,
        body: JSON.stringify({ error: { code: 'CHAIN_BROKEN', message: 'x', messageZh: 'x' }, hubTime: 1 }),
      },
      {
        status: 401,
        body: JSON.stringify({ error: { code: 'CLOCK_SKEW', message: 'x', messageZh: 'x' }, hubTime: 1 }),
      },
    ]) {
      current = () => failureAnswer;
      expect(await engine.pullOnce()).toMatchObject({ ok: false, error: { code: 'HUB_UNREACHABLE' } });
      expect(await engine.pushAll()).toMatchObject({ ok: false, error: { code: 'HUB_UNREACHABLE' } });
    }
    expect(snapshot()).toEqual(before);
    const st = syncStatus(k);
    expect(st.rolledBack).toBe(false);
    expect(st.clockOffsetSeconds).toBe(0);
    expect(
      k.db.prepare(`SELECT count(*) AS n FROM sync_refused_changes WHERE kind = 'answer'`).get(),
    ).toEqual({
      n: keptBefore,
    });

    // A push answer that does not verify acknowledges nothing: the events stay queued.
    current = () => ({
      body: JSON.stringify({ highestSeq: 99, applied: 1, duplicates: 0, rejected: [], hubTime: 1 }),
    });
    const queued = syncStatus(k).queued;
    expect(queued).toBeGreaterThan(0);
    const p = await engine.pushAll();
    expect(!p.ok && p.error.code).toBe('HUB_ANSWER_UNVERIFIED');
    expect(syncStatus(k).queued).toBe(queued);
    // A lookup answer that does not verify caches nothing.
    current = () => ({ body: JSON.stringify({ fines: [{ ...fine, status: 'paid' }], hubTime: 1 }) });
    expect(await engine.lookup({ decisionNo: OVERDUE })).toMatchObject({ ok: false });
    expect(snapshot()).toEqual(before);

    // The same answer signed by the hub is applied: the attack above was refused for its signature alone.
    // Inside a verified answer the key and the payment still need their own signatures: each is kept refused.
    current = signed(attack, 'hub1', f.hub.privateKey);
    expect((await engine.pullOnce()).ok).toBe(true);
    expect(k.fines.get(OVERDUE)?.status).toBe('paid');
    expect(k.bills.get(b.value.billNo)).toMatchObject({ ok: true, value: { status: 'voided' } });
    expect(k.db.prepare('SELECT count(*) AS n FROM payments').get()).toEqual({ n: 0 });
    expect(k.trust.list().map((x) => x.keyId)).toEqual(['hub0', 'hub1']);
    const s = syncStatus(k);
    expect(s.lastError).toBeNull();
    expect(s.refusedChanges.filter((c) => c.kind !== 'answer').map((c) => [c.kind, c.code])).toEqual([
      ['payment', 'UNKNOWN_KEY'],
      ['hubKey', 'UNKNOWN_KEY'],
    ]);
  });
});

describe('answers across a hub key rotation', () => {
  it('verifies through announcements from a trusted key, learns the new key, then refuses the retired one', async () => {
    let current: Answer = () => ({ body: '{}' });
    const engine = await enrolledKiosk(() => current);
    const k = f.kiosk;
    const now = Math.floor(f.clock.now() / 1000);
    // The hub rotated twice while this kiosk was away: hub1 → hub2 → hub3.
    const hub2 = generateKeyPair();
    const hub3 = generateKeyPair();
    const chain = [
      announce('hub2', hub2.publicKey, 'hub1', f.hub.privateKey),
      announce('hub3', hub3.publicKey, 'hub2', hub2.privateKey),
    ];
    const fine = k.fines.get(OVERDUE)!;
    // Page 1: only a fine, signed by hub3, which the kiosk has never seen: verified through the chain.
    current = signed(
      pullBody([{ cursor: 1, kind: 'fine', fine: { ...fine, points: 3 } }]),
      'hub3',
      hub3.privateKey,
      chain,
    );
    expect((await engine.pullOnce()).ok).toBe(true);
    expect(k.fines.get(OVERDUE)?.points).toBe(3);
    // Without the chain it does not verify.
    current = signed(pullBody([{ cursor: 2, kind: 'fine', fine }]), 'hub3', hub3.privateKey);
    expect(await engine.pullOnce()).toMatchObject({ ok: false, error: { code: 'HUB_ANSWER_UNVERIFIED' } });
    // Page 2: the announcements themselves, as the feed carries them (each retirement signed by the new key).
    const ann = (
      keyId: string,
      publicKey: string,
      retiredAt: number,
      signedBy: string,
      signer: KeyObject,
    ): PullChange => {
      const a: HubKeyAnnouncement = { keyId, publicKey, retiredAt, signedBy };
      return {
        cursor: 0,
        kind: 'hubKey',
        key: { keyId, publicKey: a.publicKey },
        retired: retiredAt > 0,
        retiredAt,
        signedBy,
        sig: signHubKey(a, signer),
      };
    };
    const feed = [
      ann('hub2', publicKeyToRaw(hub2.publicKey), 0, 'hub1', f.hub.privateKey),
      ann('hub1', f.hub.publicKeyRaw, now, 'hub2', hub2.privateKey),
      ann('hub3', publicKeyToRaw(hub3.publicKey), 0, 'hub2', hub2.privateKey),
      ann('hub2', publicKeyToRaw(hub2.publicKey), now, 'hub3', hub3.privateKey),
    ].map((c, i) => ({ ...c, cursor: 3 + i }));
    current = signed(pullBody(feed), 'hub3', hub3.privateKey, chain);
    expect((await engine.pullOnce()).ok).toBe(true);
    expect(k.trust.list().map((x) => [x.keyId, x.retiredAt !== null])).toEqual([
      ['hub1', true],
      ['hub2', true],
      ['hub3', false],
    ]);
    // Now hub3 alone is enough; the retired keys sign no answer, chain or not.
    current = signed(
      pullBody([{ cursor: 8, kind: 'fine', fine: { ...fine, points: 4 } }]),
      'hub3',
      hub3.privateKey,
    );
    expect((await engine.pullOnce()).ok).toBe(true);
    expect(k.fines.get(OVERDUE)?.points).toBe(4);
    const before = snapshot();
    const attack = pullBody([{ cursor: 9, kind: 'fine', fine: { ...fine, status: 'paid' } }]);
    for (const a of [
      signed(attack, 'hub1', f.hub.privateKey),
      signed(attack, 'hub2', hub2.privateKey, chain),
      signed(attack, 'hubx', hub2.privateKey, [announce('hubx', hub2.publicKey, 'hub1', f.hub.privateKey)]),
    ]) {
      current = a;
      expect(await engine.pullOnce()).toMatchObject({ ok: false, error: { code: 'HUB_ANSWER_UNVERIFIED' } });
      expect(snapshot()).toEqual(before);
    }
  });
});
