// The pay page in a real (headless) Chromium posing as Alipay's and WeChat's in-app browsers on a
// phone: Alipay goes straight on to the channel's page; WeChat's page shows the code and, once paid,
// turns into the confirmation whose QR decodes to the token shown beneath it.
import { AxeBuilder } from '@axe-core/playwright';
import { type Browser, type Page } from 'playwright-core';
import { launchChromium } from '../support/browser.ts';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generateSimulatorKeys, type SimulatorKeys } from '../../hub/channels/simulator.ts';
import { decodeQrFromPng } from '../../printer/qr-decode.ts';
import { billAmount } from '../../protocol/money.ts';
import { ManualClock, shanghaiDate } from '../../protocol/time.ts';
import { enrollDevice, sampleFine, TestDevice } from '../hub/helpers.ts';
import { ALIPAY_UA, WECHAT_UA, startPayHub, type PayHubFixture } from '../payments/helpers.ts';

let browser: Browser;
let keys: SimulatorKeys;
beforeAll(async () => {
  keys = generateSimulatorKeys();
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

describe('pay page in a phone browser', () => {
  let f: PayHubFixture;
  let dev: TestDevice;
  let n = 0;
  beforeEach(async () => {
    // Real time here: the page's own polling runs on the browser's clock.
    const clock = new ManualClock(Date.now());
    f = await startPayHub('pglite', clock, keys);
    dev = new TestDevice('kiosk0e2e', clock);
    await enrollDevice({ db: f.db, hub: f.hub, app: f.app, url: f.url, close: async () => undefined }, dev);
  });
  afterEach(async () => {
    await f.close();
  });

  async function bill(): Promise<{ billNo: string; url: string }> {
    const decisionNo = `11000000000009${String(++n).padStart(4, '0')}`;
    // The bill asks what the hub computes for the fine (fine + 加处罚款 on the issue day), or it is refused.
    const fine = { fineFen: 20000, decidedOn: shanghaiDate(Math.floor(Date.now() / 1000)) };
    await f.hub.fines.importRows([sampleFine(decisionNo, '110000', fine)]);
    const b = dev.issueBill(decisionNo, billAmount(fine, Math.floor(dev.clock.now() / 1000)).amountFen);
    return { billNo: b.billNo, url: `${f.url}/p/${b.token}` };
  }

  async function accessible(page: Page): Promise<void> {
    const r = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa']).analyze();
    expect(r.violations.map((v) => `${v.id}: ${v.nodes.length}`)).toEqual([]);
  }

  const phone = (ua: string) =>
    browser.newContext({
      userAgent: ua,
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      locale: 'zh-CN',
    });

  it('Alipay: sends the payer on to the channel, and shows the confirmation afterwards', async () => {
    const b = await bill();
    const ctx = await phone(ALIPAY_UA);
    const page = await ctx.newPage();
    await page.goto(b.url);
    await page.waitForURL(/\/sim\/pay\/alipay\//, { timeout: 10_000 });
    expect(await page.locator('#state').getAttribute('data-state')).toBe('open');
    await page.locator('button[value="pay"]').click();
    await page.waitForSelector('#state[data-state="paid"]');
    await page.goto(b.url);
    const token = await page.locator('#confirmation').getAttribute('data-token');
    expect(token).toMatch(/^c1\./);
    expect((await f.hub.bills.get(b.billNo))?.status).toBe('paid');
    await ctx.close();
  });

  it('WeChat: shows the code, then turns into the confirmation QR by itself once paid', async () => {
    const b = await bill();
    const ctx = await phone(WECHAT_UA);
    const page = await ctx.newPage();
    await page.goto(b.url);
    const payUrl = await page.locator('#pay').getAttribute('data-pay-url');
    expect(payUrl).toContain('/sim/pay/wechat/');
    expect(page.url()).toBe(b.url); // no automatic navigation for WeChat
    await accessible(page);
    // The page fits a phone: no sideways scrolling.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    const otn = decodeURIComponent(payUrl!.split('/').at(-1)!);
    expect((await f.sim.pay('wechat', otn)).ok).toBe(true);
    await page.waitForSelector('#confirmation', { timeout: 10_000 });
    const token = await page.locator('#confirmation').getAttribute('data-token');
    await accessible(page);
    expect(decodeQrFromPng(await page.locator('#confirmation-qr').screenshot())).toBe(token);
    await ctx.close();
  });
});
