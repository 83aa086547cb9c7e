// The hub's signing keys: the current one (made on first use), the list kiosks trust, rotation.
import { createPublicKey, randomBytes } from 'node:crypto';
import {
  generateKeyPair,
  privateKeyFromPem,
  privateKeyToPem,
  publicKeyToRaw,
} from '../../protocol/signing.ts';
import type { HubKeyInfo } from '../../protocol/sync.ts';
import type { TrustedHubKey } from '../../protocol/acceptance.ts';
import { signHubKey, type HubKeyAnnouncement } from '../../protocol/hubkeys.ts';
import type { HubQueryable } from '../db.ts';
import type { HubCtx } from './context.ts';
import type { HubKey } from './types.ts';

const KEY_LOCK = 727003;

function newKeyId(): string {
  return 'k' + randomBytes(8).toString('hex').slice(0, 10);
}

/** The hub keys part of the service (hub.keys). */
export type HubKeys = ReturnType<typeof createKeys>;

/** Builds hub.keys: current, list, trustedMap, rotate. */
export function createKeys(ctx: HubCtx) {
  const { db, nowS, notifyFeed, addChange } = ctx;

  async function listKeys(q: HubQueryable = db): Promise<HubKey[]> {
    const r = await q.query<{
      key_id: string;
      public_key: string;
      private_pem: string;
      retired_at: number | null;
    }>('SELECT key_id, public_key, private_pem, retired_at FROM hub_keys ORDER BY created_at, key_id');
    return r.rows.map((k) => ({
      keyId: k.key_id,
      publicKey: k.public_key,
      privateKey: privateKeyFromPem(k.private_pem),
      retired: k.retired_at !== null,
      retiredAt: k.retired_at === null ? null : Number(k.retired_at),
    }));
  }

  async function insertKey(tx: HubQueryable): Promise<HubKey> {
    const kp = generateKeyPair();
    const key: HubKey = {
      keyId: newKeyId(),
      publicKey: publicKeyToRaw(kp.publicKey),
      privateKey: kp.privateKey,
      retired: false,
      retiredAt: null,
    };
    await tx.query(
      'INSERT INTO hub_keys (key_id, public_key, private_pem, created_at) VALUES ($1, $2, $3, $4)',
      [key.keyId, key.publicKey, privateKeyToPem(kp.privateKey), nowS()],
    );
    return key;
  }

  const keys = {
    /** The key that signs new confirmations; made on first use. */
    async current(): Promise<HubKey> {
      const all = await listKeys();
      const active = all.filter((k) => !k.retired).at(-1);
      if (active) return active;
      return db.transaction(async (tx) => {
        await tx.query('SELECT pg_advisory_xact_lock($1)', [KEY_LOCK]);
        const again = (await listKeys(tx)).filter((k) => !k.retired).at(-1);
        return again ?? insertKey(tx);
      });
    },
    async list(): Promise<HubKeyInfo[]> {
      await keys.current();
      return (await listKeys()).map((k) => ({ keyId: k.keyId, publicKey: k.publicKey }));
    },
    /** Every key with its retirement, for verifying confirmations (protocol/acceptance.ts). */
    async trustedMap(q: HubQueryable = db): Promise<Map<string, TrustedHubKey>> {
      const all = await listKeys(q);
      return new Map(
        all.map((k) => [k.keyId, { key: createPublicKey(k.privateKey), retiredAt: k.retiredAt }]),
      );
    },
    /**
     * Makes a new signing key and retires the old ones (still trusted for payments made before). Kiosks
     * learn both from the feed, signed by a key they already trust (protocol/hubkeys.ts): the new key
     * signed by the key it replaces, each retirement signed by the new key.
     */
    async rotate(): Promise<HubKeyInfo> {
      await keys.current();
      return db.transaction(async (tx) => {
        await tx.query('SELECT pg_advisory_xact_lock($1)', [KEY_LOCK]);
        const old = (await listKeys(tx)).filter((k) => !k.retired);
        const at = nowS();
        const k = await insertKey(tx);
        const info = { keyId: k.keyId, publicKey: k.publicKey };
        const signer = old.at(-1) ?? k;
        const a: HubKeyAnnouncement = { ...info, retiredAt: 0, signedBy: signer.keyId };
        await addChange(
          tx,
          'hubKey',
          {},
          {
            key: info,
            retired: false,
            retiredAt: 0,
            signedBy: a.signedBy,
            sig: signHubKey(a, signer.privateKey),
          },
        );
        await tx.query('UPDATE hub_keys SET retired_at = $1 WHERE retired_at IS NULL AND key_id <> $2', [
          at,
          k.keyId,
        ]);
        for (const o of old) {
          const r: HubKeyAnnouncement = {
            keyId: o.keyId,
            publicKey: o.publicKey,
            retiredAt: at,
            signedBy: k.keyId,
          };
          await addChange(
            tx,
            'hubKey',
            {},
            {
              key: { keyId: o.keyId, publicKey: o.publicKey },
              retired: true,
              retiredAt: at,
              signedBy: k.keyId,
              sig: signHubKey(r, k.privateKey),
            },
          );
        }
        await notifyFeed(tx);
        return info;
      });
    },
  };

  return keys;
}
