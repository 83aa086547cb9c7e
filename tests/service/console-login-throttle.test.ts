// Issue 16, console login: failed logins are counted per operator id (and per address); after 5 within
// 15 minutes the account is locked for 15 minutes: LOGIN_LOCKED (429, Retry-After, audited), even with the
// right password, and no password is checked meanwhile. Then the right password logs in again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAdmin } from '../../hub/admin.ts';
import { ManualClock } from '../../protocol/time.ts';
import { startServiceHub } from '../service/helpers.ts';
import type { TestHub } from '../hub/helpers.ts';

describe('console login guessing', () => {
  let t: TestHub;
  const clock = new ManualClock(Date.UTC(2026, 4, 10, 2));
  beforeAll(async () => {
    t = await startServiceHub('pglite', { clock });
    expect((await runAdmin(t.hub, 'operator.add', { id: 'admin1', role: 'admin', password: 'correct horse 1' })).ok).toBe(true);
  });
  afterAll(async () => t?.close());

  const login = async (password: string): Promise<{ status: number; code?: string }> => {
    const res = await fetch(`${t.url}/console/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'admin1', password }),
    });
    const j = (await res.json()) as { error?: { code: string } };
    return { status: res.status, ...(j.error ? { code: j.error.code } : {}) };
  };

  it('12 wrong guesses in a row, then the right one: the guesser is slowed or locked out', async () => {
    const codes: string[] = [];
    for (let i = 0; i < 12; i++) codes.push((await login(`guess-${i}-password`)).code ?? 'ok');
    const right = await login('correct horse 1');
    // Every wrong guess got the same LOGIN_FAILED answer and the 13th (right) guess logs in: unlimited guessing.
    const throttled = codes.some((c) => c !== 'LOGIN_FAILED') || right.status !== 200;
    expect({ distinctCodes: [...new Set(codes)], right: right.status, throttled }).toMatchObject({ throttled: true });
    expect(codes.slice(0, 5)).toEqual(Array(5).fill('LOGIN_FAILED'));
    expect(codes.slice(5)).toEqual(Array(7).fill('LOGIN_LOCKED'));
    expect(right).toEqual({ status: 429, code: 'LOGIN_LOCKED' });
    const audited = await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_log WHERE action = 'login.locked'");
    expect(Number(audited.rows[0]?.n)).toBe(8);
    // The lock ends after 15 minutes; the right password then logs in.
    clock.advance(15 * 60_000 + 1000);
    expect((await login('correct horse 1')).status).toBe(200);
  });
});
