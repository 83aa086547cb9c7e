// Reconciliation (对账) of a 100,000-row channel statement: reading Alipay's zip of GBK CSV and matching
// it with the hub's payments and refunds, time and memory. Anchors, measured in the same run and the same
// repetitions: unzipping and decoding the same file without reading it (the floor for parsing), and one
// plain SELECT of the day's hub payments (the floor for matching). BENCH_REPS repetitions (default 5),
// median and p99 of each. The statement holds 1% refunds: most match the hub's done refunds, some are the
// hub's refunds still under way (recorded by the run), some were made elsewhere (channel only). Runs on
// embedded PGlite (no server needed).
import { performance } from 'node:perf_hooks';
import { unzipSync } from 'fflate';
import iconv from 'iconv-lite';
import { openHubDb } from '../hub/db.ts';
import { AlipayAdapter } from '../hub/channels/alipay.ts';
import { alipayStatementZip, generateSimulatorKeys, SIM_ALIPAY_APP_ID, type SimStatementRow } from '../hub/channels/simulator.ts';
import { parseAlipayStatement } from '../hub/channels/statements.ts';
import { beijingDay, reconcileRows } from '../hub/pay/reconcile.ts';
import { ok } from '../protocol/result.ts';
import { fmtMs, printSection, stats } from './lib.ts';

