// Bill and confirmation tokens, wire format version 1 (fixed; see docs/wire-formats.md).
//   b1.{billNo}.{decisionNo}.{amountFen}.{issuedAt}.{expiresAt}.{deviceId}.{sig}
//   c1.{billNo}.{amountFen}.{channel}.{txnId}.{paidAt}.{keyId}.{sig}
// sig: Ed25519, base64url without padding (86 chars), over the ASCII of everything before the last '.'.
import type { KeyObject } from 'node:crypto';
import { BILL_NO_RE, DECISION_NO_RE, DEVICE_ID_RE, KEY_ID_RE, TXN_ID_RE, type Channel } from './ids.ts';
import { fail, ok, type Result } from './result.ts';
import { signText, verifyText } from './signing.ts';

export const BILL_VALIDITY_SECONDS = 4 * 3600;
/** Longest token we accept at all: bounds the work done on hostile input. */
const MAX_TOKEN_LENGTH = 512;
const UINT_RE = /^(0|[1-9][0-9]{0,15})$/;
/** 86 base64url characters; the last one carries 2 bits of the 64 bytes and 4 unused bits, which must be
 * zero so that one signature has one spelling (else 16 spellings of one token would all verify). */
const SIG_RE = /^[A-Za-z0-9_-]{85}[AQgw]$/;
/** Times beyond 2^40 s (year 36812) are nonsense; the event log (unixSecondsSchema) refuses them too. */
const MAX_TIME = 2 ** 40;

export interface BillClaims {
  billNo: string;
  decisionNo: string;
  amountFen: number;
  issuedAt: number;
  expiresAt: number;
  deviceId: string;
}

export interface ConfirmationClaims {
  billNo: string;
  amountFen: number;
  channel: Channel;
  txnId: string;
  paidAt: number;
  keyId: string;
}

export interface Parsed<C> {
  claims: C;
  /** Everything before the last '.', the signed text. */
  signed: string;
  sig: string;
}

