// Ed25519 with node:crypto. Public keys travel as the raw 32-byte key, base64url.
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export function generateKeyPair(): KeyPair {
  return generateKeyPairSync('ed25519');
}

/** Raw 32-byte public key as base64url. */
export function publicKeyToRaw(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' }) as { x?: string };
  if (!jwk.x) throw new Error('not an Ed25519 public key');
  return jwk.x;
}

const RAW_KEY_RE = /^[A-Za-z0-9_-]{43}$/;

/** base64url raw key → KeyObject, or undefined if it is not a valid Ed25519 public key. */
export function publicKeyFromRaw(raw: string): KeyObject | undefined {
  if (!RAW_KEY_RE.test(raw)) return undefined;
  if (Buffer.from(raw, 'base64url').length !== 32) return undefined;
  try {
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw }, format: 'jwk' });
  } catch {
    return undefined;
  }
}

export function privateKeyToPem(key: KeyObject): string {
  return key.export({ format: 'pem', type: 'pkcs8' }).toString();
}

export function privateKeyFromPem(pem: string): KeyObject {
  return createPrivateKey({ key: pem, format: 'pem' });
}

export function signText(privateKey: KeyObject, text: string): string {
  return sign(null, Buffer.from(text, 'ascii'), privateKey).toString('base64url');
}

const SIG_RE = /^[A-Za-z0-9_-]{86}$/;

export function verifyText(publicKey: KeyObject, text: string, sig: string): boolean {
  if (!SIG_RE.test(sig)) return false;
  const bytes = Buffer.from(sig, 'base64url');
  // One spelling per signature: the last character's unused bits must be zero.
  if (bytes.length !== 64 || bytes.toString('base64url') !== sig) return false;
  try {
    return verify(null, Buffer.from(text, 'ascii'), publicKey, bytes);
  } catch {
    return false;
  }
}
