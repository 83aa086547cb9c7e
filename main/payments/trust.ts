// Hub keys trusted to sign payment confirmations, by key id (the hub may rotate keys; old ids stay valid).
import type { KeyObject } from 'node:crypto';
import type { Database } from '../../db/connection.ts';
import { keyIdSchema, publicKeyRawSchema } from '../../protocol/ids.ts';
import { fail, ok, type Result } from '../../protocol/result.ts';
import { publicKeyFromRaw } from '../../protocol/signing.ts';
import type { Clock } from '../../protocol/time.ts';

export interface TrustService {
  addHubKey(
    keyId: string,
    publicKeyRaw: string,
  ): Result<{ keyId: string; publicKey: string; replaced: boolean }>;
  hubKey(keyId: string): KeyObject | undefined;
  list(): { keyId: string; publicKey: string; addedAt: number }[];
  remove(keyId: string): boolean;
}

export function createTrustService(db: Database, clock: Clock): TrustService {
  const get = db.prepare<[string], { public_key: string }>(
    'SELECT public_key FROM hub_keys WHERE key_id = ?',
  );
  const upsert = db.prepare<[string, string, number]>(
    `INSERT INTO hub_keys (key_id, public_key, added_at) VALUES (?, ?, ?)
     ON CONFLICT (key_id) DO UPDATE SET public_key = excluded.public_key, added_at = excluded.added_at`,
  );
  const keys = new Map<string, KeyObject>();
  return {
    addHubKey: (keyId, publicKeyRaw) => {
      const id = keyIdSchema.safeParse(keyId);
      if (!id.success) return fail('MALFORMED', id.error.issues[0]?.message);
      const pk = publicKeyRawSchema.safeParse(publicKeyRaw);
      if (!pk.success || !publicKeyFromRaw(pk.data)) {
        return fail('MALFORMED', 'public key must be a raw 32-byte Ed25519 key, base64url (43 characters)');
      }
      const before = get.get(id.data);
      upsert.run(id.data, pk.data, Math.floor(clock.now() / 1000));
      keys.delete(id.data);
      return ok({
        keyId: id.data,
        publicKey: pk.data,
        replaced: before !== undefined && before.public_key !== pk.data,
      });
    },
    hubKey: (keyId) => {
      const cached = keys.get(keyId);
      if (cached) return cached;
      const row = get.get(keyId);
      const key = row ? publicKeyFromRaw(row.public_key) : undefined;
      if (key) keys.set(keyId, key);
      return key;
    },
    list: () =>
      (
        db.prepare('SELECT key_id, public_key, added_at FROM hub_keys ORDER BY key_id').all() as {
          key_id: string;
          public_key: string;
          added_at: number;
        }[]
      ).map((r) => ({ keyId: r.key_id, publicKey: r.public_key, addedAt: r.added_at })),
    remove: (keyId) => {
      keys.delete(keyId);
      return db.prepare('DELETE FROM hub_keys WHERE key_id = ?').run(keyId).changes > 0;
    },
  };
}