const N = 100_000;
/** Every hundredth payment is refunded; of those, one in 50 is the hub's still under way, one in 50 made elsewhere. */
const REFUND_EVERY = 100;
const REPS = Math.max(1, Number(process.env.BENCH_REPS ?? 5));
const DATE = '2026-11-20';

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export async function run(): Promise<void> {
  const [from] = beijingDay(DATE);
  const rows: SimStatementRow[] = [];
  for (let i = 0; i < N; i++) {
    rows.push({
      kind: 'payment',
      outTradeNo: `BK${String(i).padStart(10, '0')}_A0001`,
      txnId: `2026112022001${String(i).padStart(15, '0')}`,
      amountFen: 20000 + (i % 100),
      at: from + (i % 86_000),
      subject: '交通违法罚款 缴款单',
    });
  }
  for (let i = 0; i < N; i += REFUND_EVERY) {
    rows.push({
      kind: 'refund',
      outTradeNo: `BK${String(i).padStart(10, '0')}_A0001`,
      txnId: `2026112022001${String(i).padStart(15, '0')}`,
      amountFen: 20000 + (i % 100),
      at: from + (i % 86_000) + 60,
      outRefundNo: `RFA_${String(i).padStart(10, '0')}`,
      refundId: `2026112022001${String(i).padStart(15, '0')}`,
      subject: '交通违法罚款 缴款单',
    });
  }
  const zip = alipayStatementZip(rows, DATE);

  const db = await openHubDb({});
  try {
    // The hub's side: the same payments (one in a thousand with another amount, one in a thousand missing).
    await db.query(
      `INSERT INTO payments (channel, txn_id, bill_no, amount_fen, paid_at, source, status, created_at)
       SELECT 'alipay', '2026112022001' || lpad(i::text, 15, '0'), 'BK' || lpad(i::text, 10, '0'),
              20000 + (i % 100) + CASE WHEN i % 1000 = 7 THEN 1 ELSE 0 END, $1 + (i % 86000), 'channel', 'settled', $1
         FROM generate_series(0, $2 - 1) AS i WHERE i % 1000 <> 3`,
      [from, N],
    );

    // The hub's refunds: done on the day, except one in 50 still under way and one in 50 it never made.
    await db.query(
      `INSERT INTO pay_refunds (channel, txn_id, bill_no, out_trade_no, amount_fen, reason, created_at, status,
         out_refund_no, done_at, resolved_at)
       SELECT 'alipay', '2026112022001' || lpad(i::text, 15, '0'), 'BK' || lpad(i::text, 10, '0'),
              'BK' || lpad(i::text, 10, '0') || '_A0001', 20000 + (i % 100), 'bench', $1::bigint,
              CASE WHEN (i / $3::int) % 50 = 1 THEN 'processing' ELSE 'success' END, 'RFA_' || lpad(i::text, 10, '0'),
              CASE WHEN (i / $3::int) % 50 = 1 THEN NULL ELSE $1::bigint + (i % 86000) + 60 END,
              CASE WHEN (i / $3::int) % 50 = 1 THEN NULL ELSE $1::bigint + (i % 86000) + 60 END
         FROM generate_series(0, $2::int - 1, $3::int) AS i WHERE (i / $3::int) % 50 <> 2`,
      [from, N, REFUND_EVERY],
    );
    const keys = generateSimulatorKeys();
    const adapter = new AlipayAdapter(
      { gateway: 'https://openapi.alipay.com/gateway.do', appId: SIM_ALIPAY_APP_ID, appPrivateKeyPem: keys.alipayApp.privateKeyPem, alipayPublicKeyPem: keys.alipayPlatform.publicKeyPem },
      'https://hub.example.cn/notify/alipay',
    );
    // Each repetition: both anchors, then read and match (settling and recording answered without a
    // change, so every repetition sees the same books).
    const unzipMs: number[] = [];
    const selectMs: number[] = [];
    const parseMs: number[] = [];
    const matchMs: number[] = [];
    const growth: number[] = [];
    let report: Awaited<ReturnType<typeof reconcileRows>> | undefined;
    let selRows = 0;
    for (let rep = 0; rep < REPS; rep++) {
      let t = performance.now();
      for (const bytes of Object.values(unzipSync(zip))) iconv.decode(Buffer.from(bytes), 'GBK');
      unzipMs.push(performance.now() - t);
      t = performance.now();
      const sel = await db.query('SELECT txn_id, amount_fen FROM payments WHERE channel = $1 AND paid_at >= $2 AND paid_at < $3', [
        'alipay',
        from,
        from + 86_400,
      ]);
      selectMs.push(performance.now() - t);
      selRows = sel.rows.length;
      global.gc?.();
      const heap0 = process.memoryUsage().heapUsed;
      let peak = heap0;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 5);
      t = performance.now();
      const parsed = parseAlipayStatement(zip);
      parseMs.push(performance.now() - t);
      if (!parsed.ok) throw new Error(parsed.error.message);
      t = performance.now();
      report = await reconcileRows(
        { db, adapter, now: () => from + 86_400, settle: async () => ok('settled'), refunded: async () => ok(undefined) },
        DATE,
        parsed.value,
      );
      matchMs.push(performance.now() - t);
      clearInterval(sampler);
      growth.push(Math.max(peak, process.memoryUsage().heapUsed) - heap0);
    }
    const q = (xs: number[]): string => {
      const st = stats(xs);
      return `median ${fmtMs(st.p50)}, p99 ${fmtMs(st.p99)}`;
    };
    const r = report!;
    const totalMs = stats(parseMs.map((x, i) => x + matchMs[i]!)).p50;
    printSection(`reconciliation of a ${N.toLocaleString('en')}-row Alipay statement + ${(N / REFUND_EVERY).toLocaleString('en')} refunds (PGlite, ${REPS} repetitions)`, [
      { name: 'statement zip', value: mb(zip.length) },
      { name: 'read (unzip, GBK, CSV)', value: q(parseMs), anchor: `unzip + GBK decode alone ${q(unzipMs)}` },
      {
        name: 'match with the hub',
        value: `${q(matchMs)} (${r.matched.payments} + ${r.matched.refunds} matched, ${r.amountDiffs.length} amount differences, ${r.settled.length} settled or recorded, ${r.channelOnly.length} channel only, ${r.hubOnly.length} hub only)`,
        anchor: `one SELECT of the day's ${selRows} hub payments ${q(selectMs)}`,
      },
      { name: 'rows per second, read + match (median)', value: `${Math.round((rows.length) / (totalMs / 1000)).toLocaleString('en')}` },
      { name: 'heap growth at peak', value: `median ${mb(stats(growth).p50)}, max ${mb(stats(growth).max)}`, anchor: `statement zip ${mb(zip.length)}` },
    ]);
  } finally {
    await db.close();
  }
}
