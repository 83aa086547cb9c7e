// Outbox events: the append-only, hash-chained log each device pushes to the hub. Kiosk and hub both
// validate payloads with these schemas, so an event means the same on both sides.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import {
  billNoSchema,
  channelSchema,
  decisionNoSchema,
  deviceIdSchema,
  fenSchema,
  txnIdSchema,
  unixSecondsSchema,
} from './ids.ts';
import { fineSchema } from './fines.ts';

export const GENESIS_HASH = '0'.repeat(64);

export const billIssuedPayload = z.object({
  billNo: billNoSchema,
  decisionNo: decisionNoSchema,
  fineFen: fenSchema,
  lateFeeFen: fenSchema,
  amountFen: fenSchema,
  issuedAt: unixSecondsSchema,
  expiresAt: unixSecondsSchema,
  token: z.string().max(512),
  /** The bill this one replaced (voided by reissue), if any. */
  replaces: billNoSchema.optional(),
});

export const billVoidedPayload = z.object({
  billNo: billNoSchema,
  reason: z.enum(['reissued', 'staff', 'expired', 'hub']),
  at: unixSecondsSchema,
});

export const paymentConfirmedPayload = z.object({
  billNo: billNoSchema,
  decisionNo: decisionNoSchema,
  amountFen: fenSchema,
  channel: channelSchema,
  txnId: txnIdSchema,
  paidAt: unixSecondsSchema,
  /** How the kiosk learned of it: a scanned confirmation token, or the hub's pull. */
  source: z.enum(['scan', 'hub']),
  token: z.string().max(512).optional(),
});

export const finesImportedPayload = z.object({
  count: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  source: z.string().max(200),
});

/** An officer's on-the-spot ticket: the fine it creates travels whole so the hub can add it. */
export const ticketIssuedPayload = z.object({
  fine: fineSchema,
  vehicleKind: z.string().max(32),
  officerId: z.string().max(32),
  billNo: billNoSchema.optional(),
});

export const printJobPayload = z.object({
  jobId: z.string().max(64),
  kind: z.string().max(32),
  ref: z.string().max(64),
  /** printed: proved by the printer or confirmed by a person; unverified: sent, not proved. */
  state: z.enum(['printed', 'unverified', 'failed']),
  proof: z.enum(['process-id', 'gs-r', 'confirmed']).optional(),
  error: z.string().max(200).optional(),
});

export const shiftClosedPayload = z.object({
  shiftId: z.string().max(64),
  staffId: z.string().max(64),
  openedAt: unixSecondsSchema,
  closedAt: unixSecondsSchema,
  totals: z.record(z.string(), z.object({ count: z.number().int(), amountFen: fenSchema })),
});

export const eventPayloads = {
  'bill.issued': billIssuedPayload,
  'bill.voided': billVoidedPayload,
  'payment.confirmed': paymentConfirmedPayload,
  'fines.imported': finesImportedPayload,
  'ticket.issued': ticketIssuedPayload,
  'print.job': printJobPayload,
  'shift.closed': shiftClosedPayload,
} as const;

export type EventType = keyof typeof eventPayloads;
export const eventTypeSchema = z.enum(Object.keys(eventPayloads) as [EventType, ...EventType[]]);
export type EventPayload<T extends EventType> = z.infer<(typeof eventPayloads)[T]>;

/** One outbox event as stored and as pushed. `at` is Unix milliseconds; payload is the JSON text. */
export const outboxEventSchema = z.object({
  deviceId: deviceIdSchema,
  seq: z.number().int().positive(),
  eventId: z.string().uuid(),
  type: eventTypeSchema,
  at: z.number().int().nonnegative(),
  payload: z.string().max(65_536),
  prevHash: z.string().regex(/^[0-9a-f]{64}$/),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
});
export type OutboxEvent = z.infer<typeof outboxEventSchema>;

/** hash = sha256 over the event's fields joined by newlines; payload is hashed as stored text. */
export function eventHash(e: Omit<OutboxEvent, 'hash'>): string {
  return createHash('sha256')
    .update(`${e.deviceId}\n${e.seq}\n${e.eventId}\n${e.type}\n${e.at}\n${e.prevHash}\n${e.payload}`)
    .digest('hex');
}

/** Checks the payload against its type's schema. */
export function parseEventPayload(type: EventType, payload: string): z.ZodSafeParseResult<unknown> {
  let json: unknown;
  try {
    json = JSON.parse(payload);
  } catch {
    return eventPayloads[type].safeParse(undefined);
  }
  return eventPayloads[type].safeParse(json);
}

/**
 * Verifies a run of events of one device: consecutive seqs, each prevHash the previous hash, each hash
 * right. Returns the index of the first broken event, or -1 when the run holds.
 */
export function firstBrokenEvent(
  events: readonly OutboxEvent[],
  prevHash = GENESIS_HASH,
  prevSeq = 0,
): number {
  let prev = prevHash;
  let seq = prevSeq;
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    if (e.seq !== seq + 1 || e.prevHash !== prev || eventHash(e) !== e.hash) return i;
    prev = e.hash;
    seq = e.seq;
  }
  return -1;
}
