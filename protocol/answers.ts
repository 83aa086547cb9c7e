// Signed hub answers (issue 10; docs/wire-formats.md, "Signed hub answers"). The hub signs every answer to a
// signed device request (push, pull, lookup, events) with its current hub key, over the device id, the
// request's method, path, nonce, the answer's status and the sha256 of the answer's body bytes. The kiosk
// verifies before it uses anything in the answer: a spoofed hub, or anyone on the path, can then neither
// forge an answer nor replay a genuine one to another request.
//
//   x-fk-hub-signature  {keyId}.{sig}    sig: Ed25519, base64url without padding, over answerSignedText
//   x-fk-hub-keys       base64url(JSON)  the hub's key announcements (protocol/hubkeys.ts) that lead from an
//                                        older key to the signing key, oldest first; absent when none
//
// A kiosk that has not yet pulled a key rotation still trusts the key the new one was announced with: it
// walks the announcements from keys it trusts (never from a key it knows as retired) to the signing key.
import { z } from 'zod';
import type { TrustedHubKey } from './acceptance.ts';
import { verifyHubKey } from './hubkeys.ts';
import { keyIdSchema, publicKeyRawSchema } from './ids.ts';
import { fail, ok, type Result } from './result.ts';
import { publicKeyFromRaw, signText, verifyText } from './signing.ts';
import { bodySha256 } from './sync.ts';
import type { KeyObject } from 'node:crypto';

export const HEADER_HUB_SIGNATURE = 'x-fk-hub-signature';
export const HEADER_HUB_KEYS = 'x-fk-hub-keys';
/** Most announcements an answer carries (a kiosk offline over more rotations re-enrolls). */
export const MAX_ANSWER_KEY_CHAIN = 16;

/** What an answer's signature covers. `path` includes the query string, exactly as the device signed it. */
export interface AnswerBinding {
  deviceId: string;
  method: string;
  path: string;
  /** The request's nonce (x-fk-nonce): an answer verifies for this one request only. */
  nonce: string;
  /** HTTP status of the answer. */
  status: number;
}

/** A new-key announcement as carried in x-fk-hub-keys (retiredAt is always 0 there). */
export const chainEntrySchema = z.object({
  keyId: keyIdSchema,
  publicKey: publicKeyRawSchema,
  signedBy: keyIdSchema,
  sig: z.string().max(128),
});
export type ChainEntry = z.infer<typeof chainEntrySchema>;

/** The text an answer signature covers: `fkh1\n{deviceId}\n{METHOD}\n{path}\n{nonce}\n{status}\n{sha256 hex}`. */
export function answerSignedText(b: AnswerBinding, body: string | Uint8Array): string {
  return `fkh1\n${b.deviceId}\n${b.method.toUpperCase()}\n${b.path}\n${b.nonce}\n${b.status}\n${bodySha256(body)}`;
}

/**
 * The two headers of a signed answer: the signature by `keyId` with `privateKey` over answerSignedText, and
 * (when `chain` is not empty) the announcements leading to `keyId`, base64url JSON.
 */
export function signAnswer(
  b: AnswerBinding,
  body: string | Uint8Array,
  keyId: string,
  privateKey: KeyObject,
  chain: ChainEntry[] = [],
): Record<string, string> {
  const h: Record<string, string> = {
    [HEADER_HUB_SIGNATURE]: `${keyId}.${signText(privateKey, answerSignedText(b, body))}`,
  };
  const c = chain.slice(-MAX_ANSWER_KEY_CHAIN);
  if (c.length) h[HEADER_HUB_KEYS] = Buffer.from(JSON.stringify(c), 'utf8').toString('base64url');
  return h;
}

const isRetired = (k: TrustedHubKey): boolean => k.retiredAt !== undefined && k.retiredAt !== null;

/**
 * Verifies a hub answer before anything in it is used. `trusted` gives the keys this side trusts, with
 * their retirement. The signing key must be trusted and not retired, or be reached by the announcements
 * in `keysHeader` from such a key (each signed by a key trusted or reached before it, never replacing a
 * trusted key id). Returns the signing key id. Codes: HUB_ANSWER_UNVERIFIED (no or malformed signature,
 * unknown, retired or unreachable key, or a signature that does not hold), each with its reason.
 */
