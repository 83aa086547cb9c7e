// The citizen's whole flow in the browser, in both languages, against the virtual printer: find a fine
// (keypad, scanned notice, plate), confirm, the printed bill's QR is the bill URL, pay by a scanned
// confirmation (the offline path), the receipt prints; paper out shown and recovered; refusals; idle.
import { readFileSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeQrFromPng } from '../../printer/qr-decode.ts';
import {
  ensureRenderer,
  launchBrowser,
  scan,
  screen,
  startTestKiosk,
  typeSlowly,
  type TestKiosk,
} from './helpers.ts';

let browser: Browser;
let kiosk: TestKiosk;

beforeAll(async () => {
  ensureRenderer();
  [browser, kiosk] = await Promise.all([launchBrowser(), startTestKiosk()]);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await kiosk?.stop();
});

async function open(): Promise<{ ctx: BrowserContext; page: Page; errors: string[] }> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  // Console errors include CSP violations: the built renderer must run under the strict policy.
  const errors: string[] = [];
  page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
  page.on('pageerror', (e) => void errors.push(e.message));
  await page.goto(kiosk.ui.server.launchUrl);
  await page.waitForSelector('[data-screen="start"]');
  await page.waitForSelector('[data-testid="status-printer"]');
  return { ctx, page, errors };
}

async function billFromPrinter(before: number): Promise<string | undefined> {
  const pages = await kiosk.virtualPrinter!.waitForPages(before + 1, 15_000);
  return decodeQrFromPng(readFileSync(pages[before]!.file));
}

describe.each([
  {
    lang: 'zh',
    decisionNo: '3101012026003040',
    labels: { byNumber: '输入处罚决定书编号', search: '查询', confirm: '确认，打印缴款单' },
  },
  {
    lang: 'en',
    decisionNo: '1101052026003040',
    labels: { byNumber: 'Enter the decision number', search: 'Find', confirm: 'Confirm and print the bill' },
  },
])('citizen flow ($lang)', ({ lang, decisionNo, labels }) => {
  it('finds a fine on the keypad, prints the bill, is paid by a scanned confirmation and prints the receipt', async () => {
    const { ctx, page, errors } = await open();
    if (lang === 'en') await page.getByRole('button', { name: 'English' }).click();
    await expect
      .poll(() => page.evaluate(() => document.documentElement.lang))
      .toBe(lang === 'en' ? 'en' : 'zh-CN');
    await screen(page, `01-start-${lang}`);

    await page.getByRole('button', { name: labels.byNumber }).click();
    for (const d of decisionNo.slice(0, -1)) await page.getByRole('button', { name: d, exact: true }).click();
    await page.getByRole('button', { name: lang === 'zh' ? '删除' : 'Delete' }).click();
    for (const d of decisionNo.slice(-2)) await page.getByRole('button', { name: d, exact: true }).click();
    await expect.poll(() => page.getByTestId('keypad-display').textContent()).toBe(decisionNo);
    await screen(page, `02-keypad-${lang}`);
    await page.getByRole('button', { name: labels.search, exact: true }).click();

    await page.waitForSelector('[data-screen="fine"]');
    const plate = await page.getByTestId('fine-plate').textContent();
    expect(plate).toMatch(/^.{2}\*+.{2}$/);
    expect(await page.content()).not.toMatch(/[沪京][A-Z]\d{5}/);
    const expected = kiosk.kiosk.fines.findByDecisionNo(decisionNo);
    if (!expected.ok) throw new Error('fixture');
    expect(await page.getByTestId('fine-total').textContent()).toBe(
      `￥${(expected.value.totalFenToday / 100).toLocaleString('en-US', { minimumFractionDigits: 2 })}`,
    );
    await screen(page, `03-fine-${lang}`);

    const printedBefore = kiosk.virtualPrinter!.pages.length;
    await page.getByRole('button', { name: labels.confirm }).click();
    await page.waitForSelector('[data-screen="bill"]');
    const billNo = (await page.getByTestId('bill-screen').getAttribute('data-bill'))!;
    const bill = kiosk.kiosk.bills.get(billNo);
    if (!bill.ok) throw new Error('bill');
    // The printed bill's QR decodes to exactly the bill URL; so does the one on screen.
    expect(await billFromPrinter(printedBefore)).toBe(bill.value.url);
    const onScreen = await page.getByTestId('bill-qr').screenshot();
    expect(decodeQrFromPng(onScreen)).toBe(bill.value.url);
    expect(await page.getByTestId('time-left').textContent()).toMatch(/^[34]:\d\d:\d\d$/);
    await screen(page, `04-bill-${lang}`);

    // A scan of another bill's confirmation is refused, and the screen says what to do.
    await scan(page, kiosk.confirmation('OTHER-1', bill.value.amountFen));
    await page.waitForSelector('[data-screen="error"] [data-code="WRONG_BILL"]');
    await screen(page, `05-error-wrong-bill-${lang}`);
    await page.getByRole('button', { name: lang === 'zh' ? '返回' : 'Back', exact: true }).click();
    await page.waitForSelector('[data-screen="bill"]');

    // Offline: the phone shows the hub-signed confirmation; the scanner types it.
    const receiptBefore = kiosk.virtualPrinter!.pages.length;
    await scan(page, kiosk.confirmation(billNo, bill.value.amountFen, 'wechat'));
    await page.waitForSelector('[data-screen="paid"]');
    await kiosk.virtualPrinter!.waitForPages(receiptBefore + 1, 15_000);
    expect(kiosk.kiosk.bills.get(billNo)).toMatchObject({ ok: true, value: { status: 'paid' } });
    await screen(page, `06-paid-${lang}`);
    await page.getByRole('button', { name: lang === 'zh' ? '完成' : 'Done' }).click();
    await page.waitForSelector('[data-screen="start"]');
    // Done forgets the session and returns to 中文.
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('zh-CN');
    expect(errors).toEqual([]);
    await ctx.close();
  }, 90_000);
});

