// Paying inside each app, in a real (headless) Chromium posing as the app's browser on a phone:
// Alipay's app goes on to Alipay's cashier (the order's qr_code) and pays there; the demo opened inside
// WeChat pays by JSAPI (OAuth2 snsapi_base, then WeixinJSBridge answered by the simulator as WeChat's
// client, which checks the paySign). Afterwards the electronic receipt shows the itemised bill, the
// channel and its transaction id beside the signed confirmation QR (decoded by jsQR and by zbarimg).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSimulatorKeys } from '../../hub/channels/simulator.ts';
import { startDemoHub, type DemoHub } from '../../main/ui/demo.ts';
import { decodeQrFromPng } from '../../printer/qr-decode.ts';
import { billAmount, formatFen } from '../../protocol/money.ts';
import { ManualClock, shanghaiDate } from '../../protocol/time.ts';
import { verifyConfirmationToken } from '../../protocol/tokens.ts';
import { publicKeyFromRaw } from '../../protocol/signing.ts';
import type { HubService } from '../../hub/service/index.ts';
import { sampleFine, TestDevice } from '../hub/helpers.ts';
import { ALIPAY_UA, WECHAT_UA, startPayHub, type PayHubFixture } from '../payments/helpers.ts';
import { launchChromium } from '../support/browser.ts';
import { installWeixinBridge } from '../support/weixin-bridge.ts';

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

const phone = (ua: string) =>
  browser.newContext({ userAgent: ua, viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, locale: 'zh-CN' });

