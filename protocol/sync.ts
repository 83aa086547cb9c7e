// Sync wire messages between kiosk and hub (version 1), checked with zod on both sides, and the
// request-signing scheme: each push/pull/lookup carries the device id, Unix time, a nonce and an Ed25519
// signature over method, path, time, nonce and the body's sha256.
import { createHash, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { decisionBlockSchema } from './decision.ts';
import { outboxEventSchema } from './events.ts';
import { fineSchema } from './fines.ts';
import { billNoSchema, deviceIdSchema, keyIdSchema, publicKeyRawSchema, unixSecondsSchema } from './ids.ts';
import { signText, verifyText } from './signing.ts';

/** Largest clock difference the hub accepts (docs/domain.md, Trust: 5 minutes). */
export const MAX_CLOCK_SKEW_SECONDS = 300;
/** Most events in one push. */
export const MAX_PUSH_EVENTS = 1000;
/** Largest request body the hub reads (bytes). */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;

export const HEADER_DEVICE = 'x-fk-device';
export const HEADER_TIME = 'x-fk-time';
export const HEADER_NONCE = 'x-fk-nonce';
export const HEADER_SIGNATURE = 'x-fk-signature';

export const SYNC_PATHS = {
  enroll: '/v1/enroll',
  push: '/v1/sync/push',
  pull: '/v1/sync/pull',
  lookup: '/v1/fines/lookup',
  time: '/v1/time',
  /** The device's own events as the hub holds them (recovery of a kiosk whose database went back). */
  events: '/v1/sync/events',
} as const;

export const nonceSchema = z.string().regex(/^[A-Za-z0-9_-]{16,64}$/);

export interface SignedHeaders {
  [HEADER_DEVICE]: string;
  [HEADER_TIME]: string;
  [HEADER_NONCE]: string;
  [HEADER_SIGNATURE]: string;
}

export function bodySha256(body: string | Uint8Array): string {
  return createHash('sha256').update(body).digest('hex');
}

/** The text a request signature covers; path includes the query string. */
export function requestSignedText(
  method: string,
  path: string,
  time: number,
  nonce: string,
  bodyHash: string,
): string {
  return `fk1\n${method.toUpperCase()}\n${path}\n${time}\n${nonce}\n${bodyHash}`;
}

export function signRequest(
  key: KeyObject,
  deviceId: string,
  method: string,
  path: string,
  time: number,
  nonce: string,
  body: string,
): SignedHeaders {
  const sig = signText(key, requestSignedText(method, path, time, nonce, bodySha256(body)));
  return {
    [HEADER_DEVICE]: deviceId,
    [HEADER_TIME]: String(time),
    [HEADER_NONCE]: nonce,
    [HEADER_SIGNATURE]: sig,
  };
}

export function verifyRequestSignature(
  key: KeyObject,
  method: string,
  path: string,
  time: number,
  nonce: string,
  body: string | Uint8Array,
  sig: string,
): boolean {
  // Paths are ASCII by construction; anything else cannot have been signed by us.
  if (!/^[\x20-\x7e]*$/.test(path)) return false;
  return verifyText(key, requestSignedText(method, path, time, nonce, bodySha256(body)), sig);
}

// ---- failures on the wire ----

export const wireFailureSchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    messageZh: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
  /** The hub's clock, Unix seconds: lets the kiosk compute its offset (always sent). */
  hubTime: z.number().int().optional(),
});
export type WireFailure = z.infer<typeof wireFailureSchema>;

// ---- enrollment ----

export const hubKeySchema = z.object({ keyId: keyIdSchema, publicKey: publicKeyRawSchema });
export type HubKeyInfo = z.infer<typeof hubKeySchema>;

export const hubConfigSchema = z.record(z.string(), z.unknown());

export const enrollRequestSchema = z.object({
  code: z.string().regex(/^[A-Z0-9-]{6,32}$/),
  publicKey: publicKeyRawSchema,
  /** The id the kiosk already uses for its outbox; the hub keeps it when free. */
  deviceId: deviceIdSchema.optional(),
});
export type EnrollRequest = z.infer<typeof enrollRequestSchema>;

export const enrollResponseSchema = z.object({
  deviceId: deviceIdSchema,
  name: z.string(),
  region: z.string(),
  hubKeys: z.array(hubKeySchema).min(1),
  config: hubConfigSchema,
  hubTime: unixSecondsSchema,
});
export type EnrollResponse = z.infer<typeof enrollResponseSchema>;

// ---- push ----

export const pushRequestSchema = z.object({
  events: z.array(outboxEventSchema).min(1).max(MAX_PUSH_EVENTS),
});
export type PushRequest = z.infer<typeof pushRequestSchema>;

export const rejectedEventSchema = z.object({
  seq: z.number().int().positive(),
  eventId: z.string(),
  code: z.string(),
  reason: z.string(),
});
export type RejectedEvent = z.infer<typeof rejectedEventSchema>;