export function verifyAnswer(
  b: AnswerBinding,
  body: string | Uint8Array,
  signatureHeader: string | null | undefined,
  keysHeader: string | null | undefined,
  trusted: (keyId: string) => TrustedHubKey | undefined,
): Result<{ keyId: string }> {
  if (!signatureHeader) return fail('HUB_ANSWER_UNVERIFIED', 'answer is not signed');
  const m = /^([a-z0-9]{1,16})\.([A-Za-z0-9_-]{86})$/.exec(signatureHeader);
  if (!m) return fail('HUB_ANSWER_UNVERIFIED', 'answer signature is malformed');
  const keyId = m[1]!;
  const sig = m[2]!;
  let key: KeyObject | undefined;
  const own = trusted(keyId);
  if (own) {
    if (isRetired(own)) return fail('HUB_ANSWER_UNVERIFIED', `answer signed by retired key ${keyId}`);
    key = own.key;
  } else {
    const chain = parseChain(keysHeader);
    if (!chain.ok) return chain;
    key = reach(keyId, chain.value, trusted);
    if (!key) return fail('HUB_ANSWER_UNVERIFIED', `answer signed by unknown key ${keyId}`);
  }
  if (!verifyText(key, answerSignedText(b, body), sig)) {
    return fail('HUB_ANSWER_UNVERIFIED', 'answer signature does not verify');
  }
  return ok({ keyId });
}

/**
 * The rule for every answer a device gets from the hub, in one place: `verifyAnswer`, except that a failure
 * answer (status other than 200) carrying no signature at all (a proxy's 502 page, a hub restarting, or anyone
 * on the path) is the hub out of reach. Its content (a refusal, an expected seq, a clock) is never acted on.
 * Codes: HUB_UNREACHABLE for an unsigned failure; HUB_ANSWER_UNVERIFIED as `verifyAnswer`.
 */
export function checkAnswer(
  b: AnswerBinding,
  body: string | Uint8Array,
  signatureHeader: string | null | undefined,
  keysHeader: string | null | undefined,
  trusted: (keyId: string) => TrustedHubKey | undefined,
): Result<{ keyId: string }> {
  const v = verifyAnswer(b, body, signatureHeader, keysHeader, trusted);
  if (!v.ok && b.status !== 200 && !signatureHeader) {
    return fail('HUB_UNREACHABLE', `hub answered ${b.status} without its signature`);
  }
  return v;
}

function parseChain(header: string | null | undefined): Result<ChainEntry[]> {
  if (!header) return ok([]);
  if (header.length > 8192 || !/^[A-Za-z0-9_-]+$/.test(header)) {
    return fail('HUB_ANSWER_UNVERIFIED', 'key announcements are malformed');
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'));
  } catch {
    return fail('HUB_ANSWER_UNVERIFIED', 'key announcements are malformed');
  }
  const p = z.array(chainEntrySchema).max(MAX_ANSWER_KEY_CHAIN).safeParse(json);
  if (!p.success) return fail('HUB_ANSWER_UNVERIFIED', 'key announcements are malformed');
  return ok(p.data);
}

/** The key `target` as reached through `chain` from keys trusted and not retired; undefined when not. */
function reach(
  target: string,
  chain: ChainEntry[],
  trusted: (keyId: string) => TrustedHubKey | undefined,
): KeyObject | undefined {
  const reached = new Map<string, KeyObject>();
  const signerOf = (id: string): KeyObject | undefined => {
    const t = trusted(id);
    if (t) return isRetired(t) ? undefined : t.key;
    return reached.get(id);
  };
  for (const e of chain) {
    // A trusted key id is never replaced, and an id reached once stays as reached.
    if (trusted(e.keyId) || reached.has(e.keyId)) continue;
    const signer = signerOf(e.signedBy);
    if (!signer) continue;
    if (
      !verifyHubKey(
        { keyId: e.keyId, publicKey: e.publicKey, retiredAt: 0, signedBy: e.signedBy },
        e.sig,
        signer,
      )
    )
      continue;
    const k = publicKeyFromRaw(e.publicKey);
    if (k) reached.set(e.keyId, k);
  }
  return reached.get(target);
}
