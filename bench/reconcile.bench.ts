// Reconciliation (对账) of a 100,000-row channel statement: reading Alipay's zip of GBK CSV and matching
// it with the hub's payments, time and memory. Anchors, measured in the same run: unzipping and decoding
// the same file without reading it (the floor for parsing), and one plain SELECT of the day's 100,000
// hub payments (the floor for matching). Runs on embedded PGlite (no server needed).
import { performance } from 'node:perf_hooks';
import { unzipSync } from 'fflate';
import iconv from 'iconv-lite';
import { openHubDb } from '../hub/db.ts';
import { AlipayAdapter } from '../hub/channels/alipay.ts';
import { alipayStatementZip, generateSimulatorKeys, SIM_ALIPAY_APP_ID, type SimStatementRow } from '../hub/channels/simulator.ts';
import { parseAlipayStatement } from '../hub/channels/statements.ts';
import { beijingDay, reconcileRows } from '../hub/pay/reconcile.ts';
import { ok } from '../protocol/result.ts';
import { fmtMs, printSection } from './lib.ts';

const N = 100_000;
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

    // Anchor 1: unzip + GBK decode only.
    let t = performance.now();
    for (const bytes of Object.values(unzipSync(zip))) iconv.decode(Buffer.from(bytes), 'GBK');
    const unzipMs = performance.now() - t;

    // Anchor 2: one SELECT of the day's hub payments.
    t = performance.now();
    const sel = await db.query('SELECT txn_id, amount_fen FROM payments WHERE channel = $1 AND paid_at >= $2 AND paid_at < $3', [
      'alipay',
      from,
      from + 86_400,
    ]);
    const selectMs = performance.now() - t;

    global.gc?.();
    const heap0 = process.memoryUsage().heapUsed;
    let peak = heap0;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 5);
    t = performance.now();
    const parsed = parseAlipayStatement(zip);
    const parseMs = performance.now() - t;
    if (!parsed.ok) throw new Error(parsed.error.message);
    const keys = generateSimulatorKeys();
    const adapter = new AlipayAdapter(
      { gateway: 'https://openapi.alipay.com/gateway.do', appId: SIM_ALIPAY_APP_ID, appPrivateKeyPem: keys.alipayApp.privateKeyPem, alipayPublicKeyPem: keys.alipayPlatform.publicKeyPem },
      'https://hub.example.cn/notify/alipay',
    );
    t = performance.now();
    const report = await reconcileRows(
      { db, adapter, now: () => from + 86_400, settle: async () => ok('settled') },
      DATE,
      parsed.value,
    );
    const matchMs = performance.now() - t;
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().heapUsed);

    printSection(`reconciliation of a ${N.toLocaleString('en')}-row Alipay statement (PGlite)`, [
      { name: 'statement zip', value: mb(zip.length) },
      { name: 'read (unzip, GBK, CSV)', value: fmtMs(parseMs), anchor: `unzip + GBK decode alone ${fmtMs(unzipMs)}` },
      {
        name: 'match with the hub',
        value: `${fmtMs(matchMs)} (${report.matched.payments} matched, ${report.amountDiffs.length} amount differences, ${report.settled.length + report.channelOnly.length} channel only)`,
        anchor: `one SELECT of the day's ${sel.rows.length} hub payments ${fmtMs(selectMs)}`,
      },
      { name: 'rows per second, read + match', value: `${Math.round(N / ((parseMs + matchMs) / 1000)).toLocaleString('en')}` },
      { name: 'heap growth at peak', value: mb(peak - heap0), anchor: `statement zip ${mb(zip.length)}` },
    ]);
  } finally {
    await db.close();
  }
}