describe('finding and refusals', () => {
  it('finds by a scanned notice, and by plate plus the last 6 of the vehicle id', async () => {
    const { ctx, page } = await open();
    // Typed by a person, the same digits are not a scan and leave the start screen as it is.
    await typeSlowly(page, '3301062026003040');
    expect(await page.locator('.app').getAttribute('data-screen')).toBe('start');
    await scan(page, '3301062026003040');
    await page.waitForSelector('[data-screen="fine"]');
    expect(await page.getByTestId('fine-decision').textContent()).toBe('3301062026003040');
    await page.getByRole('button', { name: '返回' }).click();

    await page.getByRole('button', { name: 'English' }).click();
    await page.getByRole('button', { name: 'Find by plate number' }).click();
    await page.getByRole('button', { name: '粤', exact: true }).click();
    await screen(page, '07-plate-provinces-en');
    for (const k of 'BD3K88') await page.getByRole('button', { name: k, exact: true }).click();
    await page.getByRole('button', { name: 'Next' }).click();
    for (const k of 'MN7742') await page.getByRole('button', { name: k, exact: true }).click();
    await screen(page, '08-plate-en');
    await page.getByRole('button', { name: 'Find', exact: true }).click();
    await page.waitForSelector('[data-screen="fine"]');
    expect(await page.getByTestId('fine-decision').textContent()).toBe('4403052026003040');
    expect(await page.getByTestId('fine-plate').textContent()).toBe('粤B***88');
    await ctx.close();
  });

  it('shows clear screens for a fine already paid and one not found, in both languages', async () => {
    const { ctx, page } = await open();
    for (const lang of ['zh', 'en'] as const) {
      if (lang === 'en') await page.getByRole('button', { name: 'English' }).click();
      await scan(page, '1101052026008846');
      await page.waitForSelector('[data-screen="error"] [data-code="FINE_NOT_PAYABLE"]');
      expect(await page.locator('.next').textContent()).toContain(
        lang === 'zh' ? '无需再缴' : 'nothing to pay',
      );
      await screen(page, `09-error-already-paid-${lang}`);
      await page.getByRole('button', { name: lang === 'zh' ? '返回首页' : 'Back to start' }).click();
      if (lang === 'en') await page.getByRole('button', { name: 'English' }).click();
      await scan(page, '9999992026000000');
      await page.waitForSelector('[data-screen="error"] [data-code="FINE_NOT_FOUND"]');
      await screen(page, `10-error-not-found-${lang}`);
      await page.getByRole('button', { name: lang === 'zh' ? '返回首页' : 'Back to start' }).click();
    }
    await ctx.close();
  });

  it('shows the printer out of paper, then recovers and prints the same bill', async () => {
    const { ctx, page } = await open();
    kiosk.virtualPrinter!.set({ paperEnd: true });
    await page.waitForSelector('[data-testid="status-printer"][data-state="paper-end"]', { timeout: 10_000 });
    await scan(page, '3301062026005943');
    await page.waitForSelector('[data-screen="fine"]');
    await page.getByRole('button', { name: '确认，打印缴款单' }).click();
    await page.waitForSelector('[data-screen="error"] [data-code="PRINTER_PAPER_END"]');
    await screen(page, '11-error-paper-out-zh');
    await page.getByRole('button', { name: 'English' }).isVisible();
    kiosk.virtualPrinter!.set({ paperEnd: false });
    const before = kiosk.virtualPrinter!.pages.length;
    await page.getByRole('button', { name: '重试' }).click();
    await page.waitForSelector('[data-screen="bill"]');
    const billNo = (await page.getByTestId('bill-screen').getAttribute('data-bill'))!;
    const bill = kiosk.kiosk.bills.get(billNo);
    expect(await billFromPrinter(before)).toBe(bill.ok ? bill.value.url : 'none');
    await page.waitForSelector('[data-testid="status-printer"][data-state="ok"]', { timeout: 10_000 });
    await ctx.close();
  });

  it('refuses an expired bill with what to do next', async () => {
    const { ctx, page } = await open();
    await scan(page, '5101072026003040');
    await page.waitForSelector('[data-screen="fine"]');
    await page.getByRole('button', { name: '确认，打印缴款单' }).click();
    await page.waitForSelector('[data-screen="bill"]');
    kiosk.clock.advance(4 * 3600 * 1000 + 1000);
    await page.waitForSelector('[data-screen="error"] [data-code="BILL_EXPIRED"]', { timeout: 10_000 });
    expect(await page.locator('.next').textContent()).toContain('重新');
    await screen(page, '12-error-expired-zh');
    await ctx.close();
  });

  it('warns when idle, then returns to the start screen and forgets the session', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    await page.clock.install();
    await page.goto(kiosk.ui.server.launchUrl);
    await page.waitForSelector('[data-screen="start"]');
    await page.getByRole('button', { name: 'English' }).click();
    await page.getByRole('button', { name: 'Enter the decision number' }).click();
    await page.getByRole('button', { name: '7', exact: true }).click();
    await page.clock.runFor(46_000);
    await page.waitForSelector('[data-testid="idle-warning"]');
    await screen(page, '13-idle-warning-en');
    await page.clock.runFor(15_000);
    await page.waitForSelector('[data-screen="start"]');
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('zh-CN');
    await page.getByRole('button', { name: '输入处罚决定书编号' }).click();
    expect((await page.getByTestId('keypad-display').textContent())?.trim()).toBe('');
    await ctx.close();
  });

  it('the API refuses the browser without the session cookie', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(kiosk.ui.server.origin);
    const status = await page.evaluate(
      async () =>
        (
          await fetch('/api/status', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: '{}',
          })
        ).status,
    );
    expect(status).toBe(401);
    await ctx.close();
  });
});
