// The renderer's one way to the backend: POST /api/<method> with one JSON object; the session cookie
// (HttpOnly, set from the launch URL) rides along. Only the API's type is imported from the backend.
import type { Api } from '../../main/api.ts';
import type { Failure, Result } from '../../protocol/result.ts';

export type { Api };
export type Value<K extends keyof Api> = Awaited<ReturnType<Api[K]>> extends Result<infer T> ? T : never;

const networkFailure = (status: number): Failure => ({
  code: 'UNEXPECTED',
  message: `The kiosk service did not answer (${status})`,
  messageZh: `本机服务无响应（${status}）`,
});

async function call(method: string, input: unknown): Promise<Result<unknown>> {
  try {
    const res = await fetch(`/api/${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      credentials: 'same-origin',
      body: JSON.stringify(input ?? {}),
    });
    const body = (await res.json()) as Result<unknown>;
    if (body && typeof body === 'object' && 'ok' in body) return body;
    return { ok: false, error: networkFailure(res.status) };
  } catch {
    return { ok: false, error: networkFailure(0) };
  }
}

export const api = new Proxy({} as Api, {
  get: (_t, method: string) => (input: unknown) => call(method, input),
});
