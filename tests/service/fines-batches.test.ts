// Issue 16, fines batches. A batch id is the retry key: the same body again answers the stored result
// (replayed); the same id with OTHER fines (a daily job naming its batch by the date and sending a
// correction), or by another key, is refused 409 BATCH_ID_REUSED, never answered 200 with the new fines
// dropped. And a console upload without revisions never overrides a fine the API holds with a revision.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAdmin } from '../../hub/admin.ts';
import { ManualClock } from '../../protocol/time.ts';
import { makeKey, sampleFine, startServiceHub } from '../service/helpers.ts';
import type { TestHub } from '../hub/helpers.ts';

const NOW = Date.UTC(2026, 4, 10, 2, 0, 0);

describe('fines batches', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startServiceHub('pglite', { clock: new ManualClock(NOW) });
  });
  afterAll(async () => t?.close());

  async function put(key: string, id: string, decisionNos: string[]): Promise<{ status: number; json: Record<string, unknown> }> {
    const body = decisionNos.map((d) => JSON.stringify({ op: 'upsert', revision: 1, fine: sampleFine(d) })).join('\n') + '\n';
    const res = await fetch(`${t.url}/api/v1/fines/batches/${id}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-ndjson' },
      body,
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }

  it('the second upload under the same id is refused or applied, never answered 200 and dropped', async () => {
    const a = await makeKey(t, ['fines:write'], 'system A');
    const b = await makeKey(t, ['fines:write'], 'system B');
    const first = await put(a.key, 'daily-2026-05-10', ['110000000000000001']);
    expect(first.json).toMatchObject({ state: 'done', applied: 1 });

    // Another system of the authority (another key) names its batch the same way, with other fines.
    const second = await put(b.key, 'daily-2026-05-10', ['110000000000000002', '110000000000000003']);
    const held = await t.db.query<{ decision_no: string }>('SELECT decision_no FROM fines ORDER BY decision_no');
    const applied = held.rows.map((r) => r.decision_no).filter((d) => d !== '110000000000000001');
    // Either refused (the caller learns its fines were not taken) or applied: not 200 with nothing applied.
    const silentlyDropped = second.status === 200 && applied.length === 0;
    expect({ status: second.status, replayed: second.json.replayed, applied, silentlyDropped }).toMatchObject({
      silentlyDropped: false,
    });
    expect(second.status).toBe(409);
    expect((second.json.error as { code: string }).code).toBe('BATCH_ID_REUSED');

    // The same key, the same id, another body: refused; the same body again: the stored result.
    const other = await put(a.key, 'daily-2026-05-10', ['110000000000000004']);
    expect({ status: other.status, code: (other.json.error as { code?: string } | undefined)?.code }).toEqual({
      status: 409,
      code: 'BATCH_ID_REUSED',
    });
    const again = await put(a.key, 'daily-2026-05-10', ['110000000000000001']);
    expect(again).toMatchObject({ status: 200, json: { replayed: true, applied: 1 } });
    const after = await t.db.query<{ decision_no: string }>('SELECT decision_no FROM fines ORDER BY decision_no');
    expect(after.rows.map((r) => r.decision_no)).toEqual(['110000000000000001']);
  });

  // A console upload (no revisions) must not beat the authority's newer revision. The
  // authority cancels a fine through the API (revision 5); an operator then uploads last week's CSV export
  // in the console, where the fine is still unpaid: the hub re-opens the cancelled fine and kiosks and the
  // pay page take money for it again. The API promises "newer wins, older refused"; a file without
  // revisions should not override a fine the API holds with a revision (refuse it, or only add new fines).
  it('a console upload without revisions does not re-open a fine the API cancelled with a newer revision', async () => {
    const a = await makeKey(t, ['fines:write'], 'system C');
    const no = '110000000000000009';
    const up = async (id: string, line: object) =>
      fetch(`${t.url}/api/v1/fines/batches/${id}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${a.key}`, 'content-type': 'application/x-ndjson' },
        body: JSON.stringify(line) + '\n',
      }).then((r) => r.json() as Promise<Record<string, unknown>>);
    expect(await up('c-1', { op: 'upsert', revision: 4, fine: sampleFine(no) })).toMatchObject({ applied: 1 });
    expect(await up('c-2', { op: 'cancel', revision: 5, decisionNo: no })).toMatchObject({ applied: 1 });

    expect((await runAdmin(t.hub, 'operator.add', { id: 'ops1', role: 'operator', password: 'correct horse 1' })).ok).toBe(true);
    const login = await t.app.inject({ method: 'POST', url: '/console/api/login', payload: { id: 'ops1', password: 'correct horse 1' } });
    const { csrf } = login.json() as { csrf: string };
    const cookie = String(login.headers['set-cookie']).split(';')[0]!;
    const upload = await t.app.inject({
      method: 'POST',
      url: '/console/api/fines/old-export',
      headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' },
      payload: JSON.stringify([sampleFine(no)]),
    });
    expect(upload.statusCode).toBe(200);
    const r = await t.db.query<{ status: string; source_rev: string }>('SELECT status, source_rev FROM fines WHERE decision_no = $1', [no]);
    expect(r.rows[0]?.status).toBe('cancelled');
    expect((upload.json() as { value: unknown }).value).toMatchObject({ refused: 1, refusals: [expect.objectContaining({ code: 'REVISION_STALE', hubRevision: 5 })] });

    // The same through `hub fines import` (a file has no revisions): the fine stays cancelled, new fines are added.
    const imp = await t.hub.fines.importRows([sampleFine(no), sampleFine('110000000000000010')]);
    expect(imp.ok).toBe(true);
    const r2 = await t.db.query<{ decision_no: string; status: string }>(
      'SELECT decision_no, status FROM fines WHERE decision_no = ANY($1::text[]) ORDER BY decision_no',
      [[no, '110000000000000010']],
    );
    expect(r2.rows).toEqual([
      { decision_no: no, status: 'cancelled' },
      { decision_no: '110000000000000010', status: 'unpaid' },
    ]);
  });
});
