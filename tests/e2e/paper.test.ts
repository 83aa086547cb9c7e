// A printer that cannot prove printing (the portable Bluetooth 58 mm profile: no status): the bill, the
// receipt and the staff console's test page each ask "did the paper come out?", with the reprint one tap
// away, in 中文 and English; the receipt counts as printed only once a person says so.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureRenderer, launchBrowser, scan, screen, startTestKiosk, type TestKiosk } from './helpers.ts';

let browser: Browser;
let kiosk: TestKiosk;

beforeAll(async () => {
  ensureRenderer();
  [browser, kiosk] = await Promise.all([launchBrowser(), startTestKiosk({ profile: 'bt58' })]);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await kiosk?.stop();
});

async function issueOnKeypad(page: Page, decisionNo: string, search: string, confirm: string) {
  await page.getByRole('button', { name: /输入处罚决定书编号|Enter the decision number/ }).click();
  for (const d of decisionNo) await page.getByRole('button', { name: d, exact: true }).click();
  await page.getByRole('button', { name: search, exact: true }).click();
  await page.waitForSelector('[data-screen="fine"]');
  await page.getByRole('button', { name: confirm }).click();
  await page.waitForSelector('[data-screen="bill"]');
}

describe('paper check on a printer without status', () => {
  it('citizen (中文): the bill and the receipt ask; "no" prints again, "yes" counts it printed', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    await page.goto(kiosk.ui.server.launchUrl);
    await page.waitForSelector('[data-screen="start"]');
    const pagesBefore = kiosk.virtualPrinter!.pages.length;
    await issueOnKeypad(page, '3101012026003040', '查询', '确认，打印缴款单');
    const billNo = (await page.getByTestId('bill-screen').getAttribute('data-bill'))!;
    await page.waitForSelector('[data-testid="paper-check"][data-step="ask"]:has-text("纸出来了吗")');
    await kiosk.virtualPrinter!.waitForPages(pagesBefore + 1, 15_000);
    await screen(page, '40-paper-check-bill-zh');
    // "No": printed again at once, and asked again.
    await page.getByTestId('paper-no').click();
    await kiosk.virtualPrinter!.waitForPages(pagesBefore + 2, 15_000);
    await page.waitForSelector('[data-testid="paper-check"][data-step="ask"]:has-text("已重新打印")');
    await page.getByTestId('paper-yes').click();
    await page.waitForSelector('[data-testid="paper-check"][data-step="done"]');

    // Paid by a scanned confirmation: the receipt is sent, and not counted printed until a person says so.
    const bill = kiosk.kiosk.bills.get(billNo);
    if (!bill.ok) throw new Error('bill');
    await scan(page, kiosk.confirmation(billNo, bill.value.amountFen, 'alipay'));
    await page.waitForSelector(
      '[data-screen="paid"] [data-receipt="unverified"] [data-testid="paper-check"]',
    );
    expect(kiosk.ui.receipts.get(billNo)?.state).toBe('unverified');
    await screen(page, '41-paper-check-receipt-zh');
    await page.getByTestId('paper-yes').click();
    await page.waitForSelector('[data-screen="paid"] [data-receipt="printed"]');
    expect(kiosk.ui.receipts.get(billNo)?.state).toBe('printed');
    await ctx.close();
  });

  it('staff console (English): the test page asks, and "yes" settles it', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    await page.goto(kiosk.ui.server.launchUrl);
    await page.waitForSelector('[data-screen="start"]');
    await page.getByRole('button', { name: 'English' }).click();
    await page.getByRole('button', { name: /^(工作人员|Staff)$/ }).click();
    for (const d of kiosk.firstPin!) await page.getByRole('button', { name: d, exact: true }).click();
    await page.getByRole('button', { name: /^(登录|Log in)$/ }).click();
    await page.waitForSelector('[data-testid="staff-console"]');
    await page.locator('[data-tab="printer"]').click();
    await page.getByRole('button', { name: 'Print test page' }).click();
    await page.waitForSelector(
      '[data-testid="paper-check"][data-step="ask"]:has-text("Did the paper come out?")',
    );
    await screen(page, '42-paper-check-staff-en');
    await page.getByTestId('paper-yes').click();
    await page.waitForSelector('[data-testid="paper-check"][data-step="done"]');
    await ctx.close();
  });
});