function uint(s: string): number | undefined {
  if (!UINT_RE.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

function split(token: string, prefix: string, fields: number): string[] | undefined {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) return undefined;
  const parts = token.split('.');
  if (parts.length !== fields || parts[0] !== prefix) return undefined;
  return parts;
}

export function billSignedText(c: BillClaims): string {
  return ['b1', c.billNo, c.decisionNo, c.amountFen, c.issuedAt, c.expiresAt, c.deviceId].join('.');
}

export function confirmationSignedText(c: ConfirmationClaims): string {
  return ['c1', c.billNo, c.amountFen, c.channel, c.txnId, c.paidAt, c.keyId].join('.');
}

function checkBillClaims(c: BillClaims): string | undefined {
  if (!BILL_NO_RE.test(c.billNo)) return 'bad bill number';
  if (!DECISION_NO_RE.test(c.decisionNo)) return 'bad decision number';
  if (!DEVICE_ID_RE.test(c.deviceId)) return 'bad device id';
  if (!Number.isSafeInteger(c.amountFen) || c.amountFen < 0) return 'bad amount';
  if (!Number.isSafeInteger(c.issuedAt) || c.issuedAt < 0 || c.expiresAt > MAX_TIME) return 'bad issue time';
  if (c.expiresAt !== c.issuedAt + BILL_VALIDITY_SECONDS) return 'expiry is not issue time + 4 hours';
  return undefined;
}

function checkConfirmationClaims(c: ConfirmationClaims): string | undefined {
  if (!BILL_NO_RE.test(c.billNo)) return 'bad bill number';
  if (!Number.isSafeInteger(c.amountFen) || c.amountFen < 0) return 'bad amount';
  if (c.channel !== 'alipay' && c.channel !== 'wechat') return 'bad channel';
  if (!TXN_ID_RE.test(c.txnId)) return 'bad transaction id';
  if (!Number.isSafeInteger(c.paidAt) || c.paidAt < 0 || c.paidAt > MAX_TIME) return 'bad payment time';
  if (!KEY_ID_RE.test(c.keyId)) return 'bad key id';
  return undefined;
}

export function makeBillToken(claims: BillClaims, deviceKey: KeyObject): string {
  const bad = checkBillClaims(claims);
  if (bad) throw new RangeError(`cannot make bill token: ${bad}`);
  const text = billSignedText(claims);
  return `${text}.${signText(deviceKey, text)}`;
}

export function makeConfirmationToken(claims: ConfirmationClaims, hubKey: KeyObject): string {
  const bad = checkConfirmationClaims(claims);
  if (bad) throw new RangeError(`cannot make confirmation token: ${bad}`);
  const text = confirmationSignedText(claims);
  return `${text}.${signText(hubKey, text)}`;
}

/** Parses the syntax only; the signature is not checked here. */
export function parseBillToken(token: string): Result<Parsed<BillClaims>> {
  const p = split(token, 'b1', 8);
  if (!p) return fail('MALFORMED', 'not a b1 bill token');
  const [, billNo, decisionNo, amount, issued, expires, deviceId, sig] = p as [string, ...string[]];
  const amountFen = uint(amount!);
  const issuedAt = uint(issued!);
  const expiresAt = uint(expires!);
  if (amountFen === undefined || issuedAt === undefined || expiresAt === undefined) {
    return fail('MALFORMED', 'amount and times must be whole numbers');
  }
  if (!SIG_RE.test(sig!)) return fail('MALFORMED', 'signature is not 86 canonical base64url characters');
  const claims: BillClaims = {
    billNo: billNo!,
    decisionNo: decisionNo!,
    amountFen,
    issuedAt,
    expiresAt,
    deviceId: deviceId!,
  };
  const bad = checkBillClaims(claims);
  if (bad) return fail('MALFORMED', bad);
  return ok({ claims, signed: token.slice(0, token.lastIndexOf('.')), sig: sig! });
}

export function parseConfirmationToken(token: string): Result<Parsed<ConfirmationClaims>> {
  const p = split(token, 'c1', 8);
  if (!p) return fail('MALFORMED', 'not a c1 confirmation token');
  const [, billNo, amount, channel, txnId, paid, keyId, sig] = p as [string, ...string[]];
  const amountFen = uint(amount!);
  const paidAt = uint(paid!);
  if (amountFen === undefined || paidAt === undefined)
    return fail('MALFORMED', 'amount and time must be whole numbers');
  if (!SIG_RE.test(sig!)) return fail('MALFORMED', 'signature is not 86 canonical base64url characters');
  const claims = {
    billNo: billNo!,
    amountFen,
    channel: channel as Channel,
    txnId: txnId!,
    paidAt,
    keyId: keyId!,
  };
  const bad = checkConfirmationClaims(claims);
  if (bad) return fail('MALFORMED', bad);
  return ok({ claims, signed: token.slice(0, token.lastIndexOf('.')), sig: sig! });
}

/** Looks up a public key by id; undefined when the id is not trusted. */
export type KeyLookup = (id: string) => KeyObject | undefined;

/** Parse and verify a bill token against the issuing device's key. */
export function verifyBillToken(token: string, deviceKeys: KeyLookup): Result<BillClaims> {
  const parsed = parseBillToken(token);
  if (!parsed.ok) return parsed;
  const key = deviceKeys(parsed.value.claims.deviceId);
  if (!key) return fail('UNKNOWN_KEY', `device ${parsed.value.claims.deviceId}`);
  if (!verifyText(key, parsed.value.signed, parsed.value.sig)) return fail('BAD_SIGNATURE');
  return ok(parsed.value.claims);
}

/** Parse and verify a confirmation token against the trusted hub keys. */
export function verifyConfirmationToken(token: string, hubKeys: KeyLookup): Result<ConfirmationClaims> {
  const parsed = parseConfirmationToken(token);
  if (!parsed.ok) return parsed;
  const key = hubKeys(parsed.value.claims.keyId);
  if (!key) return fail('UNKNOWN_KEY', `key ${parsed.value.claims.keyId}`);
  if (!verifyText(key, parsed.value.signed, parsed.value.sig)) return fail('BAD_SIGNATURE');
  return ok(parsed.value.claims);
}

/** The URL printed in the bill's QR: {hubBase}/p/{billToken}. ASCII only. */
export function billUrl(hubBase: string, token: string): string {
  return `${hubBase.replace(/\/+$/, '')}/p/${token}`;
}

/** Extracts the bill token from a pay URL (or returns the input if it already is a token). */
export function tokenFromBillUrl(text: string): string | undefined {
  const t = text.trim();
  if (t.startsWith('b1.')) return t;
  const i = t.lastIndexOf('/p/');
  if (i < 0) return undefined;
  const tok = t.slice(i + 3).split(/[?#]/)[0];
  return tok && tok.startsWith('b1.') ? tok : undefined;
}
