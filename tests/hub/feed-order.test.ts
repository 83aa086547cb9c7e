// The change feed without a global lock (hub/feed/order.ts, migration 11): writers in several "hub processes"
// (separate pools on one PostgreSQL) take no lock and commit in any order; readers pull through the hub's own
// pull. A reader must never miss a change: a transaction that wrote before another but commits after it (the
// case a position taken at write time would skip) is still seen, and at the end every reader holds every
// committed change exactly once and every fine's last version.
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openHubDb, type HubDb } from '../../hub/db.ts';
import { sequenceFeed } from '../../hub/feed/order.ts';
import { createHubService, type Device, type HubService } from '../../hub/service/index.ts';
import type { PullChange } from '../../protocol/sync.ts';
import { sampleFine } from './helpers.ts';

const url = process.env.DATABASE_URL;
const REGION = '310000';

const reader: Device = {
  id: 'reader1',
  name: 'reader',
  region: REGION,
  publicKey: '',
  enabled: true,
  lastSeq: 0,
  createdAt: 0,
  lastSeenAt: null,
};

/** What a reader has: each change's mark once, and each fine's last status. */
class Reader {
  cursor = 0;
  marks: string[] = [];
  fines = new Map<string, string>();
  constructor(private hubs: HubService[]) {}
  /** Pulls every page there is now, through one of the hubs. */
  async drain(via: number): Promise<void> {
    const hub = this.hubs[via % this.hubs.length]!;
    for (;;) {
      const page = await hub.pull(reader, this.cursor, 50);
      for (const c of page.changes) this.take(c);
      if (page.changes.length > 0) expect(page.cursor).toBeGreaterThan(this.cursor);
      this.cursor = page.cursor;
      if (!page.more) return;
    }
  }
  private take(c: PullChange): void {
    expect(c.cursor).toBeGreaterThan(this.cursor);
    if (c.kind === 'fine') this.fines.set(c.fine.decisionNo, c.fine.status);
    else if (c.kind === 'config') this.marks.push(String((c.config as { mark?: string }).mark));
  }
}

/** A writer connection: one open transaction at a time, committed or rolled back when the test says. */
class Writer {
  private c: pg.Client;
  open = false;
  constructor(schema: string) {
    this.c = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
  }
  async connect(): Promise<void> {
    await this.c.connect();
  }
  async begin(): Promise<void> {
    await this.c.query('BEGIN');
    this.open = true;
  }
  /** A change for the region's devices, as a settlement writes one (no lock, no position). */
  async change(mark: string): Promise<void> {
    await this.c.query(
      `INSERT INTO changes (kind, region, data, created_at) VALUES ('config', $1, $2::jsonb, 0)`,
      [REGION, JSON.stringify({ config: { mark } })],
    );
  }
  /** A fine's new status, as a settlement writes it. */
  async fine(decisionNo: string, status: string): Promise<void> {
    await this.c.query(
      `UPDATE fines SET status = $2, data = jsonb_set(data, '{status}', to_jsonb($2::text)), rev = NULL,
         pend = nextval('feed_pend_seq') WHERE decision_no = $1`,
      [decisionNo, status],
    );
  }
  async end(commit: boolean): Promise<void> {
    await this.c.query(commit ? 'COMMIT' : 'ROLLBACK');
    this.open = false;
  }
  close(): Promise<void> {
    return this.c.end();
  }
}

