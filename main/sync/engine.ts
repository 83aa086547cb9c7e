// The kiosk's sync engine: pushes the outbox to the hub in sequence order, pulls changes (long poll) and
// applies them, retries with exponential backoff and full jitter (capped), and retries at once when told
// the network is back. Transport, clock, random and sleep are injected so tests and the fault proxy can
// drive it.
//
// This file holds the engine and its two loops; the parts are beside it: client.ts (signed requests),
// push.ts, pull.ts and apply.ts (a pulled page into the database), state.ts (sync_state and the status
// staff see), enroll.ts.
import { machineAddresses, NetworkWatcher, type AddressSource } from './network.ts';
import { healthReport } from './health.ts';
import { HEALTH_INTERVAL_S, HEALTH_PATH } from '../../protocol/health.ts';
import type { Fine } from '../../protocol/fines.ts';
import { fail, ok, type Failure, type Result } from '../../protocol/result.ts';
import {
  eventsResponseSchema,
  type EventsResponse,
  lookupResponseSchema,
  MAX_PUSH_EVENTS,
  SYNC_PATHS,
} from '../../protocol/sync.ts';
import type { Clock } from '../../protocol/time.ts';
import type { Kiosk } from '../kiosk.ts';
import { defaultTransport, HubClient, type Transport } from './client.ts';
import { pushAll } from './push.ts';
import { pullOnce } from './pull.ts';
import type { Database } from '../../db/connection.ts';
import { ensureState, noteError, readState, syncStatus, type StateRow, type SyncStatus } from './state.ts';

export { measuredOffset, type Transport } from './client.ts';
export {
  clockWarning,
  readState,
  syncStatus,
  type RefusedChangeView,
  type RejectedView,
  type StateRow,
  type SyncStatus,
} from './state.ts';
export { enroll, isLoopbackHost } from './enroll.ts';

/** Tunables of the engine; every one has a default. */
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

/** Backoff delay for attempt n (1-based): full jitter over min(cap, base * 2^(n-1)). */
export function backoffDelay(attempt: number, baseMs: number, capMs: number, random: () => number): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  return Math.floor(random() * ceiling);
}

export class SyncEngine {
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
  private readonly client: HubClient;
  private readonly network: AddressSource | false;
  private watcher: NetworkWatcher | undefined;
  private readonly networkCheckMs: number;

  constructor(
    readonly kiosk: Kiosk,
    opts: SyncEngineOptions = {},
  ) {
    const transport = opts.transport ?? defaultTransport;
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
    this.client = new HubClient({
      kiosk,
      transport,
      clock: this.clock,
      requestTimeoutMs: this.o.requestTimeoutMs,
      stopSignal: () => this.stopper.signal,
      onReachableAgain: () => this.now(),
    });
    ensureState(kiosk.db);
  }

  private get db(): Database {
    return this.kiosk.db;
  }

  private state(): StateRow {
    return readState(this.db);
  }

  private request(
    method: 'GET' | 'POST',
    pathAndQuery: string,
    body: string,
    extraTimeoutMs = 0,
  ): Promise<Result<unknown>> {
    return this.client.request(method, pathAndQuery, body, extraTimeoutMs);
  }

  private noteError(f: Failure): void {
    // A request cut short by stop() is a clean stop, not an error to show.
    if (this.stopper.signal.aborted) return;
    noteError(this.db, this.clock, f);
  }

  // ---------- push ----------

  /** Pushes queued events until the queue is empty (or an error). One push at a time. */
  pushAll(): Promise<Result<{ pushed: number }>> {
    if (!this.pushing) {
      this.pushing = this.doPushAll().finally(() => (this.pushing = undefined));
    }
    return this.pushing;
  }

  private doPushAll(): Promise<Result<{ pushed: number }>> {
    return pushAll({
      kiosk: this.kiosk,
      clock: this.clock,
      client: this.client,
      batchSize: this.o.batchSize,
      pipeline: this.o.pipeline,
      stopped: () => this.stopper.signal.aborted,
      noteError: (f) => this.noteError(f),
    });
  }

  // ---------- pull ----------

  /** One pull (long poll when wait > 0); applies the changes and moves the cursor (pull.ts). */
  pullOnce(waitSeconds = 0): Promise<Result<{ applied: number; more: boolean }>> {
    return pullOnce(
      {
        kiosk: this.kiosk,
        clock: this.clock,
        client: this.client,
        pullLimit: this.o.pullLimit,
        noteError: (f) => this.noteError(f),
        wake: () => this.now(),
      },
      waitSeconds,
    );
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
