// Hub key announcements in the pull feed (issue 10: the kiosk trusts hub keys only through the hub).
// A new key, or a key's retirement, reaches a kiosk only signed by a key the kiosk already trusts:
//   signed text  hk1.{keyId}.{publicKey}.{retiredAt or 0}.{signedBy}
//   sig          Ed25519 by the hub key `signedBy`, base64url without padding (as the tokens).
import type { KeyObject } from 'node:crypto';
import { signText, verifyText } from './signing.ts';

export interface HubKeyAnnouncement {
  keyId: string;
  /** Raw Ed25519 public key, base64url. */
  publicKey: string;
  /** Unix seconds when the key retired; 0 or absent while it signs. */
  retiredAt: number;
  /** Key id of the trusted key that signed this announcement. */
  signedBy: string;
}

export function hubKeySignedText(a: HubKeyAnnouncement): string {
  return ['hk1', a.keyId, a.publicKey, a.retiredAt, a.signedBy].join('.');
}

/** Signs an announcement with the hub key named a.signedBy. */
export function signHubKey(a: HubKeyAnnouncement, signer: KeyObject): string {
  return signText(signer, hubKeySignedText(a));
}

/** True when `sig` is signer's signature over the announcement. */
export function verifyHubKey(a: HubKeyAnnouncement, sig: string, signer: KeyObject): boolean {
  return verifyText(signer, hubKeySignedText(a), sig);
}
