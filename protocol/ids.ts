// Character sets of the wire formats (docs/wire-formats.md). No field may contain a '.'.
import { z } from 'zod';

export const BILL_NO_RE = /^[A-Z0-9-]{1,32}$/;
export const DECISION_NO_RE = /^[0-9A-Za-z]{1,32}$/;
export const DEVICE_ID_RE = /^[a-z0-9]{6,32}$/;
export const KEY_ID_RE = /^[a-z0-9]{1,16}$/;
export const TXN_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
/** Default regional pattern for decision numbers: 15 to 20 digits (configurable per deployment). */
export const DEFAULT_DECISION_PATTERN = '^[0-9]{15,20}$';
export const REGION_RE = /^[0-9]{6}$/;
export const VIN6_RE = /^[0-9A-Za-z]{6}$/;

export const billNoSchema = z.string().regex(BILL_NO_RE, 'bill number: A-Z, 0-9 and -, 1 to 32 characters');
export const decisionNoSchema = z
  .string()
  .regex(DECISION_NO_RE, 'decision number: letters and digits, 1 to 32');
export const deviceIdSchema = z.string().regex(DEVICE_ID_RE, 'device id: a-z and 0-9, 6 to 32 characters');
export const keyIdSchema = z.string().regex(KEY_ID_RE, 'key id: a-z and 0-9, 1 to 16 characters');
export const txnIdSchema = z.string().regex(TXN_ID_RE, 'transaction id: letters, digits, _ and -, 1 to 64');
export const channelSchema = z.enum(['alipay', 'wechat']);
export type Channel = z.infer<typeof channelSchema>;
export const fenSchema = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
export const unixSecondsSchema = z
  .number()
  .int()
  .nonnegative()
  .max(2 ** 40);
export const publicKeyRawSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{43}$/, 'raw Ed25519 public key, base64url');
