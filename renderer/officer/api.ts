// The officer screen's calls: the same POST /api/<method> as the kiosk screen, typed by the officer API.
import type { OfficerClient } from '../../main/officer/api.ts';
import type { Result } from '../../protocol/result.ts';

async function call(method: string, input: unknown): Promise<Result<unknown>> {
  try {
    const res = await fetch(`/api/${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      credentials: 'same-origin',
      body: JSON.stringify(input ?? {}),
    });
    return (await res.json()) as Result<unknown>;
  } catch {
    return {
      ok: false,
      error: {
        code: 'UNEXPECTED',
        message: 'The device service did not answer',
        messageZh: '本机服务无响应',
      },
    };
  }
}

export const officerApi = new Proxy({} as OfficerClient, {
  get: (_t, method: string) => (input: unknown) => call(method, input),
});
