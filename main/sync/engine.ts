// The kiosk's sync engine: pushes the outbox to the hub in sequence order, pulls changes (long poll) and
// applies them, retries with exponential backoff and full jitter (capped), and retries at once when told
// the network is back. Transport, clock, random and sleep are injected so tests and the fault proxy can
// drive it.
import { machineAddresses, NetworkWatcher, type AddressSource } from './network.ts';
import { healthReport } from './health.ts';
import { HEALTH_INTERVAL_S, HEALTH_PATH } from '../../protocol/health.ts';
import { randomBytes } from 'node:crypto';
import type { Database } from '../../db/connection.ts';
import type { Fine } from '../../protocol/fines.ts';
import { fail, failure, FailureError, ok, type Failure, type Result } from '../../protocol/result.ts';
import { messages, type ErrorCode } from '../../protocol/errors.ts';
import {
  enrollResponseSchema,
  eventsResponseSchema,
  type EventsResponse,
  lookupResponseSchema,
  MAX_PUSH_EVENTS,
  pullResponseSchema,
  pushResponseSchema,
  signRequest,
  SYNC_PATHS,
  wireFailureSchema,
  type EnrollResponse,
  type PullChange,
  type PushResponse,
} from '../../protocol/sync.ts';
import type { Clock } from '../../protocol/time.ts';
import { verifyConfirmation } from '../../protocol/acceptance.ts';
import { HEADER_HUB_KEYS, HEADER_HUB_SIGNATURE, verifyAnswer } from '../../protocol/answers.ts';
import type { Kiosk } from '../kiosk.ts';
import type { OutboxEvent } from '../../protocol/events.ts';
import { feedIsAnotherHistory, noteDiverged, noteHubSeq } from './recovery.ts';

/** The fetch subset the engine needs; the fault proxy and tests pass their own. */
export type Transport = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string; signal?: AbortSignal },
) => Promise<{ status: number; text(): Promise<string>; headers?: { get(name: string): string | null } }>;

/** Answers that must carry the hub's signature (protocol/answers.ts) before anything in them is used. */
const SIGNED_ANSWER_PATHS: ReadonlySet<string> = new Set([
  SYNC_PATHS.pull,
  SYNC_PATHS.push,
  SYNC_PATHS.lookup,
  SYNC_PATHS.events,
]);

export interface SyncEngineOptions {
  transport?: Transport;
  clock?: Clock;
  /** [0, 1), for jitter. */
  random?: () => number;
  /** Waits ms or until the signal aborts. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  batchSize?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Long-poll wait, seconds. */
  pullWaitSeconds?: number;
  /** How often an idle push loop looks for new outbox events, ms. */
  idlePollMs?: number;
  /** Per-request timeout, ms (a long poll adds its wait). */
  requestTimeoutMs?: number;
  pullLimit?: number;
  /** Batches in flight at once: the next travels while the hub applies this one (default 2; 1 = none). */
  pipeline?: number;
  /** Where the machine's addresses come from, to retry at once when the network returns; false: do not watch. */
  network?: AddressSource | false;
  /** How often the network watcher looks, ms (default 2000). */
  networkCheckMs?: number;
}

export interface RejectedView {
  seq: number;
  eventId: string;
  type: string;
  code: string;
  reason: string;
  at: number;
}

export interface SyncStatus {
  enrolled: boolean;
  hubUrl: string | null;
  deviceId: string;
  region: string | null;
  /** Events in the outbox the hub does not hold yet. */
  queued: number;
  ackedSeq: number;
  lastSeq: number;
  cursor: number;
  lastSuccessAt: number | null;
  lastError: { code: string; message: string; messageZh: string; at: number } | null;
  /** This kiosk's clock minus the hub's, seconds (null until the hub has answered). */
  clockOffsetSeconds: number | null;
  /** A plain sentence when the clock is off by more than the hub accepts. */
  clockWarning: string | null;
  rejected: RejectedView[];
  /** The hub holds more of this device's events than its database: it issues nothing until recovered. */
  rolledBack: boolean;
  /** Highest seq of this device the hub said it holds (null until it said). */
  hubSeq: number | null;
  /** Local events a recovery set aside (the hub holds other events under their numbers). */
  setAside: number;
  /** Pulled changes this kiosk could not apply, with their reason (newest first, at most 100). */
  refusedChanges: RefusedChangeView[];
}

export interface RefusedChangeView {
  cursor: number;
  kind: string;
  code: string;
  reason: string;
  at: number;
}