export const pushResponseSchema = z.object({
  /** Highest seq the hub holds for this device after the push. */
  highestSeq: z.number().int().nonnegative(),
  applied: z.number().int().nonnegative(),
  duplicates: z.number().int().nonnegative(),
  /** Events taken into the log but refused by a rule; kept with the reason, never retried. */
  rejected: z.array(rejectedEventSchema),
  hubTime: unixSecondsSchema,
});
export type PushResponse = z.infer<typeof pushResponseSchema>;

// ---- pull ----

export const pullQuerySchema = z.object({
  cursor: z.coerce.number().int().nonnegative().default(0),
  /** Long-poll: seconds to wait for a change when there is none (0 = answer at once). */
  wait: z.coerce.number().int().min(0).max(60).default(0),
  limit: z.coerce.number().int().min(1).max(10_000).default(2000),
});

const changeBase = { cursor: z.number().int().positive() };

export const pullChangeSchema = z.discriminatedUnion('kind', [
  /** A fine of the kiosk's region: new, changed, paid elsewhere or cancelled. */
  z.object({ ...changeBase, kind: z.literal('fine'), fine: fineSchema }),
  /** A payment of one of this kiosk's bills, with the hub's confirmation token. */
  z.object({
    ...changeBase,
    kind: z.literal('payment'),
    billNo: billNoSchema,
    token: z.string().max(512),
  }),
  z.object({
    ...changeBase,
    kind: z.literal('void'),
    billNo: billNoSchema,
    reason: z.string().max(200),
  }),
  z.object({ ...changeBase, kind: z.literal('config'), config: hubConfigSchema }),
  /**
   * A new hub key, or a key's retirement, signed by a key the kiosk already trusts (protocol/hubkeys.ts):
   * the kiosk refuses an announcement it cannot verify, and never replaces a key id.
   */
  z.object({
    ...changeBase,
    kind: z.literal('hubKey'),
    key: hubKeySchema,
    retired: z.boolean(),
    /** Unix seconds of the retirement; 0 for a new key. */
    retiredAt: z.number().int().nonnegative().default(0),
    signedBy: keyIdSchema.optional(),
    sig: z.string().max(128).optional(),
  }),
  /** One of this device's pushed events the hub refused: kept on the kiosk and shown to staff. */
  z.object({
    ...changeBase,
    kind: z.literal('refused'),
    seq: z.number().int().positive(),
    eventId: z.string().max(64),
    code: z.string().max(64),
    reason: z.string().max(500),
  }),
]);
export type PullChange = z.infer<typeof pullChangeSchema>;

export const pullResponseSchema = z.object({
  changes: z.array(pullChangeSchema),
  /** Cursor to send next time. */
  cursor: z.number().int().nonnegative(),
  /** True when more changes are waiting: pull again at once. */
  more: z.boolean(),
  hubTime: unixSecondsSchema,
  /** Identity of the feed's history (hub/feed/identity.ts): a cursor from another epoch is void. */
  epoch: z.string().max(64).optional(),
  /** Highest feed position handed out: a cursor beyond it belongs to another history. */
  head: z.number().int().nonnegative().optional(),
  /** Highest seq of this device's events the hub holds: more than the kiosk has means the kiosk's
   *  database went back in time; less than the kiosk was told means the hub did. */
  deviceSeq: z.number().int().nonnegative().optional(),
});
export type PullResponse = z.infer<typeof pullResponseSchema>;

// ---- online lookup ----

export const lookupQuerySchema = z.union([
  z.object({ decisionNo: z.string().min(1).max(32) }),
  z.object({ plate: z.string().min(2).max(16), vin6: z.string().regex(/^[0-9A-Za-z]{6}$/) }),
]);
export const lookupResponseSchema = z.object({ fines: z.array(fineSchema), hubTime: unixSecondsSchema });
export type LookupResponse = z.infer<typeof lookupResponseSchema>;

// ---- recovery ----

export const eventsQuerySchema = z.object({
  after: z.coerce.number().int().nonnegative().default(0),
  limit: z.coerce.number().int().min(1).max(MAX_PUSH_EVENTS).default(MAX_PUSH_EVENTS),
});

/** A page of the device's own events as the hub holds them, with what enrollment gave it. */
export const eventsResponseSchema = z.object({
  events: z.array(outboxEventSchema),
  highestSeq: z.number().int().nonnegative(),
  more: z.boolean(),
  name: z.string(),
  region: z.string(),
  hubKeys: z.array(hubKeySchema),
  config: hubConfigSchema,
  hubTime: unixSecondsSchema,
  /**
   * Every block of decision numbers the hub handed to this device, oldest first (officer devices): a
   * recovering device holds them all as spent, since numbers it printed may be lost with its database.
   */
  blocks: z.array(decisionBlockSchema).max(100_000).optional(),
});
export type EventsResponse = z.infer<typeof eventsResponseSchema>;

export const timeResponseSchema = z.object({ hubTime: unixSecondsSchema });
