// Device identity: an Ed25519 key pair made at first start. The private key lives in dataDir/device.key
// (PEM, pkcs8, mode 0600); the device id is derived from the public key so it can never drift from it.
import { createHash, type KeyObject } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  linkSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import {
  generateKeyPair,
  privateKeyFromPem,
  privateKeyToPem,
  publicKeyToRaw,
} from '../../protocol/signing.ts';
import { createPublicKey } from 'node:crypto';

export interface Identity {
  /** 12 lowercase base32 characters (a-z, 2-7), from the SHA-256 of the raw public key. */
  deviceId: string;
  /** Raw 32-byte Ed25519 public key, base64url. */
  publicKeyRaw: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export const KEY_FILE = 'device.key';
const B32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** Device id from a raw public key: base32 of its SHA-256, first 12 characters (60 bits). */
export function deviceIdFromPublicKey(publicKeyRaw: string): string {
  const h = createHash('sha256').update(Buffer.from(publicKeyRaw, 'base64url')).digest();
  let bits = 0;
  let acc = 0;
  let out = '';
  for (const byte of h) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < 12) {
      out += B32[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
    acc &= (1 << bits) - 1;
    if (out.length >= 12) break;
  }
  return out;
}

function fromPrivate(privateKey: KeyObject): Identity {
  const publicKey = createPublicKey(privateKey);
  const publicKeyRaw = publicKeyToRaw(publicKey);
  return { deviceId: deviceIdFromPublicKey(publicKeyRaw), publicKeyRaw, privateKey, publicKey };
}

/** Loads dataDir/device.key, or makes a new key pair and writes it (atomically, mode 0600) at first start. */
export function loadOrCreateIdentity(dataDir: string): Identity {
  const file = path.join(dataDir, KEY_FILE);
  if (existsSync(file)) {
    // Tighten a key file someone loosened; the key must stay readable by this user only.
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
    const key = privateKeyFromPem(readFileSync(file, 'utf8'));
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`${file} does not hold an Ed25519 private key`);
    return fromPrivate(key);
  }
  const { privateKey } = generateKeyPair();
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, privateKeyToPem(privateKey));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(tmp, 0o600);
  try {
    // link, not rename: if another process made its key first, keep theirs and use it.
    linkSync(tmp, file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    unlinkSync(tmp);
    return loadOrCreateIdentity(dataDir);
  }
  unlinkSync(tmp);
  // Make the new name itself durable.
  const dfd = openSync(dataDir, 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
  return fromPrivate(privateKey);
}