export interface StateRow {
  hub_url: string | null;
  device_name: string | null;
  region: string | null;
  enrolled_at: number | null;
  cursor: number;
  acked_seq: number;
  last_success_at: number | null;
  last_error_code: string | null;
  last_error: string | null;
  last_error_at: number | null;
  clock_offset_s: number | null;
  hub_config: string | null;
  hub_device_seq: number | null;
  rolled_back_at: number | null;
  feed_epoch: string | null;
  bill_seq_floor: number;
  recovered_at: number | null;
}

function ensureState(db: Database): void {
  db.prepare('INSERT INTO sync_state (id) VALUES (1) ON CONFLICT (id) DO NOTHING').run();
}

export function readState(db: Database): StateRow {
  const row = peekState(db);
  if (row !== NEVER_SYNCED) return row;
  ensureState(db);
  return db.prepare('SELECT * FROM sync_state WHERE id = 1').get() as StateRow;
}

/** A kiosk that never enrolled nor synced has no sync_state row: this is what it reads as. */
const NEVER_SYNCED: StateRow = Object.freeze({
  hub_url: null,
  device_name: null,
  region: null,
  enrolled_at: null,
  cursor: 0,
  acked_seq: 0,
  last_success_at: null,
  last_error_code: null,
  last_error: null,
  last_error_at: null,
  clock_offset_s: null,
  hub_config: null,
  hub_device_seq: null,
  rolled_back_at: null,
  feed_epoch: null,
  bill_seq_floor: 0,
  recovered_at: null,
});

/** The sync state without writing anything (readers on a full disk): NEVER_SYNCED when there is no row. */
function peekState(db: Database): StateRow {
  return (db.prepare('SELECT * FROM sync_state WHERE id = 1').get() as StateRow | undefined) ?? NEVER_SYNCED;
}

const defaultSleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

const defaultTransport: Transport = async (url, init) => fetch(url, init);

/** This kiosk's clock minus the hub's, seconds, from the kiosk's time at the answer and the hub's floored time in it. */
export function measuredOffset(answeredS: number, hubTime: number): number {
  return Math.round(answeredS - hubTime - 0.5) || 0;
}

function isCode(c: string): c is ErrorCode {
  return c in messages;
}

/** Backoff delay for attempt n (1-based): full jitter over min(cap, base * 2^(n-1)). */
export function backoffDelay(attempt: number, baseMs: number, capMs: number, random: () => number): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  return Math.floor(random() * ceiling);
}

export function clockWarning(offsetSeconds: number | null): string | null {
  if (offsetSeconds === null || Math.abs(offsetSeconds) <= 300) return null;
  const m = Math.round(Math.abs(offsetSeconds) / 60);
  return `This kiosk's clock is ${m} minute(s) ${offsetSeconds > 0 ? 'ahead of' : 'behind'} the hub: the hub refuses it until the time is corrected. 本机时钟${offsetSeconds > 0 ? '快' : '慢'}了约${m}分钟，请校正时间后再同步。`;
}

export class SyncEngine {
  private readonly transport: Transport;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  private readonly o: Required<
    Pick<
      SyncEngineOptions,
      | 'batchSize'
      | 'baseDelayMs'
      | 'maxDelayMs'
      | 'pullWaitSeconds'
      | 'idlePollMs'
      | 'requestTimeoutMs'
      | 'pullLimit'
      | 'pipeline'
    >
  >;
  private stopper = new AbortController();
  /** Aborted and replaced by now(): wakes both loops out of their waits. */
  private wakeup = new AbortController();
  private loops: Promise<void>[] = [];
  private running = false;
  private pushing: Promise<Result<{ pushed: number }>> | undefined;
  /** The last request could not reach the hub at all. */
  private unreachable = false;
  private readonly network: AddressSource | false;
  private watcher: NetworkWatcher | undefined;
  private readonly networkCheckMs: number;

  constructor(
    readonly kiosk: Kiosk,
    opts: SyncEngineOptions = {},
  ) {
    this.transport = opts.transport ?? defaultTransport;
    // Requests are signed with the machine's own time: the offset is measured against it.
    this.clock = opts.clock ?? kiosk.rawClock;
    this.random = opts.random ?? Math.random;
    this.sleep = opts.sleep ?? defaultSleep;
    this.network = opts.network ?? machineAddresses;
    this.networkCheckMs = opts.networkCheckMs ?? 2000;
    this.o = {
      batchSize: Math.min(opts.batchSize ?? 500, MAX_PUSH_EVENTS),
      baseDelayMs: opts.baseDelayMs ?? 1000,
      maxDelayMs: opts.maxDelayMs ?? 60_000,
      pullWaitSeconds: opts.pullWaitSeconds ?? 20,
      idlePollMs: opts.idlePollMs ?? 2000,
      requestTimeoutMs: opts.requestTimeoutMs ?? 15_000,
      pullLimit: opts.pullLimit ?? 2000,
      pipeline: opts.pipeline ?? 2,
    };
    ensureState(kiosk.db);
  }

