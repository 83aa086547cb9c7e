// The staff console on the portrait kiosk (1080 × 1920) and a 412 px phone: today's bills are cards, every
// button (补打, 补打回执, 作废) on screen without sideways scrolling; the 中文 greeting has no English.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureRenderer, launchBrowser, startTestKiosk, type TestKiosk } from '../e2e/helpers.ts';

let browser: Browser;
let kiosk: TestKiosk;

beforeAll(async () => {
  ensureRenderer();
  [browser, kiosk] = await Promise.all([launchBrowser(), startTestKiosk()]);
  // A bill paid, and one still live: both rows carry their buttons.
  const paid = kiosk.kiosk.bills.issue('3101012026003040');
  if (!paid.ok) throw new Error(paid.error.code);
  const c = kiosk.kiosk.payments.confirm(kiosk.confirmation(paid.value.billNo, paid.value.amountFen));
  if (!c.ok) throw new Error(c.error.code);
  await kiosk.ui.receipts.drain();
  const live = kiosk.kiosk.bills.issue('4403052026005943');
  if (!live.ok) throw new Error(live.error.code);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await kiosk?.stop();
});

async function login(page: Page) {
  await page.goto(kiosk.ui.server.launchUrl);
  await page.getByRole('button', { name: '工作人员' }).click();
  for (const d of kiosk.firstPin!) await page.getByRole('button', { name: d, exact: true }).click();
  await page.getByRole('button', { name: '登录' }).click();
  await page.waitForSelector('[data-testid="staff-console"]');
  await page.waitForSelector('[data-testid="reprint-receipt"]');
}

describe.each([
  [1080, 1920],
  [412, 915],
])('staff console at %i × %i', (width, height) => {
  it('nothing runs off the right edge; every button of today’s bills is on screen', async () => {
    const ctx = await browser.newContext({ viewport: { width, height } });
    const page = await ctx.newPage();
    await login(page);
    await page.screenshot({
      path: join(tmpdir(), `staff-layout-${width}-${process.pid}.png`),
      fullPage: true,
    });
    const buttons = await page.locator('[data-testid="today-bills"] button').evaluateAll((els) =>
      els.map((e) => {
        const r = e.getBoundingClientRect();
        return { text: (e as HTMLElement).innerText, right: Math.round(r.right) };
      }),
    );
    expect(buttons.length).toBeGreaterThan(0);
    expect(buttons.filter((b) => b.right > width)).toEqual([]);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
    await ctx.close();
  }, 60_000);
});

describe('staff console in 中文', () => {
  it('greets the first-run staff member without English', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    await login(page);
    const text = await page.evaluate(() => document.body.innerText);
    expect(text).not.toMatch(/Staff \d/);
    await ctx.close();
  }, 60_000);
});
