// Payment benchmarks on PostgreSQL (DATABASE_URL, else the local postgres@127.0.0.1; PGlite if neither
// answers): channel notifications handled per second through the hub's HTTP endpoint, signature checks,
// decryption and settlement included; and the latency from a notification to the kiosk's long poll
// (a signed GET /v1/sync/pull?wait=) returning the payment. Anchors, measured in the same run: the
// verification alone, a bare one-row PostgreSQL transaction at the same concurrency, and the
// notification's own HTTP round trip. And the cost of the money rules' checks in settlement (issue 10: the
// fine unpaid with no other bill paid, the fine's other live bills voided): the same notifications through a
// second hub whose database answers those statements without asking PostgreSQL, beside the real one.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import pino from 'pino';
import { buildHubApp } from '../hub/app.ts';
import { openHubDb, type HubDb } from '../hub/db.ts';
import { createHubService } from '../hub/service/index.ts';
import { ChannelSimulator, type SimOrder } from '../hub/channels/simulator.ts';
import type { ChannelAdapter } from '../hub/channels/types.ts';
import { buildAdapters, freeLoopbackPort } from '../hub/pay/config.ts';
import { payPlugin } from '../hub/pay/routes.ts';
import type { Channel } from '../protocol/ids.ts';
import { generateKeyPair, publicKeyToRaw } from '../protocol/signing.ts';
import { signRequest } from '../protocol/sync.ts';
import { makeBillToken } from '../protocol/tokens.ts';
import { fmtMs, printSection, stats } from './lib.ts';
import type { HubQueryable } from '../hub/db.ts';

/** The fine-level checks of hub/service/payments.ts settleIn, recognised by their text (counted, so a rename shows). */
const isFineCheck = (sql: string): boolean =>
  sql.includes('SELECT status FROM fines WHERE decision_no') && sql.includes('AS other_paid');
const isVoidOthers = (sql: string): boolean =>
  sql.startsWith("UPDATE bills SET status = 'voided' WHERE decision_no = $1 AND bill_no <> $2");

/**
 * The hub's database with settlement's fine-level checks answered as for an unpaid fine with no other
 * bill, without a round trip: what settling costs without them. Bench only; the product has no such switch.
 */
function withoutFineChecks(db: HubDb, skipped: { n: number }): HubDb {
  const wrap = (q: HubQueryable): HubQueryable =>
    new Proxy(q, {
      get(t, prop) {
        if (prop === 'query') {
          return async (sql: string, params?: unknown[]) => {
            if (isFineCheck(sql)) {
              skipped.n++;
              return { rows: [{ status: 'unpaid', other_paid: 0 }], rowCount: 1 };
            }
            if (isVoidOthers(sql)) {
              skipped.n++;
              return { rows: [], rowCount: 0 };
            }
            return t.query(sql, params);
          };
        }
        const v = Reflect.get(t, prop) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
      },
    });
  const outer = wrap(db) as HubDb;
  return new Proxy(outer, {
    get(t, prop) {
      if (prop === 'transaction') {
        return <T>(fn: (tx: HubQueryable) => Promise<T>) => db.transaction((tx) => fn(wrap(tx)));
      }
      return Reflect.get(t, prop) as unknown;
    },
  });
}

const THROUGHPUT_N = 2000;
const CONCURRENCY = 16;
const LATENCY_N = 300;
const LOCAL_PG = 'postgres://postgres@127.0.0.1:5432/postgres';

async function pickDatabase(): Promise<{ url?: string; label: string }> {
  const url = process.env.DATABASE_URL ?? LOCAL_PG;
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    const v = await c.query<{ v: string }>("SELECT current_setting('server_version') AS v");
    await c.end();
    return { url, label: `PostgreSQL ${v.rows[0]?.v ?? ''}` };
  } catch {
    await c.end().catch(() => undefined);
    return { label: 'PGlite (no PostgreSQL answered)' };
  }
}

async function pool<T>(items: T[], n: number, fn: (x: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (i < items.length) await fn(items[i++]!);
    }),
  );
}

