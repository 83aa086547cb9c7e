// Hub benchmarks (PostgreSQL from DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test; a fresh
// schema dropped afterwards). The hub runs in a child process, over loopback.
//  1. Drain 100,000 queued events from one kiosk (the real sync engine, batches of 1000), beside a bare
//     batched `pg` insert of the same rows measured in the same run.
//  2. 1,000 simulated kiosks, each long-polling and pushing a small batch every few seconds: push latency
//     p50/p99 and the hub's memory, beside one kiosk's push latency on an idle hub.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import pino from 'pino';
import { openKiosk } from '../main/kiosk.ts';
import { enroll, SyncEngine, syncStatus } from '../main/sync/engine.ts';
import { eventHash, GENESIS_HASH, type EventType, type OutboxEvent } from '../protocol/events.ts';
import { generateKeyPair, publicKeyToRaw } from '../protocol/signing.ts';
import { signRequest } from '../protocol/sync.ts';
import { makeBillToken } from '../protocol/tokens.ts';
import { fmtMs, printSection, stats } from './lib.ts';

const DRAIN_EVENTS = Number(process.env.FK_BENCH_EVENTS ?? 100_000);
const KIOSKS = Number(process.env.FK_BENCH_KIOSKS ?? 1000);
const SIM_SECONDS = Number(process.env.FK_BENCH_SECONDS ?? 40);
const PUSH_EVERY_MS = 3000;
const FINES = Number(process.env.FK_BENCH_FINES ?? 1_000_000);
const ONLY = process.env.FK_BENCH_ONLY;

const self = fileURLToPath(import.meta.url);

// ---- the hub child ----
if (process.env.FK_BENCH_HUB_CHILD) {
  const { startHub } = await import('../hub/server.ts');
  const running = await startHub({
    dataDir: process.env.FK_BENCH_HUB_CHILD,
    databaseUrl: process.env.DATABASE_URL!,
    schema: process.env.FK_SCHEMA!,
    logger: pino({ level: 'silent' }),
  });
  const code = async (region: string): Promise<string> => {
    const r = await running.hub.devices.add({ name: 'bench', region });
    if (!r.ok) throw new Error('device add');
    return r.value.code;
  };
  // The parent asks for enrollment codes on stdin, one per line.
  const rl = createInterface({ input: process.stdin });
  const { runAdmin } = await import('../hub/admin.ts');
  rl.on('line', (l) => {
    void (async () => {
      const m = JSON.parse(l) as { n?: number; region?: string; op?: string; args?: unknown };
      if (m.op) {
        const r = await runAdmin(running.hub, m.op, m.args);
        process.stdout.write(JSON.stringify({ ok: r.ok }) + '\n');
        return;
      }
      const codes: string[] = [];
      for (let i = 0; i < (m.n ?? 1); i++) codes.push(await code(m.region ?? '110000'));
      process.stdout.write(JSON.stringify({ codes }) + '\n');
    })();
  });
  process.stdout.write(JSON.stringify({ url: running.url, pid: process.pid }) + '\n');
}

interface HubChild {
  proc: ChildProcess;
  url: string;
  codes(n: number, region?: string): Promise<string[]>;
  admin(op: string, args: unknown): Promise<boolean>;
  rssMb(): number;
  stop(): Promise<void>;
}