  private get db(): Database {
    return this.kiosk.db;
  }

  private state(): StateRow {
    return readState(this.db);
  }

  // ---------- HTTP ----------

  private async request(
    method: 'GET' | 'POST',
    pathAndQuery: string,
    body: string,
    extraTimeoutMs = 0,
  ): Promise<Result<unknown>> {
    const st = this.state();
    if (!st.hub_url) return fail('NOT_ENROLLED');
    const time = Math.floor(this.clock.now() / 1000);
    const nonce = randomBytes(16).toString('base64url');
    const headers: Record<string, string> = {
      ...signRequest(
        this.kiosk.identity.privateKey,
        this.kiosk.identity.deviceId,
        method,
        pathAndQuery,
        time,
        nonce,
        body,
      ),
    };
    if (method === 'POST') headers['content-type'] = 'application/json';
    const timeout = AbortSignal.timeout(this.o.requestTimeoutMs + extraTimeoutMs);
    const signal = AbortSignal.any([timeout, this.stopper.signal]);
    let status: number;
    let text: string;
    let answerHeaders: { get(name: string): string | null } | undefined;
    try {
      const res = await this.transport(st.hub_url.replace(/\/+$/, '') + pathAndQuery, {
        method,
        headers,
        ...(method === 'POST' ? { body } : {}),
        signal,
      });
      status = res.status;
      text = await res.text();
      answerHeaders = res.headers;
    } catch (e) {
      this.unreachable = true;
      return fail('HUB_UNREACHABLE', (e as Error).message);
    }
    // Nothing in an answer is believed before its signature holds: a spoofed hub, or anyone on the path,
    // could otherwise mark fines paid, void bills or drop queued events (issue 10).
    if (this.mustVerify(pathAndQuery)) {
      const v = verifyAnswer(
        { deviceId: this.kiosk.identity.deviceId, method, path: pathAndQuery, nonce, status },
        text,
        answerHeaders?.get(HEADER_HUB_SIGNATURE),
        answerHeaders?.get(HEADER_HUB_KEYS),
        (id) => this.kiosk.trust.trusted(id),
      );
      if (!v.ok) {
        this.keepUnverified(method, pathAndQuery, status, text, v.error);
        return v;
      }
    }
    // The hub answers again after being out of reach: the network is back, so the other loop, which
    // may sit in a long backoff, retries at once.
    if (this.unreachable) {
      this.unreachable = false;
      this.now();
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return fail('HUB_UNREACHABLE', `hub answered ${status} with a body that is not JSON`);
    }
    // The offset is measured at the answer, not at the request: a long poll's answer comes after its
    // wait. hubTime is whole seconds (floored), half a second early on average.
    const answeredS = this.clock.now() / 1000;
    if (status === 200) {
      const hubTime = (json as { hubTime?: unknown }).hubTime;
      if (typeof hubTime === 'number') this.noteOffset(measuredOffset(answeredS, hubTime));
      return ok(json);
    }
    const f = wireFailureSchema.safeParse(json);
    if (!f.success) return fail('HUB_UNREACHABLE', `hub answered ${status}`);
    const code = f.data.error.code;
    const failureValue: Failure = isCode(code)
      ? { ...f.data.error, code }
      : failure('UNEXPECTED', `${code}: ${f.data.error.message}`);
    if (code === 'CLOCK_SKEW' && typeof f.data.hubTime === 'number')
      this.noteOffset(measuredOffset(answeredS, f.data.hubTime));
    return { ok: false, error: failureValue };
  }

  /**
   * True when the answer to this request must verify. The device's events fetched for a recovery by a kiosk
   * that trusts no hub key yet are the one exception: like enrollment, that is the first contact.
   */
  private mustVerify(pathAndQuery: string): boolean {
    const p = pathAndQuery.split('?')[0] ?? '';
    if (!SIGNED_ANSWER_PATHS.has(p)) return false;
    if (p === SYNC_PATHS.events && this.kiosk.trust.list().length === 0) return false;
    return true;
  }

