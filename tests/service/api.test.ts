// The integration API against its own served OpenAPI document (validated by ajv, not by the hub's zod):
// every route's requests and answers, scopes and revoked keys, revisions, a retried batch, the feed.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runAdmin } from '../../hub/admin.ts';
import { ManualClock } from '../../protocol/time.ts';
import {
  ContractClient,
  enrollDevice,
  makeKey,
  sampleFine,
  startServiceHub,
  TestDevice,
  type Json,
} from './helpers.ts';
import { STORAGES, type TestHub } from '../hub/helpers.ts';

const NOW = Date.UTC(2026, 4, 10, 2, 0, 0);

for (const storage of STORAGES) {
  describe(`integration API (${storage})`, () => {
    let t: TestHub;
    let api: ContractClient;
    let clock: ManualClock;
    beforeEach(async () => {
      clock = new ManualClock(NOW);
      t = await startServiceHub(storage, { clock });
      api = await ContractClient.load(t.url);
    });
    afterEach(async () => t.close());

    /** A bill issued and paid on the hub, so the feed has a payment. */
    async function paidBill(decisionNo: string, txnId: string): Promise<{ billNo: string }> {
      const dev = new TestDevice(`dev${decisionNo.slice(-6)}`, clock);
      await enrollDevice(t, dev);
      const b = dev.issueBill(decisionNo, 20000);
      const r = await dev.push(t.url, [b.event]);
      expect(r.status).toBe(200);
      const s = await t.hub.payments.settle({
        billNo: b.billNo,
        amountFen: 20000,
        channel: 'alipay',
        txnId,
        paidAt: Math.floor(NOW / 1000),
      });
      expect(s.ok).toBe(true);
      return { billNo: b.billNo };
    }

    it('every route of the document is exercised, requests and answers validate', async () => {
      const writer = await makeKey(t, ['fines:write', 'fines:read']);
      const reader = await makeKey(t, ['payments:read', 'reports:read']);
      const items = [1, 2, 3].map((i) => ({
        op: 'upsert',
        revision: 1,
        fine: sampleFine(`1100000000000${i}`),
      }));
      const put = await api.call('PUT', '/api/v1/fines/batches/b-1', { key: writer.key, json: { items } });
      expect(put.status).toBe(200);
      expect(put.json).toMatchObject({ state: 'done', received: 3, applied: 3, refused: 0 });
      const nd = await api.call('PUT', '/api/v1/fines/batches/b-2', {
        key: writer.key,
        ndjson: [{ op: 'cancel', revision: 2, decisionNo: '11000000000001' }],
      });
      expect(nd.json).toMatchObject({ applied: 1 });
      expect((await api.call('GET', '/api/v1/fines/batches/b-2', { key: writer.key })).json.state).toBe(
        'done',
      );
      expect((await api.call('GET', '/api/v1/fines/batches/nope', { key: writer.key })).status).toBe(404);
      const f = await api.call('GET', '/api/v1/fines/11000000000001', { key: writer.key });
      expect(f.json).toMatchObject({ revision: 2, fine: { status: 'cancelled' } });
      expect((await api.call('GET', '/api/v1/fines/99999999999999', { key: writer.key })).status).toBe(404);

      const { billNo } = await paidBill('11000000000002', 'T2026051000001');
      const ev = await api.call('GET', '/api/v1/events?limit=10', { key: reader.key });
      expect(ev.json.events).toHaveLength(1);
      expect(ev.json.events[0]).toMatchObject({
        id: 'payment.settled:alipay:T2026051000001',
        type: 'payment.settled',
        data: { billNo, decisionNo: '11000000000002', amountFen: 20000 },
      });
      expect(
        (await api.call('POST', '/api/v1/events/ack', { key: reader.key, json: { cursor: ev.json.cursor } }))
          .json.acked,
      ).toBe(ev.json.cursor);
      expect(
        (
          await api.call('POST', '/api/v1/events/ack', {
            key: reader.key,
            json: { cursor: ev.json.cursor + 5 },
          })
        ).status,
      ).toBe(400);
      const pay = await api.call('GET', '/api/v1/payments?decisionNo=11000000000002', { key: reader.key });
      expect(pay.json.payments[0]).toMatchObject({ billNo, txnId: 'T2026051000001', status: 'settled' });
      expect((await api.call('GET', '/api/v1/payments', { key: reader.key })).status).toBe(400);
      expect(
        (await api.call('GET', '/api/v1/reconciliation/reports', { key: reader.key })).json.reports,
      ).toEqual([]);
      expect((await api.call('GET', '/api/v1/reconciliation/reports/r1', { key: reader.key })).status).toBe(
        404,
      );
      for (const id of api.operationIds()) expect(api.exercised, id).toContain(id);
    });

    it('refuses a missing key, a wrong scope and a revoked key, and logs every call without the key', async () => {
      const reader = await makeKey(t, ['payments:read']);
      const body = { items: [{ op: 'upsert', revision: 1, fine: sampleFine('12000000000001') }] };
      expect((await api.call('PUT', '/api/v1/fines/batches/x1', { json: body })).json.error.code).toBe(
        'UNAUTHORIZED',
      );
      const wrong = await api.call('PUT', '/api/v1/fines/batches/x1', { key: reader.key, json: body });
      expect([wrong.status, wrong.json.error.code]).toEqual([403, 'FORBIDDEN']);
      expect(await t.hub.fines.count()).toBe(0);
      expect((await api.call('GET', '/api/v1/events', { key: reader.key })).status).toBe(200);
      expect((await runAdmin(t.hub, 'apikey.revoke', { id: reader.id })).ok).toBe(true);
      const revoked = await api.call('GET', '/api/v1/events', { key: reader.key });
      expect([revoked.status, revoked.json.error.code]).toEqual([401, 'KEY_REVOKED']);
      const forged = reader.key.slice(0, -4) + 'AAAA';
      expect((await api.call('GET', '/api/v1/events', { key: forged })).json.error.code).toBe('UNAUTHORIZED');
      // A call is logged once its answer is sent (onResponse): wait for the last one's row.
      const logged = () =>
        t.db.query<Json>("SELECT * FROM api_calls WHERE route <> '/api/v1/openapi.json' ORDER BY id");
      await expect.poll(async () => (await logged()).rows.length).toBe(5);
      const calls = await logged();
      expect(calls.rows.map((c: Json) => [c.key_id, c.status])).toEqual([
        [null, 401],
        [reader.id, 403],
        [reader.id, 200],
        [reader.id, 401],
        [null, 401],
      ]);
      expect(JSON.stringify(calls.rows)).not.toContain(reader.key.split('_')[2]);
      const stored = await t.db.query<Json>('SELECT * FROM api_keys');
      expect(JSON.stringify(stored.rows)).not.toContain(reader.key.split('_')[2]);
    });

    it('a newer revision wins, an older one is refused with its code; a paid fine is never cancelled', async () => {
      const w = await makeKey(t, ['fines:write', 'fines:read']);
      const put = (id: string, lines: unknown[]) =>
        api.call('PUT', `/api/v1/fines/batches/${id}`, { key: w.key, ndjson: lines });
      await put('r1', [
        { op: 'upsert', revision: 5, fine: sampleFine('13000000000001', '110000', { fineFen: 10000 }) },
      ]);
      const r2 = await put('r2', [
        { op: 'upsert', revision: 4, fine: sampleFine('13000000000001', '110000', { fineFen: 1 }) },
        { op: 'upsert', revision: 5, fine: sampleFine('13000000000001', '110000', { fineFen: 2 }) },
        { op: 'upsert', revision: 6, fine: sampleFine('13000000000001', '110000', { fineFen: 30000 }) },
        { op: 'cancel', revision: 1, decisionNo: '13000000000099' },
      ]);
      expect(r2.json).toMatchObject({ received: 4, applied: 1, refused: 3 });
      expect(r2.json.refusals.map((x: Json) => [x.line, x.code, x.hubRevision])).toEqual([
        [1, 'REVISION_STALE', 5],
        [2, 'REVISION_STALE', 5],
        [4, 'FINE_NOT_FOUND', undefined],
      ]);
      expect((await api.call('GET', '/api/v1/fines/13000000000001', { key: w.key })).json).toMatchObject({
        revision: 6,
        fine: { fineFen: 30000 },
      });
      await put('r2b', [{ op: 'upsert', revision: 1, fine: sampleFine('13000000000002') }]);
      await paidBill('13000000000002', 'T2026051000002');
      const r3 = await put('r3', [{ op: 'cancel', revision: 9, decisionNo: '13000000000002' }]);
      expect(r3.json.refusals[0].code).toBe('FINE_PAID');
      const bad = await api.call('PUT', '/api/v1/fines/batches/r4', {
        key: w.key,
        ndjson: `{not json\n${JSON.stringify({ op: 'upsert', revision: 1, fine: { decisionNo: 'x' } })}\n`,
      });
      expect(bad.json).toMatchObject({ received: 2, refused: 2, applied: 0 });
    });

    it('a batch retried after a lost answer changes nothing the second time', async () => {
      const w = await makeKey(t, ['fines:write']);
      const lines = Array.from({ length: 2500 }, (_, i) => ({
        op: 'upsert',
        revision: 1,
        fine: sampleFine(`14${String(i).padStart(12, '0')}`),
      }));
      const snapshot = async () => ({
        fines: (
          await t.db.query(
            'SELECT decision_no, rev, updated_at, source_rev, data FROM fines ORDER BY decision_no',
          )
        ).rows,
        seq: (await t.db.query('SELECT last_value FROM feed_seq')).rows,
      });
      const first = await api.call('PUT', '/api/v1/fines/batches/lost-1', { key: w.key, ndjson: lines });
      expect(first.json).toMatchObject({ applied: 2500 });
      const before = await snapshot();
      clock.advance(60_000);
      const again = await api.call('PUT', '/api/v1/fines/batches/lost-1', { key: w.key, ndjson: lines });
      expect(again.json).toMatchObject({ ...first.json, replayed: true });
      expect(await snapshot()).toEqual(before);
      // Even under a new batch id, the same revisions change nothing.
      const other = await api.call('PUT', '/api/v1/fines/batches/lost-2', { key: w.key, ndjson: lines });
      expect(other.json).toMatchObject({ applied: 0, unchanged: 2500 });
      expect(await snapshot()).toEqual(before);
    });

    it('the feed gives each payment once by a stable id; unacknowledged events come again', async () => {
      const r = await makeKey(t, ['payments:read']);
      await paidBill('15000000000001', 'T2026051000003');
      await paidBill('15000000000002', 'T2026051000004');
      const a = await api.call('GET', '/api/v1/events?limit=1', { key: r.key });
      expect(a.json).toMatchObject({ more: true, acked: 0 });
      // The consumer crashed before acknowledging: it reads the same event again, by the same id.
      const again = await api.call('GET', '/api/v1/events?limit=1', { key: r.key });
      expect(again.json.events).toEqual(a.json.events);
      await api.call('POST', '/api/v1/events/ack', { key: r.key, json: { cursor: a.json.cursor } });
      const b = await api.call('GET', '/api/v1/events', { key: r.key });
      expect(b.json.events.map((e: Json) => e.id)).toEqual(['payment.settled:alipay:T2026051000004']);
      await api.call('POST', '/api/v1/events/ack', { key: r.key, json: { cursor: b.json.cursor } });
      // Acknowledging an older cursor never moves back.
      await api.call('POST', '/api/v1/events/ack', { key: r.key, json: { cursor: 1 } });
      expect((await api.call('GET', '/api/v1/events', { key: r.key })).json.events).toEqual([]);
    });
  });
}
