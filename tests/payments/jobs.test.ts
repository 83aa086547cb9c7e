// Notifications answered at once while the other channel is slow, refunds of double payments through the
// channels (automatic, or after approval), reconciliation with each kind of mismatch, and notify_url from
// configuration only. The hub runs with the channel simulator; slowness is a gate the test opens.
import { createPublicKey } from 'node:crypto';
import { request } from 'node:http';
import { Formatter, Rsa } from 'wechatpay-axios-plugin';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSimulatorKeys, type SimulatorKeys } from '../../hub/channels/simulator.ts';
import { shanghaiTimestamp } from '../../hub/channels/util.ts';
import { ManualClock } from '../../protocol/time.ts';
import { enrollDevice, sampleFine, TestDevice } from '../hub/helpers.ts';
import { ALIPAY_UA, PLAIN_UA, WECHAT_UA, openPayPage, startPayHub, stateSnapshot, type PayHubFixture } from './helpers.ts';
import { AlipaySdk } from 'alipay-sdk';
import { decodeForm } from '../../hub/channels/alipay.ts';

const T0 = Date.parse('2026-11-21T02:00:00Z');
let keys: SimulatorKeys;
beforeAll(() => {
  keys = generateSimulatorKeys();
});

/** A gate: `reached` resolves when something waits at it, `open()` lets it through. */
function gate(): { wait: () => Promise<void>; reached: Promise<void>; open: () => void } {
  let release!: () => void;
  let hit!: () => void;
  const opened = new Promise<void>((r) => (release = r));
  const reached = new Promise<void>((r) => (hit = r));
  return {
    wait: async () => {
      hit();
      await opened;
    },
    reached,
    open: () => release(),
  };
}

function setup(opts: { refundApproval?: boolean; jsapi?: boolean } = {}) {
  const ctx = {} as { f: PayHubFixture; clock: ManualClock; dev: TestDevice; n: number };
  beforeAll(async () => {
    ctx.clock = new ManualClock(T0);
    ctx.f = await startPayHub('pglite', ctx.clock, keys, opts);
    ctx.dev = new TestDevice('kiosk0job', ctx.clock);
    ctx.n = 0;
    const f = ctx.f;
    await enrollDevice({ db: f.db, hub: f.hub, app: f.app, url: f.url, close: async () => undefined }, ctx.dev);
  });
  afterAll(async () => {
    await ctx.f.close();
  });
  // Decided the day before T0: no 加处罚款 yet, so the bill's amount is the fine (the hub checks it).
  const newBill = async (amountFen = 20000): Promise<{ billNo: string; url: string }> => {
    const decisionNo = `2200000000000${String(++ctx.n).padStart(5, '0')}`;
    await ctx.f.hub.fines.importRows([sampleFine(decisionNo, '110000', { fineFen: amountFen, decidedOn: '2026-11-20' })]);
    const b = ctx.dev.issueBill(decisionNo, amountFen);
    return { billNo: b.billNo, url: `${ctx.f.url}/p/${b.token}` };
  };
  return { ctx, newBill };
}