  /**
   * Keeps an answer that did not verify (sync_refused_changes, kind 'answer', at the pull cursor), so staff
   * see it on the sync tab; the same refusal again only updates its time. Nothing else changes.
   */
  private keepUnverified(method: string, path: string, status: number, text: string, f: Failure): void {
    const now = Math.floor(this.clock.now() / 1000);
    const cursor = this.state().cursor;
    const reason = `${method} ${path.split('?')[0]} (${status}): ${f.message}`;
    this.db.transaction(() => {
      const same = this.db
        .prepare(
          `SELECT id FROM sync_refused_changes WHERE kind = 'answer' AND cursor = ? AND code = ? AND reason = ?
            ORDER BY id DESC LIMIT 1`,
        )
        .get(cursor, f.code, reason) as { id: number } | undefined;
      if (same) {
        this.db
          .prepare('UPDATE sync_refused_changes SET at = ?, change = ? WHERE id = ?')
          .run(now, text.slice(0, 65536), same.id);
      } else {
        this.db
          .prepare(
            'INSERT INTO sync_refused_changes (cursor, kind, code, reason, change, at) VALUES (?, ?, ?, ?, ?, ?)',
          )
          .run(cursor, 'answer', f.code, reason, text.slice(0, 65536), now);
      }
    })();
  }

  private noteOffset(offset: number): void {
    this.db.prepare('UPDATE sync_state SET clock_offset_s = ? WHERE id = 1').run(offset);
    this.kiosk.setClockOffset?.(offset);
  }

  private noteSuccess(): void {
    this.db
      .prepare(
        'UPDATE sync_state SET last_success_at = ?, last_error_code = NULL, last_error = NULL WHERE id = 1',
      )
      .run(Math.floor(this.clock.now() / 1000));
  }

  private noteError(f: Failure): void {
    // A request cut short by stop() is a clean stop, not an error to show.
    if (this.stopper.signal.aborted) return;
    const msg =
      f.code === 'CLOCK_SKEW' ? (clockWarning(this.state().clock_offset_s) ?? f.message) : f.message;
    this.db
      .prepare('UPDATE sync_state SET last_error_code = ?, last_error = ?, last_error_at = ? WHERE id = 1')
      .run(f.code, msg, Math.floor(this.clock.now() / 1000));
  }

  // ---------- push ----------

  /** Pushes queued events until the queue is empty (or an error). One push at a time. */
  pushAll(): Promise<Result<{ pushed: number }>> {
    if (!this.pushing) {
      this.pushing = this.doPushAll().finally(() => (this.pushing = undefined));
    }
    return this.pushing;
  }

  private async doPushAll(): Promise<Result<{ pushed: number }>> {
    let pushed = 0;
    let gapRetries = 0;
    let races = 0;
    // Two batches in flight: the next one travels and is parsed while the hub applies this one. The hub
    // takes a device's batches one at a time (row lock), so order holds; if the second overtakes the first
    // it is refused with SEQ_GAP and simply sent again.
    type Flight = { events: OutboxEvent[]; reply: Promise<Result<unknown>> };
    const send = (afterSeq: number): Flight | undefined => {
      const events = this.kiosk.outbox.list(afterSeq, this.o.batchSize);
      if (events.length === 0) return undefined;
      return { events, reply: this.request('POST', SYNC_PATHS.push, JSON.stringify({ events })) };
    };
    const depth = Math.max(1, this.o.pipeline);
    const settle = (q: Flight[]): Promise<unknown> => Promise.allSettled(q.map((f) => f.reply));
    while (!this.stopper.signal.aborted) {
      const inflight: Flight[] = [];
      const fill = (): void => {
        while (inflight.length < depth && !this.stopper.signal.aborted) {
          const last = inflight.at(-1);
          const f = send(last ? last.events.at(-1)!.seq : this.state().acked_seq);
          if (!f) return;
          inflight.push(f);
        }
      };
      fill();
      if (inflight.length === 0) return ok({ pushed });
      let first = true;
      while (inflight.length) {
        const current = inflight.shift()!;
        const r = await current.reply;
        if (!r.ok) {
          await settle(inflight); // their outcome is re-learned on the next round
          const expected = r.error.details?.expectedSeq;
          if (r.error.code === 'SEQ_GAP' && !first && races++ < 100) break;
          // The hub holds less than we thought (a restored hub): resend from there.
          if (r.error.code === 'SEQ_GAP' && typeof expected === 'number' && gapRetries++ < 3) {
            this.db
              .prepare('UPDATE sync_state SET acked_seq = ? WHERE id = 1')
              .run(Math.max(0, expected - 1));
            break;
          }
          // The hub holds other events under our numbers: this database went back in time.
          if (r.error.code === 'CHAIN_BROKEN') noteDiverged(this.db, this.clock);
          this.noteError(r.error);
          return r;
        }
        const p = pushResponseSchema.safeParse(r.value);
        if (!p.success) {
          await settle(inflight);
          const f = failure('HUB_UNREACHABLE', 'hub answered a push with an unexpected body');
          this.noteError(f);
          return { ok: false, error: f };
        }
        const res = p.data;
        const events = current.events;
        this.recordPush(events, res);
        pushed += res.applied + res.rejected.length;
        if (res.highestSeq < events.at(-1)!.seq) {
          await settle(inflight);
          const f = failure('SEQ_GAP', `hub holds up to ${res.highestSeq}`);
          this.noteError(f);
          return { ok: false, error: f };
        }
        first = false;
        fill();
      }
    }
    return ok({ pushed });
  }

