// The online citizen flow: the kiosk is enrolled with a local hub (pay page + channel simulator) and
// syncing. The phone opens the bill's QR URL in Alipay or WeChat, pays on the simulator, and the kiosk's
// screen turns to paid by itself and prints the receipt. Then the hub is stopped: the kiosk shows
// offline and takes the phone's confirmation through the scanner instead.
import { readFileSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SyncEngine } from '../../main/sync/engine.ts';
import { decodeQrFromPng } from '../../printer/qr-decode.ts';
import { installWeixinBridge } from '../support/weixin-bridge.ts';
import { ensureRenderer, launchBrowser, scan, screen, startTestKiosk, type TestKiosk } from './helpers.ts';

const ALIPAY_UA =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 AlipayClient/10.5.36.6000 Language/zh-Hans';
const WECHAT_UA =
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36 MicroMessenger/8.0.47.2560(0x28002F35) NetType/WIFI Language/zh_CN';

let browser: Browser;
let kiosk: TestKiosk;

beforeAll(async () => {
  ensureRenderer();
  [browser, kiosk] = await Promise.all([launchBrowser(), startTestKiosk({ demoHub: {} })]);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await kiosk?.stop();
});

/**
 * The phone: the QR's URL opened in the channel's app. Alipay's page goes on to Alipay's cashier by
 * itself and is paid there; inside WeChat the demo pays by JSAPI (its WeixinJSBridge answered by the
 * simulator as WeChat's client). Either way the page ends on the receipt with the confirmation.
 */
async function payOnPhone(url: string, ua: string): Promise<void> {
  const phone = await browser.newContext({ userAgent: ua, viewport: { width: 390, height: 844 } });
  const wechat = ua.includes('MicroMessenger');
  if (wechat) await installWeixinBridge(phone, kiosk.demo!.sim);
  const p = await phone.newPage();
  await p.goto(url);
  if (!wechat) {
    await p.waitForSelector('#state');
    await p.getByRole('button', { name: /Pay/ }).click();
    await p.waitForSelector('#state[data-state="paid"]');
    await p.goto(url);
  }
  await p.waitForSelector('#confirmation', { timeout: 15_000 });
  await phone.close();
}

async function issueOnScreen(decisionNo: string, lang: 'zh' | 'en') {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  await page.goto(kiosk.ui.server.launchUrl);
  await page.waitForSelector('[data-screen="start"]');
  if (lang === 'en') await page.getByRole('button', { name: 'English' }).click();
  await scan(page, decisionNo);
  await page.waitForSelector('[data-screen="fine"]');
  const before = kiosk.virtualPrinter!.pages.length;
  await page
    .getByRole('button', { name: lang === 'zh' ? '确认，打印缴款单' : 'Confirm and print the bill' })
    .click();
  await page.waitForSelector('[data-screen="bill"]');
  const billNo = (await page.getByTestId('bill-screen').getAttribute('data-bill'))!;
  const pages = await kiosk.virtualPrinter!.waitForPages(before + 1, 15_000);
  const url = decodeQrFromPng(readFileSync(pages[before]!.file))!;
  expect(url.startsWith(`${kiosk.demo!.url}/p/b1.`)).toBe(true);
  return { ctx, page, billNo, url };
}

describe('online payment through the pay page and the channel simulator', () => {
  for (const [lang, channel, ua] of [
    ['zh', 'alipay', ALIPAY_UA],
    ['en', 'wechat', WECHAT_UA],
  ] as const) {
    it(`${channel} (${lang}): the kiosk turns to paid by itself and prints the receipt`, async () => {
      const { ctx, page, billNo, url } = await issueOnScreen(
        lang === 'zh' ? '3101012026005943' : '1101052026005943',
        lang,
      );
      await page.waitForSelector(
        '[data-testid="status-online"]:has-text("' + (lang === 'zh' ? '在线' : 'Online') + '")',
        {
          timeout: 15_000,
        },
      );
      const receiptBefore = kiosk.virtualPrinter!.pages.length;
      await payOnPhone(url, ua);
      await page.waitForSelector('[data-screen="paid"]', { timeout: 15_000 });
      await kiosk.virtualPrinter!.waitForPages(receiptBefore + 1, 15_000);
      const b = kiosk.kiosk.bills.get(billNo);
      expect(b.ok && b.value.payment?.channel).toBe(channel);
      await screen(page, `40-paid-online-${lang}`);
      await ctx.close();
    }, 90_000);
  }

  it('offline: with the hub stopped, the phone’s confirmation is scanned and the receipt prints', async () => {
    const { ctx, page, billNo, url } = await issueOnScreen('3301062026008846', 'zh');
    // The kiosk stops hearing from the hub; the phone pays and shows its confirmation QR.
    await kiosk.engine!.stop();
    await payOnPhone(url, ALIPAY_UA);
    const phone = await browser.newContext({ userAgent: ALIPAY_UA });
    const p = await phone.newPage();
    await p.goto(url);
    const token = await p.locator('#confirmation').getAttribute('data-token');
    await phone.close();
    // Then the hub goes away for good; the kiosk's sync finds it gone and the bar says offline.
    await kiosk.demo!.close();
    // A fresh engine (a stopped one is not restarted) finds the hub gone.
    const engine = new SyncEngine(kiosk.kiosk, { pullWaitSeconds: 1, idlePollMs: 200, maxDelayMs: 1000 });
    engine.start();
    expect(kiosk.kiosk.bills.get(billNo)).toMatchObject({ ok: true, value: { status: 'live' } });
    await page.waitForSelector('[data-testid="status-online"]:has-text("离线")', { timeout: 20_000 });
    expect(token).toMatch(/^c1\./);
    const before = kiosk.virtualPrinter!.pages.length;
    await scan(page, token!);
    await page.waitForSelector('[data-screen="paid"]');
    await kiosk.virtualPrinter!.waitForPages(before + 1, 15_000);
    await screen(page, '41-paid-offline-zh');
    await engine.stop();
    await ctx.close();
  }, 90_000);
});