describe('notifications and the background jobs', () => {
  const { ctx, newBill } = setup();

  it('answers a WeChat notification while the Alipay gateway is stuck, then closes the Alipay order', async () => {
    const { f } = ctx;
    const bill = await newBill();
    const pa = await openPayPage(bill.url, ALIPAY_UA);
    const pw = await openPayPage(bill.url, WECHAT_UA);
    f.sim.abandon('alipay', pa.outTradeNo!); // scanned, so Alipay holds the trade and can close it
    const g = gate();
    f.sim.gatewayHook = async (ch, what) => {
      if (ch === 'alipay' && what === 'alipay.trade.close') await g.wait();
    };
    try {
      const paid = await f.sim.pay('wechat', pw.outTradeNo!);
      // The answer came back while the close is held at the Alipay gateway.
      expect(paid.deliveries[0]!.status).toBe(204);
      await g.reached;
      expect((await f.hub.bills.get(bill.billNo))?.status).toBe('paid');
      expect((await f.pay.orders(bill.billNo)).find((o) => o.channel === 'alipay')!.status).toBe('open');
    } finally {
      g.open();
      f.sim.gatewayHook = undefined;
    }
    await f.pay.whenIdle();
    expect((await f.pay.orders(bill.billNo)).find((o) => o.channel === 'alipay')!.status).toBe('closed');
    expect((await f.sim.pay('alipay', pa.outTradeNo!)).ok).toBe(false);
  });

  for (const channel of ['alipay', 'wechat'] as const) {
    it(`${channel === 'alipay' ? 'an Alipay' : 'a WeChat'} notification the hub could not commit is answered for a retry, and the retry settles once`, async () => {
      const { f } = ctx;
      const bill = await newBill(12500);
      const page = await openPayPage(bill.url, channel === 'alipay' ? ALIPAY_UA : WECHAT_UA);
      // The settlement's transaction does all its work, then the database fails before the commit.
      const db = f.db as { transaction: typeof f.db.transaction };
      const orig = db.transaction.bind(f.db);
      db.transaction = ((fn: Parameters<typeof orig>[0]) => {
        db.transaction = orig;
        return orig(async (tx) => {
          await fn(tx);
          throw new Error('connection terminated unexpectedly');
        });
      }) as typeof orig;
      let first: Awaited<ReturnType<typeof f.sim.pay>>;
      try {
        first = await f.sim.pay(channel, page.outTradeNo!);
      } finally {
        db.transaction = orig;
      }
      // Not "success" / not 2xx: the channel keeps the notification and sends it again.
      const d = first.deliveries[0]!;
      expect(channel === 'alipay' ? d.body !== 'success' : d.status >= 300).toBe(true);
      expect((await f.hub.bills.get(bill.billNo))?.status).toBe('live');
      const n = f.sim.buildNotification(f.sim.order(channel, page.outTradeNo!)!);
      for (let i = 0; i < 2; i++) {
        const res = await fetch(n.url, { method: 'POST', headers: n.headers, body: n.body });
        const body = await res.text();
        expect(channel === 'alipay' ? body : res.status).toBe(channel === 'alipay' ? 'success' : 204);
      }
      expect((await f.hub.bills.get(bill.billNo))?.status).toBe('paid');
      const pays = await f.db.query('SELECT status FROM payments WHERE bill_no = $1', [bill.billNo]);
      expect(pays.rows).toEqual([{ status: 'settled' }]);
    });
  }

  it('refunds a second payment through the channel once, by its refund request number', async () => {
    const { f } = ctx;
    const bill = await newBill(15000);
    const pa = await openPayPage(bill.url, ALIPAY_UA);
    const pw = await openPayPage(bill.url, WECHAT_UA);
    const g = gate();
    f.sim.gatewayHook = async (ch, what) => {
      if (ch === 'alipay' && what === 'alipay.trade.close') await g.wait();
    };
    try {
      await f.sim.pay('wechat', pw.outTradeNo!);
      await g.reached;
      // Paid on Alipay too before the closing got through.
      const second = await f.sim.pay('alipay', pa.outTradeNo!);
      expect(second.deliveries[0]!.body).toBe('success');
    } finally {
      g.open();
      f.sim.gatewayHook = undefined;
    }
    await f.pay.whenIdle();
    const refunds = (await f.pay.refunds()).filter((r) => r.billNo === bill.billNo);
    expect(refunds).toEqual([expect.objectContaining({ channel: 'alipay', amountFen: 15000, status: 'success' })]);
    const atChannel = [...f.sim.refunds.values()].filter((r) => r.outTradeNo === pa.outTradeNo);
    expect(atChannel).toEqual([expect.objectContaining({ amountFen: 15000, outRefundNo: refunds[0]!.outRefundNo })]);
    // Running the jobs again changes nothing at the channel.
    await f.pay.work();
    expect([...f.sim.refunds.values()].filter((r) => r.outTradeNo === pa.outTradeNo)).toHaveLength(1);
    // Alipay's refund notice to the trade's notify_url came too, and was answered "success".
    await f.sim.whenDelivered();
    expect(f.sim.deliveries.filter((d) => d.outTradeNo === pa.outTradeNo).map((d) => d.body)).toEqual(['success', 'success']);
  });

  it('shows the bill itemised: violation, points, fine, 加处罚款 and the total', async () => {
    const bill = await newBill(20000);
    const page = await openPayPage(bill.url, PLAIN_UA);
    expect(page.status).toBe(200);
    expect(page.html).toMatch(/id="violation">[^<]+/);
    expect(page.html).toMatch(/id="points">\d+</);
    expect(page.html).toContain('id="fine" data-fen="20000"');
    expect(page.html).toContain('id="late-fee" data-fen="0"');
    expect(page.html).toContain('加处罚款');
    expect(page.html).toContain('id="total" data-amount-fen="20000"');
  });

  it('builds notify_url from publicBase, never from the Host header', async () => {
    const { f } = ctx;
    const bill = await newBill();
    const u = new URL(bill.url);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: u.port, path: u.pathname, headers: { host: 'evil.example', 'user-agent': WECHAT_UA } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(200);
    const o = [...f.sim.orders.values()].find((x) => x.outTradeNo.startsWith(bill.billNo.replace(/-/g, '_')))!;
    expect(o.notifyUrl).toBe(`${f.url}/notify/wechat`);
  });

  it('reconciles a day: matched, missed-and-settled, channel-only, hub-only and amount differences', async () => {
    const { f, clock } = ctx;
    const date = shanghaiTimestamp(Math.floor(clock.now() / 1000)).slice(0, 10);
    const a = await newBill(10000); // matched on both sides
    const b = await newBill(11000); // paid at WeChat, notification lost: settled by reconciliation
    const c = await newBill(12000); // the statement says another amount
    const d = await newBill(13000); // the statement lacks it
    const pa = await openPayPage(a.url, ALIPAY_UA);
    const pb = await openPayPage(b.url, WECHAT_UA);
    const pc = await openPayPage(c.url, ALIPAY_UA);
    const pd = await openPayPage(d.url, WECHAT_UA);
    await f.sim.pay('alipay', pa.outTradeNo!);
    const paidB = await f.sim.pay('wechat', pb.outTradeNo!, { notify: 'none' });
    await f.sim.pay('alipay', pc.outTradeNo!);
    const paidD = await f.sim.pay('wechat', pd.outTradeNo!);
    await f.pay.whenIdle();
    expect((await f.hub.bills.get(b.billNo))?.status).toBe('live');
    f.sim.statementHook = (channel, rows) => {
      let out = rows.map((r) => (r.outTradeNo === pc.outTradeNo ? { ...r, amountFen: 12001 } : r));
      out = out.filter((r) => r.outTradeNo !== pd.outTradeNo);
      if (channel === 'wechat')
        out.push({ kind: 'payment', outTradeNo: 'SOMEONE_ELSES_1', txnId: '4200000000000000000000000099', amountFen: 500, at: Math.floor(clock.now() / 1000), subject: 'x' });
      return out;
    };
    try {
      const r = await f.pay.reconcile(date);
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      const ali = r.value.find((x) => x.channel === 'alipay')!;
      const wx = r.value.find((x) => x.channel === 'wechat')!;
      expect(ali.amountDiffs).toEqual([expect.objectContaining({ outTradeNo: pc.outTradeNo, amountFen: 12001, hubFen: 12000 })]);
      expect(ali.matched.payments).toBeGreaterThanOrEqual(1);
      expect(wx.settled).toEqual([expect.objectContaining({ outTradeNo: pb.outTradeNo, txnId: paidB.txnId, outcome: 'settled' })]);
      expect(wx.channelOnly).toEqual([expect.objectContaining({ outTradeNo: 'SOMEONE_ELSES_1', amountFen: 500 })]);
      expect(wx.hubOnly).toContainEqual(expect.objectContaining({ outTradeNo: pd.outTradeNo, txnId: paidD.txnId, amountFen: 13000 }));
      expect((await f.hub.bills.get(b.billNo))?.status).toBe('paid');
      // Kept, and a second run settles nothing again.
      const again = await f.pay.reconcile(date);
      expect(again.ok && again.value.find((x) => x.channel === 'wechat')!.settled).toEqual([]);
      const kept = await f.db.query('SELECT channel FROM pay_reconciliations WHERE bill_date = $1 ORDER BY channel', [date]);
      expect(kept.rows.map((x) => x.channel)).toEqual(['alipay', 'wechat']);
    } finally {
      f.sim.statementHook = undefined;
    }
  });
});