  /** Stores a push's outcome in one transaction: refused events, the hub's highest seq, last success. */
  private recordPush(events: OutboxEvent[], res: PushResponse): void {
    const now = Math.floor(this.clock.now() / 1000);
    const types = new Map(events.map((e) => [e.seq, e.type]));
    this.db.transaction(() => {
      const ins = this.db.prepare(
        'INSERT INTO sync_rejected (seq, event_id, type, code, reason, at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (seq) DO NOTHING',
      );
      for (const x of res.rejected) ins.run(x.seq, x.eventId, types.get(x.seq) ?? '', x.code, x.reason, now);
      // Only the rows this ack newly covers: a range from the previous ack, not a scan from seq 1.
      const before = readState(this.db).acked_seq;
      this.db.prepare('UPDATE outbox SET pushed = 1 WHERE seq > ? AND seq <= ?').run(before, res.highestSeq);
      this.db
        .prepare(
          'UPDATE sync_state SET acked_seq = max(acked_seq, ?), last_success_at = ?, last_error_code = NULL, last_error = NULL WHERE id = 1',
        )
        .run(res.highestSeq, now);
    })();
    // The hub holding more than we ever wrote: this database went back in time.
    noteHubSeq(this.db, this.clock, res.highestSeq, 0);
  }

  // ---------- pull ----------

  /** One pull (long poll when wait > 0); applies the changes and moves the cursor. */
  async pullOnce(waitSeconds = 0): Promise<Result<{ applied: number; more: boolean }>> {
    const st = this.state();
    const ackedAtSend = st.acked_seq;
    const q = `${SYNC_PATHS.pull}?cursor=${st.cursor}&wait=${waitSeconds}&limit=${this.o.pullLimit}`;
    const r = await this.request('GET', q, '', waitSeconds * 1000);
    if (!r.ok) {
      this.noteError(r.error);
      return r;
    }
    const p = pullResponseSchema.safeParse(r.value);
    if (!p.success) {
      const f = failure('HUB_UNREACHABLE', 'hub answered a pull with an unexpected body');
      this.noteError(f);
      return { ok: false, error: f };
    }
    if (feedIsAnotherHistory(this.db, st, p.data)) {
      // Our cursor points into a history the hub no longer has (it was restored): these changes were
      // chosen from that cursor, so drop them and pull again from the start (applying is idempotent).
      this.noteSuccess();
      return ok({ applied: 0, more: true });
    }
    if (p.data.deviceSeq !== undefined) {
      if (noteHubSeq(this.db, this.clock, p.data.deviceSeq, ackedAtSend) === 'resend') this.now();
    }
    // The changes and the cursor in one transaction: a crash leaves either all of the page applied and the
    // cursor past it, or none of it and the cursor before it.
    this.db.transaction(() => {
      this.applyChanges(p.data.changes);
      this.db.prepare('UPDATE sync_state SET cursor = max(cursor, ?) WHERE id = 1').run(p.data.cursor);
    })();
    this.noteSuccess();
    return ok({ applied: p.data.changes.length, more: p.data.more });
  }

  /** Pulls until the hub has nothing more (no waiting). */
  async pullAll(): Promise<Result<{ applied: number }>> {
    let applied = 0;
    while (true) {
      const r = await this.pullOnce(0);
      if (!r.ok) return r;
      applied += r.value.applied;
      if (!r.value.more) return ok({ applied });
    }
  }

