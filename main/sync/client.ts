// The kiosk's signed client of the hub's sync API: every request signed with the device key
// (protocol/sync.ts signRequest), answers parsed as JSON, the hub's failures turned into Results, and the
// clock offset measured at each answer.
import { randomBytes } from 'node:crypto';
import { fail, failure, ok, type Failure, type Result } from '../../protocol/result.ts';
import { signRequest, SYNC_PATHS, wireFailureSchema } from '../../protocol/sync.ts';
import { HEADER_HUB_KEYS, HEADER_HUB_SIGNATURE, checkAnswer } from '../../protocol/answers.ts';
import type { Clock } from '../../protocol/time.ts';
import type { Kiosk } from '../kiosk.ts';
import { isCode, noteOffset, readState } from './state.ts';

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

/** The platform's fetch. */
export const defaultTransport: Transport = async (url, init) => fetch(url, init);

/** This kiosk's clock minus the hub's, seconds, from the kiosk's time at the answer and the hub's floored time in it. */
export function measuredOffset(answeredS: number, hubTime: number): number {
  return Math.round(answeredS - hubTime - 0.5) || 0;
}

export interface HubClientOptions {
  kiosk: Kiosk;
  transport: Transport;
  /** The machine's own clock: requests are signed with it and the offset is measured against it. */
  clock: Clock;
  /** Per-request timeout, ms (a long poll adds its wait). */
  requestTimeoutMs: number;
  /** The engine's current stop signal (replaced on each start/stop). */
  stopSignal: () => AbortSignal;
  /** Called when the hub answers again after being out of reach (the network is back). */
  onReachableAgain: () => void;
}

/** Signed requests to the enrolled hub (its URL from sync_state). */
export class HubClient {
  /** The last request could not reach the hub at all. */
  private unreachable = false;

  constructor(private readonly o: HubClientOptions) {}

  /**
   * One signed request. Returns the parsed JSON body of a 200 answer; NOT_ENROLLED without a hub URL,
   * HUB_UNREACHABLE when there is no answer or it is not JSON, the hub's own failure otherwise (an unknown
   * code as UNEXPECTED).
   */
  async request(
    method: 'GET' | 'POST',
    pathAndQuery: string,
    body: string,
    extraTimeoutMs = 0,
  ): Promise<Result<unknown>> {
    const { kiosk, clock } = this.o;
    const st = readState(kiosk.db);
    if (!st.hub_url) return fail('NOT_ENROLLED');
    const time = Math.floor(clock.now() / 1000);
    const nonce = randomBytes(16).toString('base64url');
    const headers: Record<string, string> = {
      ...signRequest(
        kiosk.identity.privateKey,
        kiosk.identity.deviceId,
        method,
        pathAndQuery,
        time,
        nonce,
        body,
      ),
    };
    if (method === 'POST') headers['content-type'] = 'application/json';
    const timeout = AbortSignal.timeout(this.o.requestTimeoutMs + extraTimeoutMs);
    const signal = AbortSignal.any([timeout, this.o.stopSignal()]);
    let status: number;
    let text: string;
    let answerHeaders: { get(name: string): string | null } | undefined;
    try {
      const res = await this.o.transport(st.hub_url.replace(/\/+$/, '') + pathAndQuery, {
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
      const v = checkAnswer(
        { deviceId: kiosk.identity.deviceId, method, path: pathAndQuery, nonce, status },
        text,
        answerHeaders?.get(HEADER_HUB_SIGNATURE),
        answerHeaders?.get(HEADER_HUB_KEYS),
        (id) => kiosk.trust.trusted(id),
      );
      if (!v.ok) {
        // An unsigned failure is the hub out of reach (protocol/answers.ts), not shown as a forged answer.
        if (v.error.code === 'HUB_UNREACHABLE') return v;
        this.keepUnverified(method, pathAndQuery, status, text, v.error);
        return v;
      }
    }
    // The hub answers again after being out of reach: the network is back, so the other loop, which
    // may sit in a long backoff, retries at once.
    if (this.unreachable) {
      this.unreachable = false;
      this.o.onReachableAgain();
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return fail('HUB_UNREACHABLE', `hub answered ${status} with a body that is not JSON`);
    }
    // The offset is measured at the answer, not at the request: a long poll's answer comes after its
    // wait. hubTime is whole seconds (floored), half a second early on average.
    const answeredS = clock.now() / 1000;
    if (status === 200) {
      const hubTime = (json as { hubTime?: unknown }).hubTime;
      if (typeof hubTime === 'number') noteOffset(kiosk, measuredOffset(answeredS, hubTime));
      return ok(json);
    }
    const f = wireFailureSchema.safeParse(json);
    if (!f.success) return fail('HUB_UNREACHABLE', `hub answered ${status}`);
    const code = f.data.error.code;
    const failureValue: Failure = isCode(code)
      ? { ...f.data.error, code }
      : failure('UNEXPECTED', `${code}: ${f.data.error.message}`);
    if (code === 'CLOCK_SKEW' && typeof f.data.hubTime === 'number')
      noteOffset(kiosk, measuredOffset(answeredS, f.data.hubTime));
    return { ok: false, error: failureValue };
  }

  /**
   * True when the answer to this request must verify. The device's events fetched for a recovery by a kiosk
   * that trusts no hub key yet are the one exception: like enrollment, that is the first contact.
   */
  private mustVerify(pathAndQuery: string): boolean {
    const p = pathAndQuery.split('?')[0] ?? '';
    if (!SIGNED_ANSWER_PATHS.has(p)) return false;
    if (p === SYNC_PATHS.events && this.o.kiosk.trust.list().length === 0) return false;
    return true;
  }

  /**
   * Keeps an answer that did not verify (sync_refused_changes, kind 'answer', at the pull cursor), so staff
   * see it on the sync tab; the same refusal again only updates its time. Nothing else changes.
   */
  private keepUnverified(method: string, path: string, status: number, text: string, f: Failure): void {
    const db = this.o.kiosk.db;
    const now = Math.floor(this.o.clock.now() / 1000);
    const cursor = readState(db).cursor;
    const reason = `${method} ${path.split('?')[0]} (${status}): ${f.message}`;
    db.transaction(() => {
      const same = db
        .prepare(
          `SELECT id FROM sync_refused_changes WHERE kind = 'answer' AND cursor = ? AND code = ? AND reason = ?
            ORDER BY id DESC LIMIT 1`,
        )
        .get(cursor, f.code, reason) as { id: number } | undefined;
      if (same) {
        db.prepare('UPDATE sync_refused_changes SET at = ?, change = ? WHERE id = ?').run(
          now,
          text.slice(0, 65536),
          same.id,
        );
      } else {
        db.prepare(
          'INSERT INTO sync_refused_changes (cursor, kind, code, reason, change, at) VALUES (?, ?, ?, ?, ?, ?)',
        ).run(cursor, 'answer', f.code, reason, text.slice(0, 65536), now);
      }
    })();
  }
}