describe("Alipay's refund notices", () => {
  const { ctx, newBill } = setup();
  const date = shanghaiTimestamp(T0 / 1000).slice(0, 10);

  /** The merchant as the official SDK calls the gateway (the merchant portal, another system). */
  const merchantSdk = (): AlipaySdk =>
    new AlipaySdk({
      appId: ctx.f.sim.hubConfig().alipay.appId,
      privateKey: keys.alipayApp.privateKeyPem,
      keyType: 'PKCS8',
      alipayPublicKey: keys.alipayPlatform.publicKeyPem,
      gateway: `${ctx.f.sim.baseUrl}/gateway.do`,
      camelcase: false,
    });

  /** A bill paid on WeChat, then on Alipay before the Alipay order could be closed: Alipay's is refunded. */
  async function paidTwice(): Promise<{ billNo: string; outTradeNo: string }> {
    const { f } = ctx;
    const bill = await newBill(17000);
    const pa = await openPayPage(bill.url, ALIPAY_UA);
    const pw = await openPayPage(bill.url, WECHAT_UA);
    const g = gate();
    f.sim.gatewayHook = async (ch, what) => {
      if (ch === 'alipay' && what === 'alipay.trade.close') await g.wait();
    };
    try {
      await f.sim.pay('wechat', pw.outTradeNo!);
      await g.reached;
      await f.sim.pay('alipay', pa.outTradeNo!);
    } finally {
      g.open();
      f.sim.gatewayHook = undefined;
    }
    await f.pay.whenIdle();
    return { billNo: bill.billNo, outTradeNo: pa.outTradeNo! };
  }

  const refundOf = async (billNo: string) => (await ctx.f.pay.refunds()).find((r) => r.billNo === billNo)!;
  const post = async (n: { headers: Record<string, string>; body: string }): Promise<string> =>
    (await fetch(`${ctx.f.url}/notify/alipay`, { method: 'POST', headers: n.headers, body: n.body })).text();

  it('a refund whose answer was lost is completed by the notice (genuine by the SDK); a repeat changes nothing', async () => {
    const { f } = ctx;
    f.sim.dropAnswer = (m) => m === 'alipay.trade.refund';
    let paid: { billNo: string; outTradeNo: string };
    try {
      paid = await paidTwice();
      await f.sim.whenDelivered();
    } finally {
      f.sim.dropAnswer = undefined;
    }
    const r = await refundOf(paid.billNo);
    expect(r).toMatchObject({ channel: 'alipay', status: 'success', amountFen: 17000 });
    expect(r.doneAt).toBeGreaterThan(0);
    // The notice as Alipay sends it: the official SDK takes its signature, and it carries the refund fields.
    const o = f.sim.order('alipay', paid.outTradeNo)!;
    const n = f.sim.buildAlipayRefundNotification(o, r.outRefundNo!);
    const params = decodeForm(n.body, 'utf-8');
    expect(params.ok).toBe(true);
    const p = params.ok ? params.value : {};
    expect(merchantSdk().checkNotifySignV2(p)).toBe(true);
    expect(p).toMatchObject({ out_biz_no: r.outRefundNo, refund_fee: '170.00', trade_status: 'TRADE_CLOSED', charset: 'utf-8' });
    expect(p.gmt_refund).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{1,3}$/);
    // Alipay retries until "success": a repeat is answered so and changes nothing.
    const before = await stateSnapshot(f.db);
    expect(await post(n)).toBe('success');
    expect(await stateSnapshot(f.db)).toBe(before);
    // A notice signed by another key is refused and changes nothing.
    const forged = f.sim.buildNotification(o, {
      alipayRefund: { outBizNo: r.outRefundNo!, refundedFen: 17000, at: T0 / 1000 },
      signingKeyPem: keys.alipayApp.privateKeyPem,
    });
    expect(await post(forged)).toBe('failure');
    expect(await stateSnapshot(f.db)).toBe(before);
  });

  it("a refund made at the merchant portal is answered, kept apart and reported by the day's reconciliation", async () => {
    const { f } = ctx;
    const bill = await newBill(9000);
    const pa = await openPayPage(bill.url, ALIPAY_UA);
    await f.sim.pay('alipay', pa.outTradeNo!);
    await f.pay.whenIdle();
    const res = (await merchantSdk().exec('alipay.trade.refund', {
      bizContent: { out_trade_no: pa.outTradeNo, refund_amount: '90.00', out_request_no: 'PORTAL_1' },
      timestamp: shanghaiTimestamp(T0 / 1000),
    })) as unknown as { code: string; fund_change: string };
    expect(res).toMatchObject({ code: '10000', fund_change: 'Y' });
    await f.sim.whenDelivered();
    // Answered so Alipay stops; the hub made no such refund, so none of its refunds changes.
    expect(f.sim.deliveries.filter((d) => d.outTradeNo === pa.outTradeNo).map((d) => d.body)).toEqual(['success', 'success']);
    expect((await f.pay.refunds()).filter((r) => r.billNo === bill.billNo)).toEqual([]);
    expect((await f.hub.bills.get(bill.billNo))?.status).toBe('paid');
    const kept = await f.db.query('SELECT outcome, amount_fen FROM pay_notifications WHERE out_trade_no = $1 ORDER BY id', [pa.outTradeNo]);
    expect(kept.rows).toEqual([
      { outcome: 'settled', amount_fen: 9000 },
      { outcome: 'refund_elsewhere', amount_fen: 9000 },
    ]);
    const rec = await f.pay.reconcile(date);
    const ali = rec.ok ? rec.value.find((x) => x.channel === 'alipay')! : undefined;
    expect(ali?.channelOnly).toContainEqual(expect.objectContaining({ outTradeNo: pa.outTradeNo, outRefundNo: 'PORTAL_1', amountFen: 9000 }));
  });

  it("a refund whose answer and notice were both lost is recorded by the day's reconciliation", async () => {
    const { f } = ctx;
    f.sim.dropAnswer = (m) => m === 'alipay.trade.refund';
    f.sim.alipayRefundNotices = false;
    let paid: { billNo: string; outTradeNo: string };
    try {
      paid = await paidTwice();
    } finally {
      f.sim.dropAnswer = undefined;
      f.sim.alipayRefundNotices = true;
    }
    const before = await refundOf(paid.billNo);
    expect(before).toMatchObject({ status: 'approved', lastError: expect.stringContaining('CHANNEL_UNREACHABLE') });
    const rec = await f.pay.reconcile(date);
    const ali = rec.ok ? rec.value.find((x) => x.channel === 'alipay')! : undefined;
    expect(ali?.settled).toContainEqual(
      expect.objectContaining({ outTradeNo: paid.outTradeNo, outRefundNo: before.outRefundNo, amountFen: 17000, outcome: 'refunded' }),
    );
    expect(await refundOf(paid.billNo)).toMatchObject({ status: 'success' });
    // The next run finds it matched, and the retried job asks nothing more of the channel.
    const again = await f.pay.reconcile(date);
    expect(again.ok && again.value.find((x) => x.channel === 'alipay')!.settled).toEqual([]);
    const atChannel = () => [...f.sim.refunds.values()].filter((x) => x.outTradeNo === paid.outTradeNo);
    expect(atChannel()).toHaveLength(1);
    ctx.clock.advance(3600_000);
    await f.pay.work();
    expect(atChannel()).toHaveLength(1);
  });
});