  /**
   * Applies a page of pulled changes (inside the caller's transaction). A change that cannot be applied is
   * kept with its code and reason (sync_refused_changes) and shown to staff, never dropped in silence.
   * Keys and payments are believed only when signed by a trusted hub key (issue 10).
   */
  private applyChanges(changes: PullChange[]): void {
    const k = this.kiosk;
    const now = Math.floor(this.clock.now() / 1000);
    const refuse = this.db.prepare(
      'INSERT INTO sync_refused_changes (cursor, kind, code, reason, change, at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    const keep = (c: PullChange, f: Failure): void => {
      refuse.run(c.cursor, c.kind, f.code, f.message, JSON.stringify(c), now);
    };
    let fines: Fine[] = [];
    const flush = (): void => {
      if (fines.length) k.fines.upsertMany(fines);
      fines = [];
    };
    for (const c of changes) {
      if (c.kind === 'fine') {
        fines.push(c.fine);
        continue;
      }
      flush();
      switch (c.kind) {
        case 'hubKey': {
          if (!c.sig || !c.signedBy) {
            keep(c, failure('BAD_SIGNATURE', `key ${c.key.keyId} arrived unsigned`));
            break;
          }
          const r = k.trust.applyAnnouncement(
            {
              keyId: c.key.keyId,
              publicKey: c.key.publicKey,
              retiredAt: c.retired ? c.retiredAt : 0,
              signedBy: c.signedBy,
            },
            c.sig,
          );
          if (!r.ok) keep(c, r.error);
          break;
        }
        case 'payment': {
          // A token that does not verify is not a payment, whoever sent it.
          const v = verifyConfirmation(c.token, (id) => k.trust.trusted(id));
          const r = v.ok ? k.payments.recordFromHub(v.value, c.token) : v;
          if (!r.ok) keep(c, r.error);
          break;
        }
        case 'void': {
          const r = k.bills.void(c.billNo, 'hub');
          // Already closed here (voided, expired) is the same outcome; anything else is kept for staff.
          if (!r.ok && r.error.code !== 'BILL_VOIDED' && r.error.code !== 'BILL_EXPIRED') keep(c, r.error);
          break;
        }
        case 'refused':
          this.db
            .prepare(
              `INSERT INTO sync_rejected (seq, event_id, type, code, reason, at)
               VALUES (?, ?, coalesce((SELECT type FROM outbox WHERE seq = ?), ''), ?, ?, ?) ON CONFLICT (seq) DO NOTHING`,
            )
            .run(c.seq, c.eventId, c.seq, c.code, c.reason, now);
          break;
        case 'config':
          this.db.prepare('UPDATE sync_state SET hub_config = ? WHERE id = 1').run(JSON.stringify(c.config));
          for (const key of ['decisionPattern'] as const) {
            const v = c.config[key];
            if (typeof v === 'string') {
              try {
                k.settings.set(key, v);
              } catch {
                keep(c, failure('MALFORMED', `decision pattern ${v}`));
              }
            }
          }
          break;
      }
    }
    flush();
  }

  // ---------- online lookup ----------

  /** Asks the hub for a fine this kiosk does not have; caches what it finds. */
  async lookup(q: { decisionNo: string } | { plate: string; vin6: string }): Promise<Result<Fine[]>> {
    const qs = new URLSearchParams(q as Record<string, string>).toString();
    const r = await this.request('GET', `${SYNC_PATHS.lookup}?${qs}`, '');
    if (!r.ok) return r;
    const p = lookupResponseSchema.safeParse(r.value);
    if (!p.success) return fail('HUB_UNREACHABLE', 'hub answered a lookup with an unexpected body');
    if (p.data.fines.length) this.kiosk.fines.upsertMany(p.data.fines);
    return ok(p.data.fines);
  }

  // ---------- recovery ----------

  /** A page of this device's events as the hub holds them (for recover). */
  async fetchEvents(after: number): Promise<Result<EventsResponse>> {
    const r = await this.request('GET', `${SYNC_PATHS.events}?after=${after}&limit=${MAX_PUSH_EVENTS}`, '');
    if (!r.ok) return r;
    const p = eventsResponseSchema.safeParse(r.value);
    if (!p.success) return fail('HUB_UNREACHABLE', 'hub answered with an unexpected body');
    return ok(p.data);
  }

  /** Asks the hub for one fine without storing it. */
  async lookupFine(decisionNo: string): Promise<Result<Fine | undefined>> {
    const qs = new URLSearchParams({ decisionNo }).toString();
    const r = await this.request('GET', `${SYNC_PATHS.lookup}?${qs}`, '');
    if (!r.ok) return r;
    const p = lookupResponseSchema.safeParse(r.value);
    if (!p.success) return fail('HUB_UNREACHABLE', 'hub answered a lookup with an unexpected body');
    return ok(p.data.fines[0]);
  }