describe.skipIf(!url)('the change feed under concurrent writers on PostgreSQL', () => {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const dbs: HubDb[] = [];
  const hubs: HubService[] = [];
  const FINES = ['1', '2', '3'].map((n) => `31000000000000000${n}`);

  beforeAll(async () => {
    // Three hub processes' pools on one schema.
    for (let i = 0; i < 3; i++) {
      const db = await openHubDb({ databaseUrl: url!, schema, listen: false });
      dbs.push(db);
      hubs.push(createHubService({ db }));
    }
    const r = await hubs[0]!.fines.importRows(FINES.map((decisionNo) => sampleFine(decisionNo, REGION)));
    expect(r.ok).toBe(true);
  });
  afterAll(async () => {
    for (const db of dbs) await db.close();
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query(`DROP SCHEMA ${schema} CASCADE`);
    await c.end();
  });

  it('a change written first and committed last is still pulled after later ones were', async () => {
    const a = new Writer(schema);
    const b = new Writer(schema);
    await a.connect();
    await b.connect();
    const r = new Reader(hubs);
    await r.drain(0);
    const before = r.marks.length;
    await a.begin();
    await a.change('early'); // written first
    await b.begin();
    await b.change('late');
    await b.end(true); // committed first
    await r.drain(1);
    expect(r.marks.slice(before)).toEqual(['late']);
    await a.end(true);
    await r.drain(2);
    expect(r.marks.slice(before)).toEqual(['late', 'early']);
    await a.close();
    await b.close();
  });

  it('over random interleavings of writes, commits, rollbacks and pulls, no reader misses a change', async () => {
    const writers = await Promise.all(
      [0, 1, 2, 3].map(async () => {
        const w = new Writer(schema);
        await w.connect();
        return w;
      }),
    );
    let run = 0;
    // One step: a writer's next move (begin, write a change or a fine, end), or a pull (by reader 0 or 1,
    // through hub `via`, sometimes with a sequencing run of every process at once).
    const step = fc.oneof(
      fc.record({
        w: fc.integer({ min: 0, max: writers.length - 1 }),
        fine: fc.option(fc.integer({ min: 0, max: FINES.length - 1 }), { nil: undefined }),
        commit: fc.boolean(),
      }),
      fc.record({ reader: fc.integer({ min: 0, max: 1 }), via: fc.nat(5), race: fc.boolean() }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 5, maxLength: 40 }), async (steps) => {
        run++;
        const readers = [new Reader(hubs), new Reader(hubs)];
        for (const x of readers) await x.drain(0);
        const base = readers.map((x) => x.marks.length);
        const committed: string[] = [];
        const pending = writers.map(() => [] as string[]);
        const finesNow = new Map<string, string>();
        const finesPending = writers.map(() => new Map<string, string>());
        let n = 0;
        for (const s of steps) {
          if ('reader' in s) {
            if (s.race) await Promise.all(dbs.map((db) => sequenceFeed(db)));
            await readers[s.reader]!.drain(s.via);
            continue;
          }
          const w = writers[s.w]!;
          if (!w.open) {
            await w.begin();
          } else if (pending[s.w]!.length + finesPending[s.w]!.size >= 2) {
            await w.end(s.commit);
            if (s.commit) {
              committed.push(...pending[s.w]!);
              for (const [k, v] of finesPending[s.w]!) finesNow.set(k, v);
            }
            pending[s.w] = [];
            finesPending[s.w]!.clear();
          } else if (s.fine !== undefined) {
            const no = FINES[s.fine]!;
            // Two open transactions never write the same fine here: the second would wait on the first's
            // row lock, and this test runs its steps one at a time.
            if (finesPending.some((m, i) => i !== s.w && m.has(no))) continue;
            const status = `s${run}-${n++}`;
            await w.fine(no, status);
            finesPending[s.w]!.set(no, status);
          } else {
            const mark = `m${run}-${n++}`;
            await w.change(mark);
            pending[s.w]!.push(mark);
          }
        }
        for (const [i, w] of writers.entries()) {
          if (!w.open) continue;
          await w.end(true);
          committed.push(...pending[i]!);
          for (const [k, v] of finesPending[i]!) finesNow.set(k, v);
          pending[i] = [];
          finesPending[i]!.clear();
        }
        for (const [i, x] of readers.entries()) {
          await x.drain(i);
          const seen = x.marks.slice(base[i]);
          expect(new Set(seen).size).toBe(seen.length);
          expect([...seen].sort()).toEqual([...committed].sort());
          for (const [k, v] of finesNow) expect(x.fines.get(k)).toBe(v);
        }
      }),
      { numRuns: 25 },
    );
    for (const w of writers) await w.close();
  });

  it('settlement-like writers racing in three processes: readers end with every change once', async () => {
    const r = [new Reader(hubs), new Reader(hubs)];
    for (const x of r) await x.drain(0);
    const base = r.map((x) => x.marks.length);
    const marks: string[] = [];
    let done = false;
    // Writers: 3 pools x 8 concurrent transactions of two changes each, no lock between them.
    const writing = (async () => {
      const all: Promise<void>[] = [];
      for (let i = 0; i < 240; i++) {
        const db = dbs[i % dbs.length]!;
        const m = [`race${i}a`, `race${i}b`];
        marks.push(...m);
        all.push(
          db.transaction(async (tx) => {
            for (const mark of m)
              await tx.query(
                `INSERT INTO changes (kind, region, data, created_at) VALUES ('config', $1, $2::jsonb, 0)`,
                [REGION, JSON.stringify({ config: { mark } })],
              );
          }),
        );
        if (all.length % 24 === 0) await Promise.all(all.splice(0));
      }
      await Promise.all(all);
      done = true;
    })();
    // Readers pull through all three hubs while the writers run.
    let via = 0;
    while (!done) await Promise.all(r.map((x) => x.drain(via++)));
    await writing;
    for (const [i, x] of r.entries()) {
      await x.drain(i);
      const seen = x.marks.slice(base[i]);
      expect(seen.length).toBe(marks.length);
      expect([...seen].sort()).toEqual([...marks].sort());
    }
  });
});
