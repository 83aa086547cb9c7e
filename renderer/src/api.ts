// The renderer's one way to the backend: POST /api/<method> with one JSON object; the session cookie
// (HttpOnly, set from the launch URL) rides along. Only the API's type is imported from the backend.
import type { Api } from '../../main/api.ts';
import type { Failure, Result } from '../../protocol/result.ts';

export type { Api };
export type Value<K extends keyof Api> = Awaited<ReturnType<Api[K]>> extends Result<infer T> ? T : never;

/** The backend did not answer (stopped, restarting): the screen shows 服务暂不可用 until it answers again. */
const unavailable = (): Failure => ({
  code: 'SERVICE_UNAVAILABLE',
  message: 'Service temporarily unavailable',
  messageZh: '服务暂不可用',
});

type Link = 'ok' | 'lost' | 'no-session';
const listeners = new Set<(l: Link) => void>();
/** Hears whether the backend answers ('ok'), does not ('lost'), or refuses this page's session. */
export function onLink(fn: (l: Link) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
const tell = (l: Link) => listeners.forEach((fn) => fn(l));

async function call(method: string, input: unknown): Promise<Result<unknown>> {
  let res: Response;
  try {
    res = await fetch(`/api/${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      credentials: 'same-origin',
      body: JSON.stringify(input ?? {}),
    });
  } catch {
    tell('lost');
    return { ok: false, error: unavailable() };
  }
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  if (body && typeof body === 'object' && 'ok' in body) {
    const r = body as Result<unknown>;
    // 401: the page has no session, or an old one (a launch URL from before, a bare address).
    tell(res.status === 401 && !r.ok && r.error.code === 'UNAUTHORIZED' ? 'no-session' : 'ok');
    return r;
  }
  // Something answered but not the kiosk service (a proxy, a half-started process).
  tell('lost');
  return { ok: false, error: unavailable() };
}

export const api = new Proxy({} as Api, {
  get: (_t, method: string) => (input: unknown) => call(method, input),
});