  // ---------- loops ----------

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopper = new AbortController();
    this.loops = [this.pushLoop(), this.pullLoop()];
    if (this.network) {
      this.watcher = new NetworkWatcher(() => this.now(), this.network);
      this.watcher.start(this.networkCheckMs);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    this.watcher?.stop();
    this.watcher = undefined;
    this.stopper.abort();
    this.wakeup.abort();
    await Promise.allSettled(this.loops);
    this.loops = [];
    // Calls made after stop (sync now) and a later start() run with fresh signals; an aborted wakeup
    // left in place would end every wait at once and the loops would spin.
    this.stopper = new AbortController();
    this.wakeup = new AbortController();
  }

  /** Retry at once (network back, staff pressed "sync now", a new event was written). */
  now(): void {
    const w = this.wakeup;
    this.wakeup = new AbortController();
    w.abort();
  }

  private async wait(ms: number): Promise<void> {
    await this.sleep(ms, AbortSignal.any([this.wakeup.signal, this.stopper.signal]));
  }

  private async pushLoop(): Promise<void> {
    let attempt = 0;
    while (!this.stopper.signal.aborted) {
      const r = await this.pushAll().catch((e: Error) => fail('UNEXPECTED', e.message));
      if (this.stopper.signal.aborted) break;
      if (r.ok || r.error.code === 'NOT_ENROLLED') {
        attempt = 0;
        await this.wait(this.o.idlePollMs);
      } else {
        attempt++;
        await this.wait(backoffDelay(attempt, this.o.baseDelayMs, this.o.maxDelayMs, this.random));
      }
    }
  }

  private async pullLoop(): Promise<void> {
    let attempt = 0;
    while (!this.stopper.signal.aborted) {
      if (!this.kiosk.db.open) break;
      if (!this.state().hub_url) {
        await this.wait(this.o.idlePollMs);
        continue;
      }
      // The wait varies ±25% so kiosks that came back together (a hub restart) do not poll in step.
      const base = this.o.pullWaitSeconds;
      const wait = base === 0 ? 0 : Math.max(1, Math.round(base * (0.75 + this.random() * 0.5)));
      await this.reportHealthIfDue();
      const r = await this.pullOnce(wait).catch((e: Error) => fail('UNEXPECTED', e.message));
      if (this.stopper.signal.aborted) break;
      if (r.ok) {
        attempt = 0;
      } else {
        attempt++;
        await this.wait(backoffDelay(attempt, this.o.baseDelayMs, this.o.maxDelayMs, this.random));
      }
    }
  }

  private lastHealthAt = -Infinity;
  /** Sends the kiosk's health (main/sync/health.ts) at most every HEALTH_INTERVAL_S; a failure only waits. */
  async reportHealthIfDue(): Promise<void> {
    const now = this.clock.now();
    if (now - this.lastHealthAt < HEALTH_INTERVAL_S * 1000) return;
    this.lastHealthAt = now;
    await this.request('POST', HEALTH_PATH, JSON.stringify(healthReport(this.kiosk))).catch(() => undefined);
  }

  // ---------- status ----------

  status(): SyncStatus {
    return syncStatus(this.kiosk);
  }
}

export function syncStatus(kiosk: Kiosk): SyncStatus {
  const st = peekState(kiosk.db);
  const lastSeq = (kiosk.db.prepare('SELECT coalesce(max(seq), 0) AS n FROM outbox').get() as { n: number })
    .n;
  const rejected = (
    kiosk.db
      .prepare('SELECT seq, event_id, type, code, reason, at FROM sync_rejected ORDER BY seq')
      .all() as {
      seq: number;
      event_id: string;
      type: string;
      code: string;
      reason: string;
      at: number;
    }[]
  ).map((r) => ({ seq: r.seq, eventId: r.event_id, type: r.type, code: r.code, reason: r.reason, at: r.at }));
  const code = st.last_error_code;
  return {
    enrolled: st.hub_url !== null,
    hubUrl: st.hub_url,
    deviceId: kiosk.identity.deviceId,
    region: st.region,
    queued: Math.max(0, lastSeq - st.acked_seq),
    ackedSeq: st.acked_seq,
    lastSeq,
    cursor: st.cursor,
    lastSuccessAt: st.last_success_at,
    lastError:
      code && st.last_error
        ? {
            code,
            message: st.last_error,
            messageZh: isCode(code) ? messages[code].zh : st.last_error,
            at: st.last_error_at ?? 0,
          }
        : null,
    clockOffsetSeconds: st.clock_offset_s,
    clockWarning: clockWarning(st.clock_offset_s),
    rejected,
    rolledBack: st.rolled_back_at !== null,
    hubSeq: st.hub_device_seq,
    setAside: (kiosk.db.prepare('SELECT count(*) AS n FROM recovery_orphans').get() as { n: number }).n,
    refusedChanges: kiosk.db
      .prepare('SELECT cursor, kind, code, reason, at FROM sync_refused_changes ORDER BY id DESC LIMIT 100')
      .all() as RefusedChangeView[],
  };
}

