// Small helpers both channel protocols share: Shanghai wall-clock formats, RSA SHA256 signatures,
// and pulling a member's exact bytes out of a JSON text (Alipay signs the raw response node).
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

const SHANGHAI_OFFSET_S = 8 * 3600;

/** Unix seconds → "yyyy-MM-dd HH:mm:ss" in Asia/Shanghai (Alipay's timestamp and time_expire). */
export function shanghaiTimestamp(unixS: number): string {
  const iso = new Date((unixS + SHANGHAI_OFFSET_S) * 1000).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
}

const SH_TS_RE = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.\d{1,3})?$/;

/**
 * "yyyy-MM-dd HH:mm:ss" (Asia/Shanghai) → Unix seconds, or undefined. A fraction of a second (Alipay's
 * gmt_refund is "yyyy-MM-dd HH:mm:ss.S") is accepted and dropped.
 */
export function parseShanghaiTimestamp(text: string): number | undefined {
  const m = SH_TS_RE.exec(text);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}+08:00`);
  return Number.isNaN(ms) ? undefined : ms / 1000;
}

/** Unix seconds → RFC 3339 with +08:00 (WeChat Pay's time_expire and success_time). */
export function rfc3339Shanghai(unixS: number): string {
  const iso = new Date((unixS + SHANGHAI_OFFSET_S) * 1000).toISOString();
  return `${iso.slice(0, 19)}+08:00`;
}

const RFC3339_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

export function parseRfc3339(text: string): number | undefined {
  if (!RFC3339_RE.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

/** fen → Alipay's yuan string with two decimals: 20000 → "200.00". */
export function fenToYuan(fen: number): string {
  return `${Math.floor(fen / 100)}.${String(fen % 100).padStart(2, '0')}`;
}

/** Alipay's yuan string → fen; undefined unless it is a plain amount with at most two decimals. */
export function yuanToFen(text: string): number | undefined {
  const m = /^(\d{1,10})(?:\.(\d{1,2}))?$/.exec(text);
  if (!m) return undefined;
  return Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
}

export function privateKey(pem: string): KeyObject {
  return createPrivateKey({ key: pem, format: 'pem' });
}

export function publicKey(pem: string): KeyObject {
  return createPublicKey({ key: pem, format: 'pem' });
}

/** SHA256withRSA (PKCS#1 v1.5), base64. */
export function rsaSign(key: KeyObject, text: string): string {
  return sign('sha256', Buffer.from(text, 'utf8'), key).toString('base64');
}

export function rsaVerify(key: KeyObject, text: string, sigB64: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(sigB64) || sigB64.length > 1024) return false;
  try {
    return verify('sha256', Buffer.from(text, 'utf8'), key, Buffer.from(sigB64, 'base64'));
  } catch {
    return false;
  }
}

/**
 * The exact text of a top-level member's value in a JSON object, e.g. the `{...}` after
 * `"alipay_trade_query_response":`. Alipay signs these bytes, so re-serialising would not do.
 */
export function rawJsonMember(text: string, name: string): string | undefined {
  const key = `"${name}"`;
  let i = text.indexOf(key);
  if (i < 0) return undefined;
  i += key.length;
  while (i < text.length && /\s/.test(text[i]!)) i++;
  if (text[i] !== ':') return undefined;
  i++;
  while (i < text.length && /\s/.test(text[i]!)) i++;
  if (text[i] !== '{') return undefined;
  const start = i;
  let depth = 0;
  let inString = false;
  for (; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}') {
      depth--;
      if (depth === 0) return text.slice(start, i + 1);
    }
  }
  return undefined;
}

export function randomToken(bytes = 16): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const buf = globalThis.crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(buf, (b) => chars[b % chars.length]).join('');
}