async function startHubChild(dataDir: string, databaseUrl: string, schema: string): Promise<HubChild> {
  const proc = spawn(process.execPath, ['--import', 'tsx', self], {
    env: { ...process.env, FK_BENCH_HUB_CHILD: dataDir, DATABASE_URL: databaseUrl, FK_SCHEMA: schema },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const rl = createInterface({ input: proc.stdout! });
  const lines: string[] = [];
  const waiters: ((l: string) => void)[] = [];
  rl.on('line', (l) => {
    const w = waiters.shift();
    if (w) w(l);
    else lines.push(l);
  });
  const next = (): Promise<string> =>
    lines.length ? Promise.resolve(lines.shift()!) : new Promise((r) => waiters.push(r));
  const first = JSON.parse(await next()) as { url: string };
  return {
    proc,
    url: first.url,
    async codes(n, region) {
      proc.stdin!.write(JSON.stringify({ n, region }) + '\n');
      return (JSON.parse(await next()) as { codes: string[] }).codes;
    },
    async admin(op, args) {
      proc.stdin!.write(JSON.stringify({ op, args }) + '\n');
      return (JSON.parse(await next()) as { ok: boolean }).ok;
    },
    rssMb() {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'));
      return m ? Number(m[1]) / 1024 : NaN;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}

// ---- part 1: drain ----

function fillOutbox(kiosk: ReturnType<typeof openKiosk>, n: number): void {
  const id = kiosk.identity;
  const at = kiosk.clock.now();
  const issuedAt = Math.floor(at / 1000);
  for (let start = 0; start < n; start += 1000) {
    kiosk.db.transaction(() => {
      for (let i = start; i < Math.min(n, start + 1000); i++) {
        // A kiosk's day: bills issued, their print jobs, now and then a void.
        if (i % 2 === 0) {
          const billNo = `B${i}`;
          const decisionNo = `1100000000${String(i).padStart(8, '0')}`;
          const claims = {
            billNo,
            decisionNo,
            amountFen: 20000,
            issuedAt,
            expiresAt: issuedAt + 14400,
            deviceId: id.deviceId,
          };
          kiosk.outbox.append(
            'bill.issued',
            {
              billNo,
              decisionNo,
              fineFen: 20000,
              lateFeeFen: 0,
              amountFen: 20000,
              issuedAt,
              expiresAt: issuedAt + 14400,
              token: makeBillToken(claims, id.privateKey),
            },
            at,
          );
        } else if (i % 10 === 9) {
          kiosk.outbox.append('bill.voided', { billNo: `B${i - 1}`, reason: 'staff', at: issuedAt }, at);
        } else {
          kiosk.outbox.append(
            'print.job',
            { jobId: `J${i}`, kind: 'bill', ref: `B${i - 1}`, state: 'printed' },
            at,
          );
        }
      }
    })();
  }
}

async function bareInsert(databaseUrl: string, schema: string, events: OutboxEvent[]): Promise<number> {
  const c = new pg.Client({ connectionString: databaseUrl, options: `-c search_path=${schema}` });
  await c.connect();
  await c.query(
    `CREATE TABLE bare_events (device_id text, seq bigint, event_id text, type text, at bigint, payload text,
       prev_hash text, hash text, PRIMARY KEY (device_id, seq))`,
  );
  const t0 = performance.now();
  for (let i = 0; i < events.length; i += 1000) {
    const b = events.slice(i, i + 1000);
    await c.query(
      `INSERT INTO bare_events SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[])`,
      [
        b[0]!.deviceId,
        b.map((e) => e.seq),
        b.map((e) => e.eventId),
        b.map((e) => e.type),
        b.map((e) => e.at),
        b.map((e) => e.payload),
        b.map((e) => e.prevHash),
        b.map((e) => e.hash),
      ],
    );
  }
  const ms = performance.now() - t0;
  await c.end();
  return ms;
}

// ---- part 2: many kiosks ----

class SimKiosk {
  readonly id: string;
  private key = generateKeyPair();
  private events: OutboxEvent[] = [];
  private cursor = 0;
  constructor() {
    this.id = 'sim' + randomBytes(6).toString('hex');
  }
  get publicKey(): string {
    return publicKeyToRaw(this.key.publicKey);
  }
  private append(type: EventType, payload: object): OutboxEvent {
    const prev = this.events.at(-1);
    const base = {
      deviceId: this.id,
      seq: (prev?.seq ?? 0) + 1,
      eventId: randomUUID(),
      type,
      at: Date.now(),
      payload: JSON.stringify(payload),
      prevHash: prev?.hash ?? GENESIS_HASH,
    };
    const e = { ...base, hash: eventHash(base) };
    this.events.push(e);
    return e;
  }
  private headers(method: string, p: string, body: string): Record<string, string> {
    return {
      ...signRequest(
        this.key.privateKey,
        this.id,
        method,
        p,
        Math.floor(Date.now() / 1000),
        randomBytes(16).toString('base64url'),
        body,
      ),
      'content-type': 'application/json',
    };
  }
  async push(url: string, n: number): Promise<number> {
    const batch: OutboxEvent[] = [];
    for (let i = 0; i < n; i++)
      batch.push(
        this.append('print.job', {
          jobId: `J${this.events.length}`,
          kind: 'bill',
          ref: 'R',
          state: 'printed',
        }),
      );
    const body = JSON.stringify({ events: batch });
    const t0 = performance.now();
    const r = await fetch(`${url}/v1/sync/push`, {
      method: 'POST',
      headers: this.headers('POST', '/v1/sync/push', body),
      body,
    });
    await r.text();
    const ms = performance.now() - t0;
    if (r.status !== 200) throw new Error(`push ${r.status}`);
    return ms;
  }
  async longPoll(url: string, stop: AbortSignal): Promise<void> {
    // Kiosks come online at different moments, and the engine varies its wait (15-25 s) like this.
    await new Promise((r) => setTimeout(r, Math.random() * PUSH_EVERY_MS));
    while (!stop.aborted) {
      const p = `/v1/sync/pull?cursor=${this.cursor}&wait=${15 + Math.floor(Math.random() * 11)}`;
      try {
        const r = await fetch(url + p, { headers: this.headers('GET', p, ''), signal: stop });
        const j = (await r.json()) as { cursor?: number };
        if (typeof j.cursor === 'number') this.cursor = j.cursor;
      } catch {
        return;
      }
    }
  }
}

/** A region's fines reach a new kiosk in pages: the first pull of FINES fines, cut once and resumed. */
async function finesPull(hub: HubChild, dir: string): Promise<void> {
  const file = path.join(dir, 'fines.json');
  const rows = Array.from({ length: FINES }, (_, i) => ({
    decisionNo: `3100${String(i).padStart(14, '0')}`,
    region: '310000',
    plate: `沪A${String(i % 100000).padStart(5, '0')}`,
    vehicleIdLast6: String(i % 1000000).padStart(6, '0'),
    violationCode: '1039',
    description: '违反禁令标志指示',
    place: '延安高架路',
    occurredAt: '2026-05-01T08:30:00+08:00',
    decidedOn: '2026-05-03',
    fineFen: 20000,
    points: 3,
    status: 'unpaid',
  }));
  writeFileSync(file, JSON.stringify(rows));
  const ti = performance.now();
  const imp = await hub.admin('fines.import', { file });
  const importMs = performance.now() - ti;
  if (!imp) throw new Error('import failed');
  const kdir = path.join(dir, 'kiosk-fines');
  let kiosk = openKiosk({ dataDir: kdir });
  const [code] = await hub.codes(1, '310000');
  const er = await enroll(kiosk, { hubUrl: hub.url, code: code! });
  if (!er.ok) throw new Error(er.error.message);
  let engine = new SyncEngine(kiosk, { pullLimit: 5000 });
  const t0 = performance.now();
  let pages = 0;
  let cut = false;
  while (true) {
    const r = await engine.pullOnce(0);
    if (!r.ok) throw new Error(r.error.message);
    pages++;
    // A cut halfway: the kiosk closes and reopens, and a new engine resumes from the stored cursor.
    if (!cut && kiosk.fines.count() >= FINES / 2) {
      cut = true;
      kiosk.close();
      kiosk = openKiosk({ dataDir: kdir });
      engine = new SyncEngine(kiosk, { pullLimit: 5000 });
    }
    if (!r.value.more) break;
  }
  const pullMs = performance.now() - t0;
  const got = kiosk.fines.count();
  kiosk.close();
  printSection(
    `First pull of a region's ${FINES.toLocaleString('en-US')} fines by a new kiosk (pages of 5000, cut once halfway and resumed)`,
    [
      { name: 'hub import of the file', value: `${(importMs / 1000).toFixed(1)} s` },
      {
        name: 'kiosk first pull',
        value: `${(pullMs / 1000).toFixed(1)} s, ${pages} pages, ${got.toLocaleString('en-US')} fines stored (${Math.round((got / pullMs) * 1000).toLocaleString('en-US')}/s)`,
        anchor: `aim: minutes; hub import of the same rows took ${(importMs / 1000).toFixed(1)} s`,
      },
    ],
  );
  if (got !== FINES) throw new Error(`kiosk has ${got} fines, expected ${FINES}`);
}

export async function run(): Promise<void> {
  const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const schema = `bench_${randomBytes(5).toString('hex')}`;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fk-hubbench-'));
  let hub = await startHubChild(path.join(dir, 'hub'), databaseUrl, schema);
  try {
    if (!ONLY || ONLY === 'fines') {
      await finesPull(hub, dir);
      // The operator's import of a million-row file ran inside this hub process; the memory figure below
      // is of a hub serving kiosks, so the rest runs on a fresh process (state is all in PostgreSQL).
      printSection('hub process after importing and serving 1,000,000 fines', [
        { name: 'hub memory (RSS)', value: `${hub.rssMb().toFixed(0)} MB` },
      ]);
      await hub.stop();
      hub = await startHubChild(path.join(dir, 'hub'), databaseUrl, schema);
    }
    if (ONLY === 'fines') return;
    // Part 1.
    const kiosk = openKiosk({ dataDir: path.join(dir, 'kiosk') });
    const tf = performance.now();
    fillOutbox(kiosk, DRAIN_EVENTS);
    const fillMs = performance.now() - tf;
    const [code] = await hub.codes(1);
    const er = await enroll(kiosk, { hubUrl: hub.url, code: code! });
    if (!er.ok) throw new Error(er.error.message);
    const engine = new SyncEngine(kiosk, { batchSize: 1000 });
    const t0 = performance.now();
    const pushed = await engine.pushAll();
    const drainMs = performance.now() - t0;
    if (!pushed.ok || syncStatus(kiosk).queued !== 0) throw new Error('drain did not finish');
    const events = kiosk.outbox.list(0, DRAIN_EVENTS);
    kiosk.close();
    const bareMs = await bareInsert(databaseUrl, schema, events);
    const rate = (DRAIN_EVENTS / drainMs) * 1000;
    const bareRate = (DRAIN_EVENTS / bareMs) * 1000;
    printSection(
      `Drain ${DRAIN_EVENTS.toLocaleString('en-US')} queued events, one kiosk → hub on PostgreSQL (loopback, batches of 1000)`,
      [
        {
          name: 'events in the outbox',
          value: `${DRAIN_EVENTS} (50% bill.issued, 10% bill.voided, 40% print.job); filled in ${(fillMs / 1000).toFixed(1)} s`,
        },
        {
          name: 'sync engine drain',
          value: `${Math.round(rate).toLocaleString('en-US')} events/s (${(drainMs / 1000).toFixed(2)} s)`,
          anchor: `aim ≥ 20,000 events/s and within 3x of the bare insert`,
        },
        {
          name: 'bare batched pg insert of the same rows',
          value: `${Math.round(bareRate).toLocaleString('en-US')} events/s (${(bareMs / 1000).toFixed(2)} s)`,
          anchor: `sync is ${(drainMs / bareMs).toFixed(2)}x the bare insert's time`,
        },
      ],
    );

    // Part 2: baseline, one kiosk on an otherwise idle hub.
    const sims: SimKiosk[] = Array.from({ length: KIOSKS }, () => new SimKiosk());
    const codes = await hub.codes(KIOSKS);
    for (let i = 0; i < KIOSKS; i += 50) {
      await Promise.all(
        sims.slice(i, i + 50).map(async (s, j) => {
          const r = await fetch(`${hub.url}/v1/enroll`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ code: codes[i + j], publicKey: s.publicKey, deviceId: s.id }),
          });
          if (r.status !== 200) throw new Error(`enroll ${r.status}`);
        }),
      );
    }
    const idle: number[] = [];
    for (let i = 0; i < 200; i++) idle.push(await sims[0]!.push(hub.url, 5));
    const idleStats = stats(idle.slice(20));
    const rssBefore = hub.rssMb();

    const stops = sims.map(() => new AbortController());
    const polls = sims.map((s, i) => s.longPoll(hub.url, stops[i]!.signal));
    await new Promise((r) => setTimeout(r, PUSH_EVERY_MS + 1000));
    const latencies: number[] = [];
    let errors = 0;
    let peakRss = hub.rssMb();
    const end = Date.now() + SIM_SECONDS * 1000;
    const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, hub.rssMb())), 500);
    await Promise.all(
      sims.map(async (s) => {
        await new Promise((r) => setTimeout(r, Math.random() * PUSH_EVERY_MS));
        while (Date.now() < end) {
          const t = Date.now();
          try {
            latencies.push(await s.push(hub.url, 5));
          } catch {
            errors++;
          }
          await new Promise((r) => setTimeout(r, Math.max(0, PUSH_EVERY_MS - (Date.now() - t))));
        }
      }),
    );
    clearInterval(rssTimer);
    for (const c of stops) c.abort();
    await Promise.allSettled(polls);
    const st = stats(latencies);
    printSection(
      `${KIOSKS} kiosks long-polling, each pushing 5 events every ${PUSH_EVERY_MS / 1000} s for ${SIM_SECONDS} s`,
      [
        { name: 'pushes', value: `${st.n} (${(st.n / SIM_SECONDS).toFixed(0)}/s), errors ${errors}` },
        {
          name: 'push latency p50',
          value: fmtMs(st.p50),
          anchor: `one kiosk on an idle hub: p50 ${fmtMs(idleStats.p50)}`,
        },
        {
          name: 'push latency p99',
          value: fmtMs(st.p99),
          anchor: `aim < 100 ms; idle hub p99 ${fmtMs(idleStats.p99)}`,
        },
        {
          name: 'hub memory (RSS)',
          value: `peak ${peakRss.toFixed(0)} MB`,
          anchor: `before the ${KIOSKS} long polls: ${rssBefore.toFixed(0)} MB`,
        },
      ],
    );
  } finally {
    await hub.stop();
    const c = new pg.Client({ connectionString: databaseUrl });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await c.end();
    rmSync(dir, { recursive: true, force: true });
  }
}