export async function run(): Promise<void> {
  const picked = await pickDatabase();
  const schema = `bench_pay_${randomBytes(4).toString('hex')}`;
  const db: HubDb = picked.url
    ? await openHubDb({ databaseUrl: picked.url, schema, poolSize: 20 })
    : await openHubDb({});
  const sim = new ChannelSimulator();
  await sim.start(0);
  const hub = createHubService({ db });
  await hub.keys.current();
  const listenPort = await freeLoopbackPort();
  const config = { ...sim.hubConfig(), publicBase: `http://127.0.0.1:${listenPort}`, sweepIntervalSeconds: 0 };
  const app = await buildHubApp({
    hub,
    logger: pino({ level: 'silent' }),
    maxWaitSeconds: 30,
    plugins: [{ plugin: payPlugin({ config }) }],
  });
  await app.listen({ port: listenPort, host: '127.0.0.1' });
  const addr = app.server.address();
  const base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  const closers: (() => Promise<void>)[] = [];
  try {
    // One enrolled kiosk that issued every bill.
    const kp = generateKeyPair();
    const deviceId = 'benchkiosk01';
    const code = await hub.devices.add({ name: 'bench', region: '310101' });
    if (!code.ok) throw new Error(code.error.message);
    const en = await hub.enroll({ code: code.value.code, publicKey: publicKeyToRaw(kp.publicKey), deviceId });
    if (!en.ok) throw new Error(en.error.message);

    // A second hub on the same database, without the fine-level checks (same adapters, same schema).
    const skipped = { n: 0 };
    const bareHub = createHubService({ db: withoutFineChecks(db, skipped) });
    const barePort = await freeLoopbackPort();
    const bareApp = await buildHubApp({
      hub: bareHub,
      logger: pino({ level: 'silent' }),
      maxWaitSeconds: 30,
      plugins: [
        { plugin: payPlugin({ config: { ...config, publicBase: `http://127.0.0.1:${barePort}` } }) },
      ],
    });
    await bareApp.listen({ port: barePort, host: '127.0.0.1' });
    closers.push(() => bareApp.close());

    const total = THROUGHPUT_N * 2 + LATENCY_N + 200;
    const now = Math.floor(Date.now() / 1000);
    const fines = Array.from({ length: total }, (_, i) => ({
      decisionNo: `31010120269${String(i).padStart(7, '0')}`,
      region: '310101',
      plate: '沪A12345',
      vehicleIdLast6: 'A1B2C3',
      violationCode: '1625',
      description: '驾驶机动车违反道路交通信号灯通行',
      place: '上海市黄浦区人民大道',
      occurredAt: '2026-10-01T08:00:00+08:00',
      decidedOn: '2026-10-05',
      fineFen: 20000,
      points: 6,
      status: 'unpaid',
    }));
    const imp = await hub.fines.importRows(fines);
    if (!imp.ok) throw new Error(imp.error.message);
    const orders: SimOrder[] = [];
    for (let i = 0; i < total; i++) {
      const claims = {
        billNo: `${deviceId.toUpperCase()}-${i + 1}`,
        decisionNo: fines[i]!.decisionNo,
        amountFen: 20000,
        issuedAt: now - 60,
        expiresAt: now - 60 + 14400,
        deviceId,
      };
      const known = await hub.bills.ensureKnown(claims, makeBillToken(claims, kp.privateKey));
      if (!known.ok) throw new Error(known.error.message);
      const channel: Channel = i % 2 === 0 ? 'alipay' : 'wechat';
      const outTradeNo = `${claims.billNo}-${channel === 'alipay' ? 'A' : 'W'}0000`;
      await db.query(
        `INSERT INTO pay_orders (out_trade_no, bill_no, channel, amount_fen, expires_at, pay_url, created_at, url_at, checked_at)
         VALUES ($1, $2, $3, 20000, $4, 'x', $5, $5, $5)`,
        [outTradeNo, claims.billNo, channel, claims.expiresAt, now],
      );
      orders.push({
        channel,
        outTradeNo,
        amountFen: 20000,
        subject: 'bench',
        expiresAt: claims.expiresAt,
        // The second throughput block goes to the hub without the fine-level checks.
        notifyUrl:
          i >= 200 + THROUGHPUT_N + LATENCY_N
            ? `http://127.0.0.1:${barePort}/notify/${channel}`
            : `${base}/notify/${channel}`,
        state: 'paid',
        scanned: true,
        txnId:
          channel === 'alipay'
            ? `2026112122001${String(i).padStart(15, '0')}`
            : `4200${String(i).padStart(24, '0')}`,
        paidAt: now,
      });
    }
    const warm = orders.slice(0, 200);
    const thr = orders.slice(200, 200 + THROUGHPUT_N);
    const lat = orders.slice(200 + THROUGHPUT_N, 200 + THROUGHPUT_N + LATENCY_N);
    const thrBare = orders.slice(200 + THROUGHPUT_N + LATENCY_N);

    type Built = ReturnType<typeof sim.buildNotification>;
    const post = async (o: SimOrder, prebuilt?: Built): Promise<number> => {
      // The channel's signing is not the hub's work: throughput rounds send notifications built beforehand.
      const n = prebuilt ?? sim.buildNotification(o);
      const t = performance.now();
      const res = await fetch(n.url, { method: 'POST', headers: n.headers, body: n.body });
      const body = await res.text();
      if (res.status >= 300 || (o.channel === 'alipay' && body !== 'success')) {
        throw new Error(`notification refused: ${res.status} ${body}`);
      }
      return performance.now() - t;
    };
    for (const o of warm) await post(o);

    // Anchor 1: verification alone (RSA verify, AES-GCM), one core, no I/O.
    const adapters = buildAdapters(config) as Record<Channel, ChannelAdapter>;
    const pre = thr.slice(0, 400).map((o) => ({ o, n: sim.buildNotification(o) }));
    let t = performance.now();
    for (const { o, n } of pre) {
      const v = await adapters[o.channel].verifyNotification(n);
      if (!v.ok) throw new Error(v.error.message);
    }
    const verifyPerS = pre.length / ((performance.now() - t) / 1000);

    // Anchor 2: a bare one-row PostgreSQL transaction at the same concurrency.
    await db.query('CREATE TABLE bench_bare (id bigserial PRIMARY KEY, a text NOT NULL, at bigint NOT NULL)');
    const bareItems = Array.from({ length: THROUGHPUT_N }, (_, i) => i);
    t = performance.now();
    await pool(bareItems, CONCURRENCY, async (i) => {
      await db.transaction(async (tx) => {
        await tx.query('INSERT INTO bench_bare (a, at) VALUES ($1, $2)', [`row-${i}`, i]);
      });
    });
    const barePerS = THROUGHPUT_N / ((performance.now() - t) / 1000);
    // Anchor 3: the same, one at a time: the bound for work that must commit in order (the feed lock).
    t = performance.now();
    for (let i = 0; i < 300; i++) {
      await db.transaction(async (tx) => {
        await tx.query('INSERT INTO bench_bare (a, at) VALUES ($1, $2)', [`serial-${i}`, i]);
      });
    }
    const serialPerS = 300 / ((performance.now() - t) / 1000);

    // Notifications handled per second, each a first (settling) delivery, with and without the fine-level
    // checks in alternating slices (a busy machine's drift falls on both), then all again (duplicates).
    // Each slice is signed just before it is sent (untimed): WeChat's timestamp must stay within 300 s,
    // and on a busy machine the whole run takes longer than that.
    const build = (os: SimOrder[]) => os.map((o) => ({ o, n: sim.buildNotification(o) }));
    const SLICE = 250;
    let withMs = 0;
    let withoutMs = 0;
    const withEach: number[] = [];
    const withoutEach: number[] = [];
    for (let from = 0; from < THROUGHPUT_N; from += SLICE) {
      for (const [set, which] of [
        [thrBare, 'without'],
        [thr, 'with'],
      ] as const) {
        const slice = build(set.slice(from, from + SLICE));
        const each = which === 'with' ? withEach : withoutEach;
        t = performance.now();
        await pool(slice, CONCURRENCY, async ({ o, n }) => {
          each.push(await post(o, n));
        });
        if (which === 'with') withMs += performance.now() - t;
        else withoutMs += performance.now() - t;
      }
    }
    const firstPerS = THROUGHPUT_N / (withMs / 1000);
    const withoutPerS = THROUGHPUT_N / (withoutMs / 1000);
    if (skipped.n < THROUGHPUT_N * 2) throw new Error(`the fine-level checks were not recognised (${skipped.n})`);
    let dupMs = 0;
    for (let from = 0; from < THROUGHPUT_N; from += SLICE) {
      const slice = build(thr.slice(from, from + SLICE));
      t = performance.now();
      await pool(slice, CONCURRENCY, async ({ o, n }) => {
        await post(o, n);
      });
      dupMs += performance.now() - t;
    }
    const dupPerS = THROUGHPUT_N / (dupMs / 1000);
    const paid = await db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM payments WHERE status = 'settled'",
    );

    // Latency: notification sent → the kiosk's long poll returns the payment.
    const pull = async (
      cursor: number,
      wait: number,
    ): Promise<{ cursor: number; changes: { kind: string; billNo?: string }[] }> => {
      const p = `/v1/sync/pull?cursor=${cursor}&wait=${wait}&limit=100`;
      const h = signRequest(
        kp.privateKey,
        deviceId,
        'GET',
        p,
        Math.floor(Date.now() / 1000),
        randomBytes(16).toString('base64url'),
        '',
      );
      const res = await fetch(base + p, { headers: { ...h } as Record<string, string> });
      if (res.status !== 200) throw new Error(`pull ${res.status} ${await res.text()}`);
      return (await res.json()) as { cursor: number; changes: { kind: string; billNo?: string }[] };
    };
    let cursor = 0;
    for (;;) {
      const r = await pull(cursor, 0);
      cursor = r.cursor;
      if (r.changes.length === 0) break;
    }
    const e2e: number[] = [];
    const rtt: number[] = [];
    for (const o of lat) {
      const billNo = o.outTradeNo.slice(0, o.outTradeNo.lastIndexOf('-'));
      let seenAt = 0;
      const poll = (async () => {
        let c = cursor;
        for (;;) {
          const r = await pull(c, 20);
          c = r.cursor;
          if (r.changes.some((x) => x.kind === 'payment' && x.billNo === billNo)) {
            seenAt = performance.now();
            cursor = c;
            return;
          }
        }
      })();
      // Let the long poll reach the hub and park before the notification goes out.
      await new Promise((r) => setTimeout(r, 15));
      const t0 = performance.now();
      rtt.push(await post(o));
      await poll;
      e2e.push(seenAt - t0);
    }
    const se = stats(e2e);
    const sr = stats(rtt);

    printSection(`payments: notifications on ${picked.label}, ${CONCURRENCY} concurrent, HTTP on loopback`, [
      {
        name: `notifications settled per second (${THROUGHPUT_N}, Alipay and WeChat alternating, verify + settle + feed)`,
        value: `${firstPerS.toFixed(0)}/s`,
        anchor: `bare one-row PostgreSQL transaction: ${barePerS.toFixed(0)}/s at the same concurrency, ${serialPerS.toFixed(0)}/s one at a time; verification alone, one core: ${verifyPerS.toFixed(0)}/s`,
      },
      {
        name: 'the same WITHOUT the fine-level checks (fine unpaid, no other bill paid; other live bills voided)',
        value: `${withoutPerS.toFixed(0)}/s`,
        anchor: `the checks cost ${(((withoutPerS - firstPerS) / withoutPerS) * 100).toFixed(1)}% of the rate (aim ≤ 20%); bare one-row transaction ${barePerS.toFixed(0)}/s`,
      },
      {
        name: 'one settling notification answered (during the rounds above, 16 in flight)',
        value: `median ${fmtMs(stats(withEach).p50)}, p99 ${fmtMs(stats(withEach).p99)}`,
        anchor: `without the fine-level checks: median ${fmtMs(stats(withoutEach).p50)}, p99 ${fmtMs(stats(withoutEach).p99)}`,
      },
      {
        name: 'duplicate notifications per second (verified, recognised, nothing changed)',
        value: `${dupPerS.toFixed(0)}/s`,
        anchor: `settled payments after both rounds: ${paid.rows[0]?.n} of ${THROUGHPUT_N * 2 + warm.length}`,
      },
      {
        name: `notification → kiosk long poll sees the payment (n=${se.n})`,
        value: `p50 ${fmtMs(se.p50)}, p99 ${fmtMs(se.p99)}, max ${fmtMs(se.max)}`,
        anchor: `the notification's own HTTP round trip: p50 ${fmtMs(sr.p50)}, p99 ${fmtMs(sr.p99)}; aim < 2 s`,
      },
    ]);
  } finally {
    for (const c of closers) await c();
    await app.close();
    await sim.close();
    await db.close();
    if (picked.url) {
      const c = new pg.Client({ connectionString: picked.url });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    }
  }
}