function zbarimg(png: Uint8Array): string[] {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fk-receipt-'));
  try {
    const f = path.join(dir, 'qr.png');
    writeFileSync(f, png);
    const out = execFileSync('zbarimg', ['--quiet', '--raw', '-Sdisable', '-Sqrcode.enable', f], { encoding: 'utf8' });
    return out.split('\n').filter((l) => l.length > 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function enroll(hub: HubService, dev: TestDevice): Promise<void> {
  const code = await hub.devices.add({ name: `kiosk ${dev.id}`, region: '110000' });
  if (!code.ok) throw new Error('device add failed');
  const r = await hub.enroll({ code: code.value.code, publicKey: dev.publicKeyRaw, deviceId: dev.id });
  if (!r.ok) throw new Error(`enroll failed: ${r.error.message}`);
}

/** A fine decided 20 days ago (so it carries 加处罚款) and a bill for its amount, as a kiosk issues it. */
async function lateBill(hub: HubService, dev: TestDevice, decisionNo: string) {
  const now = Math.floor(dev.clock.now() / 1000);
  const decidedOn = shanghaiDate(now - 20 * 86_400);
  const fine = { fineFen: 20000, decidedOn };
  await hub.fines.importRows([sampleFine(decisionNo, '110000', fine)]);
  const amount = billAmount(fine, now);
  expect(amount.lateFeeFen).toBeGreaterThan(0);
  const b = dev.issueBill(decisionNo, amount.amountFen);
  return { ...b, amount };
}

/** The receipt as the payer sees it: itemised bill, channel, transaction, confirmation QR. */
async function checkReceipt(
  page: Page,
  hub: HubService,
  expected: { billNo: string; amount: ReturnType<typeof billAmount>; channel: 'alipay' | 'wechat' },
): Promise<void> {
  await page.waitForSelector('#receipt', { timeout: 15_000 });
  expect(await page.locator('#violation').innerText()).toContain('违反禁令标志指示');
  expect(await page.locator('#points').innerText()).toBe('3');
  expect(await page.locator('#fine').getAttribute('data-fen')).toBe(String(expected.amount.fineFen));
  expect(await page.locator('#late-fee').getAttribute('data-fen')).toBe(String(expected.amount.lateFeeFen));
  expect(await page.locator('#late-fee').innerText()).toContain(formatFen(expected.amount.lateFeeFen));
  expect(await page.locator('#total').getAttribute('data-amount-fen')).toBe(String(expected.amount.amountFen));
  expect(await page.locator('#paid-channel').getAttribute('data-channel')).toBe(expected.channel);
  const txnId = (await page.locator('#txn-id').innerText()).trim();
  const payments = await hub.payments.forBill(expected.billNo);
  expect(payments).toEqual([expect.objectContaining({ channel: expected.channel, txnId, status: 'settled' })]);
  const token = (await page.locator('#confirmation').getAttribute('data-token'))!;
  expect(token).toBe(payments[0]!.token);
  // The confirmation is the hub's signature over this very payment.
  const keys = await hub.keys.list();
  const v = verifyConfirmationToken(token, (id) => {
    const k = keys.find((x) => x.keyId === id);
    return k ? publicKeyFromRaw(k.publicKey) : undefined;
  });
  expect(v.ok && v.value).toMatchObject({
    billNo: expected.billNo,
    amountFen: expected.amount.amountFen,
    channel: expected.channel,
    txnId,
  });
  const png = await page.locator('#confirmation-qr').screenshot();
  expect(decodeQrFromPng(png)).toBe(token);
  expect(zbarimg(png)).toEqual([token]);
}

describe("Alipay's app", () => {
  let f: PayHubFixture;
  let dev: TestDevice;
  beforeAll(async () => {
    // Real time: the page's own polling runs on the browser's clock.
    const clock = new ManualClock(Date.now());
    f = await startPayHub('pglite', clock, generateSimulatorKeys());
    dev = new TestDevice('kiosk0ali', clock);
    await enroll(f.hub, dev);
  });
  afterAll(async () => {
    await f?.close();
  });

  it("goes on to Alipay's cashier (the order's qr_code), pays there, and comes back to the itemised receipt", async () => {
    const b = await lateBill(f.hub, dev, '1100000000007001');
    const url = `${f.url}/p/${b.token}`;
    const ctx = await phone(ALIPAY_UA);
    const page = await ctx.newPage();
    await page.goto(url);
    await page.waitForURL(/\/sim\/pay\/alipay\//, { timeout: 15_000 });
    // The cashier is exactly the qr_code Alipay answered for the bill's one Alipay order.
    const orders = await f.pay.orders(b.billNo);
    expect(orders.map((o) => [o.channel, o.status])).toEqual([['alipay', 'open']]);
    const simOrder = f.sim.order('alipay', orders[0]!.out_trade_no)!;
    expect(page.url()).toBe(f.sim.payUrl(simOrder));
    expect(simOrder.amountFen).toBe(b.amount.amountFen);
    expect(await page.locator('#state').getAttribute('data-state')).toBe('open');
    await page.locator('button[value="pay"]').click();
    await page.waitForSelector('#state[data-state="paid"]');
    // Back to the pay page (Alipay returns there): the electronic receipt.
    await page.goto(url);
    await checkReceipt(page, f.hub, { billNo: b.billNo, amount: b.amount, channel: 'alipay' });
    expect((await f.hub.bills.get(b.billNo))?.status).toBe('paid');
    await ctx.close();
  });
});

describe('the demo inside WeChat', () => {
  let demo: DemoHub;
  let dir: string;
  let dev: TestDevice;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'fk-demo-jsapi-'));
    demo = await startDemoHub({ dataDir: path.join(dir, 'hub'), port: 0, simPort: 0 });
    dev = new TestDevice('kiosk0wx', new ManualClock(Date.now()));
    await enroll(demo.hub.hub, dev);
  }, 60_000);
  afterAll(async () => {
    await demo?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('pays by JSAPI: OAuth2 snsapi_base for the openid, WeixinJSBridge with a paySign WeChat accepts, then the receipt', async () => {
    const b = await lateBill(demo.hub.hub, dev, '1100000000007002');
    const url = `${demo.url}/p/${b.token}`;
    const ctx = await phone(WECHAT_UA);
    const answers = await installWeixinBridge(ctx, demo.sim);
    const page = await ctx.newPage();
    const visited: string[] = [];
    page.on('request', (r) => {
      if (r.isNavigationRequest()) visited.push(r.url());
    });
    await page.goto(url);
    await checkReceipt(page, demo.hub.hub, { billNo: b.billNo, amount: b.amount, channel: 'wechat' });
    // The way there: the simulated OAuth2 authorize step, back with a code, a JSAPI order paid through
    // the bridge; never a Native code_url or a weixin:// link.
    expect(visited.some((u) => new URL(u).pathname === '/connect/oauth2/authorize')).toBe(true);
    expect(visited.some((u) => new URL(u).searchParams.has('code'))).toBe(true);
    expect(answers).toEqual(['get_brand_wcpay_request:ok']);
    const orders = (await demo.hub.db.query<{ out_trade_no: string; status: string; pay_url: string | null }>(
      "SELECT out_trade_no, status, pay_url FROM pay_orders WHERE bill_no = $1 AND channel = 'wechat'",
      [b.billNo],
    )).rows;
    expect(orders).toEqual([expect.objectContaining({ status: 'paid' })]);
    expect(orders[0]!.pay_url).toMatch(/^jsapi:/);
    expect(demo.sim.order('wechat', orders[0]!.out_trade_no)).toMatchObject({ tradeType: 'JSAPI' });
    await ctx.close();
  }, 60_000);
});