/** True for addresses that never leave this machine: localhost, 127.0.0.0/8, ::1. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$/.test(h);
}

/** Enrolls this kiosk with a hub using a one-time code: stores the hub, trusts its keys, keeps its config. */
export async function enroll(
  kiosk: Kiosk,
  opts: {
    hubUrl: string;
    code: string;
    transport?: Transport;
    /** Allow plain http to a hub off this machine (a test hall's own network); logged through `log`. */
    allowInsecureHttp?: boolean;
    log?: (line: string) => void;
  },
): Promise<Result<EnrollResponse>> {
  const transport = opts.transport ?? defaultTransport;
  let url: URL;
  try {
    url = new URL(opts.hubUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
  } catch {
    return fail('MALFORMED', 'hub URL must be http:// or https://');
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    if (!opts.allowInsecureHttp) return fail('INSECURE_HUB_URL', url.host);
    (opts.log ?? ((l: string) => process.stderr.write(l + '\n')))(
      `WARNING: enrolling with ${url.host} over plain http (insecure option set): anyone on the network can read and change what the hub sends`,
    );
  }
  const base = url.toString().replace(/\/+$/, '');
  const body = JSON.stringify({
    code: opts.code.trim().toUpperCase(),
    publicKey: kiosk.identity.publicKeyRaw,
    deviceId: kiosk.identity.deviceId,
  });
  let status: number;
  let text: string;
  try {
    const res = await transport(base + SYNC_PATHS.enroll, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(15_000),
    });
    status = res.status;
    text = await res.text();
  } catch (e) {
    return fail('HUB_UNREACHABLE', (e as Error).message);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return fail('HUB_UNREACHABLE', `hub answered ${status} with a body that is not JSON`);
  }
  if (status !== 200) {
    const f = wireFailureSchema.safeParse(json);
    if (f.success && isCode(f.data.error.code))
      return { ok: false, error: { ...f.data.error, code: f.data.error.code } };
    return fail('HUB_UNREACHABLE', `hub answered ${status}`);
  }
  const p = enrollResponseSchema.safeParse(json);
  if (!p.success) return fail('HUB_UNREACHABLE', 'hub answered enrollment with an unexpected body');
  const e = p.data;
  if (e.deviceId !== kiosk.identity.deviceId) {
    return fail(
      'UNAUTHORIZED',
      `hub assigned device id ${e.deviceId}, this kiosk is ${kiosk.identity.deviceId}`,
    );
  }
  const now = Math.floor(kiosk.clock.now() / 1000);
  try {
    kiosk.db.transaction(() => {
      ensureState(kiosk.db);
      kiosk.db
        .prepare(
          `UPDATE sync_state SET hub_url = ?, device_name = ?, region = ?, enrolled_at = ?, hub_config = ?,
           clock_offset_s = ?, cursor = 0, acked_seq = 0 WHERE id = 1`,
        )
        .run(base, e.name, e.region, now, JSON.stringify(e.config), now - e.hubTime);
      for (const k of e.hubKeys) {
        // A key id the kiosk already holds with another key is never replaced: enrollment stops here.
        const added = kiosk.trust.addHubKey(k.keyId, k.publicKey);
        if (!added.ok) throw new FailureError(added.error);
      }
      // Bill QR codes point at the hub's pay page.
      kiosk.settings.set('hubBase', typeof e.config.publicBase === 'string' ? e.config.publicBase : base);
    })();
  } catch (err) {
    if (err instanceof FailureError) return { ok: false, error: err.failure };
    throw err;
  }
  return ok(e);
}

/**
 * Starts the engine in the backend when this kiosk is enrolled (for the kiosk's launcher): returns it
 * running, or undefined for a stand-alone kiosk.
 */
export function startBackgroundSync(kiosk: Kiosk, opts: SyncEngineOptions = {}): SyncEngine | undefined {
  if (!readState(kiosk.db).hub_url) return undefined;
  const engine = new SyncEngine(kiosk, opts);
  engine.start();
  return engine;
}
