// The hub signs its answers to signed device requests (issue 10; protocol/answers.ts,
// docs/wire-formats.md "Signed hub answers"): with its current key, carrying the key announcements that
// lead to that key so a kiosk that has not pulled a rotation yet can still verify.
import type { KeyObject } from 'node:crypto';
import {
  signAnswer,
  type AnswerBinding,
  type ChainEntry,
  MAX_ANSWER_KEY_CHAIN,
} from '../../protocol/answers.ts';
import { privateKeyFromPem } from '../../protocol/signing.ts';
import type { HubQueryable } from '../db.ts';

export interface AnswerSignerDeps {
  db: HubQueryable;
  /** Makes the hub's first key when there is none yet (hub.keys.current). */
  ensureKey(): Promise<unknown>;
}

/**
 * Returns a function that gives the signature headers of one answer (binding: device, method, path,
 * nonce, status; body: the bytes sent). One query per answer (the current key's id); the key object and
 * its announcement chain are read once per key id (announcements never change once written).
 */
export function answerSigner(
  deps: AnswerSignerDeps,
): (b: AnswerBinding, body: string | Uint8Array) => Promise<Record<string, string>> {
  const privateKeys = new Map<string, KeyObject>();
  const chains = new Map<string, ChainEntry[]>();

  async function current(): Promise<{ keyId: string; key: KeyObject }> {
    for (let i = 0; i < 2; i++) {
      const r = await deps.db.query<{ key_id: string; private_pem: string }>(
        `SELECT key_id, private_pem FROM hub_keys WHERE retired_at IS NULL
          ORDER BY created_at DESC, key_id DESC LIMIT 1`,
      );
      const row = r.rows[0];
      if (row) {
        let key = privateKeys.get(row.key_id);
        if (!key) {
          key = privateKeyFromPem(row.private_pem);
          privateKeys.set(row.key_id, key);
        }
        return { keyId: row.key_id, key };
      }
      await deps.ensureKey();
    }
    throw new Error('the hub has no signing key');
  }

  async function chainTo(keyId: string): Promise<ChainEntry[]> {
    const cached = chains.get(keyId);
    if (cached) return cached;
    // Key announcements are global changes (no device, no region): the index on (device_id, pos) finds them.
    const r = await deps.db.query<{
      data: { key: { keyId: string; publicKey: string }; retired: boolean; signedBy?: string; sig?: string };
    }>(
      `SELECT data FROM changes WHERE device_id IS NULL AND region IS NULL AND kind = 'hubKey' ORDER BY pos`,
    );
    const all: ChainEntry[] = [];
    for (const { data } of r.rows) {
      if (data.retired || !data.signedBy || !data.sig) continue;
      all.push({
        keyId: data.key.keyId,
        publicKey: data.key.publicKey,
        signedBy: data.signedBy,
        sig: data.sig,
      });
    }
    // Up to the signing key's own announcement (none for the hub's first key).
    const end = all.findIndex((e) => e.keyId === keyId);
    const chain = end < 0 ? [] : all.slice(0, end + 1).slice(-MAX_ANSWER_KEY_CHAIN);
    chains.set(keyId, chain);
    return chain;
  }

  return async (b, body) => {
    const k = await current();
    return signAnswer(b, body, k.keyId, k.key, await chainTo(k.keyId));
  };
}