describe('refunds that need an operator', () => {
  const { ctx, newBill } = setup({ refundApproval: true });

  it('waits for approval, then refunds through the channel', async () => {
    const { f } = ctx;
    const bill = await newBill(16000);
    const pa = await openPayPage(bill.url, ALIPAY_UA);
    const pw = await openPayPage(bill.url, WECHAT_UA);
    const g = gate();
    f.sim.gatewayHook = async (ch, what) => {
      if (ch === 'wechat' && what === 'close') await g.wait();
    };
    try {
      await f.sim.pay('alipay', pa.outTradeNo!);
      await g.reached;
      await f.sim.pay('wechat', pw.outTradeNo!);
    } finally {
      g.open();
      f.sim.gatewayHook = undefined;
    }
    await f.pay.whenIdle();
    const [flagged] = (await f.pay.refunds()).filter((r) => r.billNo === bill.billNo);
    expect(flagged).toMatchObject({ channel: 'wechat', status: 'pending_approval', amountFen: 16000 });
    expect(f.sim.refunds.size).toBe(0);
    const ok = await f.pay.refundsSvc.approve('wechat', flagged!.txnId, 'operator');
    expect(ok.ok && ok.value.status).toBe('approved');
    f.pay.kick();
    await f.pay.whenIdle();
    const [done] = (await f.pay.refunds()).filter((r) => r.billNo === bill.billNo);
    expect(done).toMatchObject({ status: 'success' });
    expect([...f.sim.refunds.values()]).toEqual([expect.objectContaining({ outTradeNo: pw.outTradeNo, amountFen: 16000 })]);
  });
});

