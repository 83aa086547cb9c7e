// Hub keys trusted to sign payment confirmations, by key id. Trust comes only through the hub (issue 10):
// the keys handed over at enrollment, then keys announced in the pull feed signed by a key already
// trusted. A key id is never replaced; a retired key verifies only payments made before it retired.
import type { KeyObject } from 'node:crypto';
import type { Database } from '../../db/connection.ts';
import type { TrustedHubKey } from '../../protocol/acceptance.ts';
import { verifyHubKey, type HubKeyAnnouncement } from '../../protocol/hubkeys.ts';
import { keyIdSchema, publicKeyRawSchema } from '../../protocol/ids.ts';
import { fail, ok, type Result } from '../../protocol/result.ts';
import { publicKeyFromRaw } from '../../protocol/signing.ts';
import type { Clock } from '../../protocol/time.ts';

export interface TrustService {
  /**
   * Trusts a key (enrollment, or an operator on a stand-alone kiosk). The same key again changes nothing;
   * another key under a trusted id is refused with KEY_CONFLICT (a key id is never replaced).
   */
  addHubKey(
    keyId: string,
    publicKeyRaw: string,
  ): Result<{ keyId: string; publicKey: string; added: boolean }>;
  /**
   * Applies a key announcement from the pull feed: accepted only when signed by a trusted key that had not
   * retired; adds a new key or records a trusted key's retirement. Codes: MALFORMED, UNKNOWN_KEY,
   * KEY_RETIRED, BAD_SIGNATURE, KEY_CONFLICT.
   */
  applyAnnouncement(a: HubKeyAnnouncement, sig: string): Result<{ keyId: string; added: boolean }>;
  /** The key usable to verify a payment signed with `keyId`, with its retirement time. */
  trusted(keyId: string): TrustedHubKey | undefined;
  /** The public key of `keyId`, retired or not (display, tests). */
  hubKey(keyId: string): KeyObject | undefined;
  list(): { keyId: string; publicKey: string; addedAt: number; retiredAt: number | null }[];
  remove(keyId: string): boolean;
}

export function createTrustService(db: Database, clock: Clock): TrustService {
  const get = db.prepare<[string], { public_key: string; retired_at: number | null }>(
    'SELECT public_key, retired_at FROM hub_keys WHERE key_id = ?',
  );
  const insert = db.prepare<[string, string, number, number | null]>(
    'INSERT INTO hub_keys (key_id, public_key, added_at, retired_at) VALUES (?, ?, ?, ?)',
  );
  const retire = db.prepare<[number, string]>(
    'UPDATE hub_keys SET retired_at = ? WHERE key_id = ? AND retired_at IS NULL',
  );
  const keys = new Map<string, KeyObject>();
  const nowS = (): number => Math.floor(clock.now() / 1000);
  const keyOf = (keyId: string, raw: string): KeyObject | undefined => {
    const cached = keys.get(keyId);
    if (cached) return cached;
    const key = publicKeyFromRaw(raw);
    if (key) keys.set(keyId, key);
    return key;
  };

  const add = (
    keyId: string,
    publicKeyRaw: string,
    retiredAt: number | null,
  ): Result<{ keyId: string; publicKey: string; added: boolean }> => {
    const id = keyIdSchema.safeParse(keyId);
    if (!id.success) return fail('MALFORMED', id.error.issues[0]?.message);
    const pk = publicKeyRawSchema.safeParse(publicKeyRaw);
    if (!pk.success || !publicKeyFromRaw(pk.data)) {
      return fail('MALFORMED', 'public key must be a raw 32-byte Ed25519 key, base64url (43 characters)');
    }
    const before = get.get(id.data);
    if (before) {
      if (before.public_key !== pk.data) return fail('KEY_CONFLICT', `key id ${id.data}`);
      if (retiredAt !== null) retire.run(retiredAt, id.data);
      return ok({ keyId: id.data, publicKey: pk.data, added: false });
    }
    insert.run(id.data, pk.data, nowS(), retiredAt);
    return ok({ keyId: id.data, publicKey: pk.data, added: true });
  };

  const trusted = (keyId: string): TrustedHubKey | undefined => {
    const row = get.get(keyId);
    if (!row) return undefined;
    const key = keyOf(keyId, row.public_key);
    return key ? { key, retiredAt: row.retired_at } : undefined;
  };

  return {
    addHubKey: (keyId, publicKeyRaw) => add(keyId, publicKeyRaw, null),
    applyAnnouncement: (a, sig) => {
      const signer = trusted(a.signedBy);
      if (!signer) return fail('UNKNOWN_KEY', `announcement signed by ${a.signedBy}`);
      // A retired key signs nothing new: a key stolen after its retirement cannot add keys.
      if (signer.retiredAt !== null && signer.retiredAt !== undefined)
        return fail('KEY_RETIRED', `announcement signed by retired key ${a.signedBy}`);
      if (typeof sig !== 'string' || !verifyHubKey(a, sig, signer.key)) return fail('BAD_SIGNATURE');
      const r = add(a.keyId, a.publicKey, a.retiredAt > 0 ? a.retiredAt : null);
      return r.ok ? ok({ keyId: r.value.keyId, added: r.value.added }) : r;
    },
    trusted,
    hubKey: (keyId) => trusted(keyId)?.key,
    list: () =>
      (
        db.prepare('SELECT key_id, public_key, added_at, retired_at FROM hub_keys ORDER BY key_id').all() as {
          key_id: string;
          public_key: string;
          added_at: number;
          retired_at: number | null;
        }[]
      ).map((r) => ({
        keyId: r.key_id,
        publicKey: r.public_key,
        addedAt: r.added_at,
        retiredAt: r.retired_at,
      })),
    remove: (keyId) => {
      keys.delete(keyId);
      return db.prepare('DELETE FROM hub_keys WHERE key_id = ?').run(keyId).changes > 0;
    },
  };
}
