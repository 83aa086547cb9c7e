// Asking the hub for more decision numbers: a signed POST (same scheme as push and pull) made when the
// device runs low and is online. The request id is stored before sending and reused until an answer is
// stored, so a lost answer costs nothing: the hub answers a repeat with the same block.
import { randomBytes, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { writeTx } from '../../db/connection.ts';
import { HEADER_HUB_KEYS, HEADER_HUB_SIGNATURE, checkAnswer } from '../../protocol/answers.ts';
import { fail, ok, type Result } from '../../protocol/result.ts';
import { signRequest, wireFailureSchema } from '../../protocol/sync.ts';
import { unixSeconds } from '../../protocol/time.ts';
import type { ErrorCode } from '../../protocol/errors.ts';
import { messages } from '../../protocol/errors.ts';
import type { Kiosk } from '../kiosk.ts';
import { addBlocks, decisionBlockSchema, LOW_WATER, numberStatus, type NumberStatus } from './numbers.ts';

export const BLOCKS_PATH = '/v1/officer/blocks';
const PENDING_KEY = 'pendingBlockRequest';

const responseSchema = z.object({ blocks: z.array(decisionBlockSchema).max(100), hubTime: z.number().int() });

export interface RefillOptions {
  /** The hub's sync URL (defaults to the one stored at enrollment). */
  hubBase?: string;
  fetch?: typeof fetch;
  /** Ask even when not low (an operator topping up). */
  force?: boolean;
  lowWater?: number;
  timeoutMs?: number;
}

export interface RefillReport {
  asked: boolean;
  added: number;
  numbers: NumberStatus;
}

/** The hub this kiosk enrolled with (sync_state, written by enrollment), if any. */
export function syncHubUrl(kiosk: Kiosk): string | undefined {
  try {
    const row = kiosk.db.prepare('SELECT hub_url FROM sync_state WHERE id = 1').get() as
      { hub_url: string | null } | undefined;
    return row?.hub_url ?? undefined;
  } catch {
    return undefined; // no sync tables in this database
  }
}

/**
 * Keeps numbers topped up while the app runs: checks every intervalMs and asks the hub when low.
 * Failures (offline) are left for the next round; the officer screen shows the warning meanwhile.
 */
export function startNumberRefill(
  kiosk: Kiosk,
  opts: RefillOptions & { intervalMs?: number } = {},
): { stop(): void; now(): Promise<Result<RefillReport>> } {
  let busy: Promise<Result<RefillReport>> | undefined;
  const once = (): Promise<Result<RefillReport>> => {
    if (!syncHubUrl(kiosk) && !opts.hubBase) return Promise.resolve(fail('NOT_ENROLLED'));
    busy ??= refillNumbers(kiosk, opts).finally(() => (busy = undefined));
    return busy;
  };
  const timer = setInterval(() => {
    // The kiosk closed under us (app shutting down): stop asking.
    if (!kiosk.db.open) return clearInterval(timer);
    void once().catch(() => undefined);
  }, opts.intervalMs ?? 60_000);
  timer.unref();
  return { stop: () => clearInterval(timer), now: once };
}

function pendingRequestId(kiosk: Kiosk): string {
  const { db } = kiosk;
  return writeTx(db, () => {
    const row = db.prepare('SELECT value FROM officer_config WHERE key = ?').get(PENDING_KEY) as
      { value: string } | undefined;
    if (row) return row.value;
    const id = randomUUID();
    db.prepare("INSERT INTO officer_config (key, value, source, updated_at) VALUES (?, ?, 'device', ?)").run(
      PENDING_KEY,
      id,
      kiosk.clock.now(),
    );
    return id;
  });
}

/** Forgets the request id waiting for an answer: the next ask is a new request (after a recovery). */
export function dropPendingRequest(db: Kiosk['db']): void {
  db.prepare('DELETE FROM officer_config WHERE key = ?').run(PENDING_KEY);
}

/**
 * Asks the hub for a block when numbers are low (or when forced); stores what comes back. A stored
 * request the hub refuses as BLOCK_ALREADY_USED (this database was restored from a copy made before
 * that block arrived) is dropped and asked again once under a new id.
 */
export async function refillNumbers(kiosk: Kiosk, opts: RefillOptions = {}): Promise<Result<RefillReport>> {
  const first = await refillOnce(kiosk, opts);
  if (first.ok || first.error.code !== 'BLOCK_ALREADY_USED') return first;
  writeTx(kiosk.db, () => dropPendingRequest(kiosk.db));
  return refillOnce(kiosk, opts);
}

async function refillOnce(kiosk: Kiosk, opts: RefillOptions): Promise<Result<RefillReport>> {
  const { db } = kiosk;
  const before = numberStatus(db, opts.lowWater ?? LOW_WATER);
  if (!opts.force && !before.low) return ok({ asked: false, added: 0, numbers: before });
  const hubUrl = opts.hubBase ?? syncHubUrl(kiosk);
  if (!hubUrl) return fail('NOT_ENROLLED');
  const base = hubUrl.replace(/\/+$/, '');
  const requestId = pendingRequestId(kiosk);
  const body = JSON.stringify({ requestId, remaining: before.remaining });
  const nonce = randomBytes(18).toString('base64url');
  const headers = signRequest(
    kiosk.identity.privateKey,
    kiosk.identity.deviceId,
    'POST',
    BLOCKS_PATH,
    unixSeconds(kiosk.clock),
    nonce,
    body,
  );
  let res: Response;
  try {
    res = await (opts.fetch ?? fetch)(`${base}${BLOCKS_PATH}`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
    });
  } catch (e) {
    return fail('HUB_UNREACHABLE', (e as Error).message);
  }
  let text: string;
  try {
    text = await res.text();
  } catch (e) {
    return fail('HUB_UNREACHABLE', (e as Error).message);
  }
  // Nothing in an answer is believed before the hub's signature for this request holds, a refusal no less
  // than blocks: an unsigned BLOCK_ALREADY_USED would make the device drop its request and ask again.
  const v = checkAnswer(
    { deviceId: kiosk.identity.deviceId, method: 'POST', path: BLOCKS_PATH, nonce, status: res.status },
    text,
    res.headers.get(HEADER_HUB_SIGNATURE),
    res.headers.get(HEADER_HUB_KEYS),
    (id) => kiosk.trust.trusted(id),
  );
  if (!v.ok) return v;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return fail('HUB_UNREACHABLE', `answer ${res.status} is not JSON`);
  }
  if (!res.ok) {
    const w = wireFailureSchema.safeParse(json);
    const code = w.success && w.data.error.code in messages ? (w.data.error.code as ErrorCode) : 'UNEXPECTED';
    return fail(code, w.success ? w.data.error.message : `hub answered ${res.status}`);
  }
  const p = responseSchema.safeParse(json);
  if (!p.success) return fail('MALFORMED', `hub blocks answer: ${p.error.issues[0]?.message ?? ''}`);
  const added = writeTx(db, () => {
    const n = addBlocks(db, p.data.blocks, kiosk.clock.now());
    db.prepare('DELETE FROM officer_config WHERE key = ? AND value = ?').run(PENDING_KEY, requestId);
    return n;
  });
  return ok({ asked: true, added, numbers: numberStatus(db, opts.lowWater ?? LOW_WATER) });
}