describe('paying inside WeChat', () => {
  const { ctx, newBill } = setup({ jsapi: true });

  it('gets the openid by OAuth2 snsapi_base, makes a JSAPI order and a paySign the library verifies', async () => {
    const { f } = ctx;
    const bill = await newBill();
    const first = await fetch(bill.url, { headers: { 'user-agent': WECHAT_UA }, redirect: 'manual' });
    expect(first.status).toBe(302);
    const authorize = new URL(first.headers.get('location')!);
    expect(authorize.pathname).toBe('/connect/oauth2/authorize');
    expect(authorize.searchParams.get('scope')).toBe('snsapi_base');
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${f.url}/p/${bill.url.split('/p/')[1]}?channel=wechat`);
    // WeChat's browser follows the authorize step and comes back with a code.
    const back = await fetch(authorize, { redirect: 'manual' });
    const page = await fetch(back.headers.get('location')!, { headers: { 'user-agent': WECHAT_UA } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).not.toContain('weixin://');
    const params = JSON.parse(/data-jsapi="([^"]+)"/.exec(html)![1]!.replace(/&#34;/g, '"')) as Record<string, string>;
    const otn = /data-out-trade-no="([^"]+)"/.exec(html)![1]!;
    const o = f.sim.order('wechat', otn)!;
    expect(o).toMatchObject({ tradeType: 'JSAPI' });
    expect(params.package).toBe(`prepay_id=${o.prepayId}`);
    const message = Formatter.joinedByLineFeed(params.appId!, params.timeStamp!, params.nonceStr!, params.package!);
    expect(Rsa.verify(message, params.paySign!, createPublicKey(keys.wechatMerchant.publicKeyPem))).toBe(true);
    const paid = await f.sim.pay('wechat', otn);
    expect(paid.deliveries[0]!.status).toBe(204);
    expect((await f.hub.bills.get(bill.billNo))?.status).toBe('paid');
  });
});
