// Several hub processes on one PostgreSQL: the same device pushing through two hubs at once still lands
// each (device, seq) exactly once, and a change written through one hub wakes a long poll held by the other.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHubApp } from '../../hub/app.ts';
import { openHubDb, type HubDb } from '../../hub/db.ts';
import { createHubService, type HubService } from '../../hub/service/index.ts';
import { enrollDevice, sampleFine, TestDevice, type TestHub } from './helpers.ts';

const url = process.env.DATABASE_URL;

// Only PostgreSQL admits several processes; PGlite is single-process by design.
describe.skipIf(!url)('two hubs on one PostgreSQL', () => {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const hubs: { db: HubDb; hub: HubService; url: string; close(): Promise<void> }[] = [];
  beforeAll(async () => {
    for (let i = 0; i < 2; i++) {
      const db = await openHubDb({ databaseUrl: url!, schema });
      const hub = createHubService({ db });
      const app = await buildHubApp({ hub, logger: pino({ level: 'silent' }), closeGraceMs: 200 });
      await app.listen({ port: 0, host: '127.0.0.1' });
      const a = app.server.address();
      hubs.push({
        db,
        hub,
        url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`,
        close: async () => {
          await app.close();
          await db.close();
        },
      });
    }
  });
  afterAll(async () => {
    for (const h of hubs) await h.close();
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query(`DROP SCHEMA ${schema} CASCADE`);
    await c.end();
  });

  it('applies each event once when batches race through both hubs', async () => {
    const dev = new TestDevice('kioskmulti1');
    await enrollDevice(hubs[0] as unknown as TestHub, dev);
    for (let i = 0; i < 400; i++)
      dev.append('print.job', { jobId: `j${i}`, kind: 'bill', ref: 'R', state: 'printed' });
    // Every batch sent to both hubs at once, twice over; the device row lock sorts them out.
    for (let from = 0; from < 400; from += 50) {
      const batch = dev.events.slice(from, from + 50);
      const rs = await Promise.all([
        dev.push(hubs[0]!.url, batch),
        dev.push(hubs[1]!.url, batch),
        dev.push(hubs[1]!.url, batch),
      ]);
      expect(rs.every((r) => r.status === 200)).toBe(true);
      expect(rs.reduce((s, r) => s + r.json.applied, 0)).toBe(50);
    }
    const held = await hubs[1]!.hub.eventsOf(dev.id);
    expect(held.map((e) => e.seq)).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
    expect((await hubs[0]!.hub.verifyChains()).broken).toEqual([]);
  });

  it('wakes a long poll on one hub when the other writes a change', async () => {
    const dev = new TestDevice('kioskmulti2');
    await enrollDevice(hubs[0] as unknown as TestHub, dev);
    const first = await dev.request(hubs[0]!.url, 'GET', '/v1/sync/pull?cursor=0');
    // The answer carries the change only if the other process's write woke the poll (an expired poll answers empty).
    const waiting = dev.request(hubs[0]!.url, 'GET', `/v1/sync/pull?cursor=${first.json.cursor}&wait=60`);
    await new Promise((r) => setTimeout(r, 200));
    await hubs[1]!.hub.fines.importRows([sampleFine('100000000000000077')]);
    const r = await waiting;
    expect(r.json.changes[0].fine.decisionNo).toBe('100000000000000077');
  });
});
