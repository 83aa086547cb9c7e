// The staff console in the browser: PIN login, lockout after wrong PINs, issue, reprint, void, confirm a
// typed confirmation, today's records, the shift report (printed and stored), printer, sync and device.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureRenderer, launchBrowser, screen, startTestKiosk, type TestKiosk } from './helpers.ts';

/** A scanner is a keyboard: real key events to whatever has the focus (no click first), then Enter. */
async function scanIntoFocus(page: Page, code: string): Promise<void> {
  await page.keyboard.insertText(code);
  await page.keyboard.press('Enter');
}

let browser: Browser;
let kiosk: TestKiosk;
let pin: string;

beforeAll(async () => {
  ensureRenderer();
  [browser, kiosk] = await Promise.all([launchBrowser(), startTestKiosk()]);
  // The first run made one staff member with a random PIN, shown once.
  expect(kiosk.firstPin).toMatch(/^[0-9]{6}$/);
  pin = kiosk.firstPin!;
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await kiosk?.stop();
});

async function enterPin(page: Page, p: string) {
  for (const d of p) await page.getByRole('button', { name: d, exact: true }).click();
  await page.getByRole('button', { name: /^(登录|Log in)$/ }).click();
}

describe('staff console', () => {
  it('locks after 5 wrong PINs, then lets the right PIN in once the lock has passed', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    await page.goto(kiosk.ui.server.launchUrl);
    await page.getByRole('button', { name: '工作人员' }).click();
    await screen(page, '20-staff-login-zh');
    const wrong = pin === '000000' ? '111111' : '000000';
    for (let i = 0; i < 4; i++) {
      await enterPin(page, wrong);
      await page.waitForSelector(`[data-testid="login-error"][data-code="PIN_WRONG"]:has-text("${4 - i}")`);
      // Past the first typos, each next try waits a little longer (a minute covers every wait).
      kiosk.clock.advance(60_000);
    }
    await enterPin(page, wrong);
    await page.waitForSelector('[data-testid="login-error"][data-code="LOCKED"]');
    await screen(page, '21-staff-locked-zh');
    // The right PIN is refused too while locked.
    await enterPin(page, pin);
    await page.waitForSelector('[data-testid="login-error"][data-code="LOCKED"]');
    kiosk.clock.advance(5 * 60 * 1000);
    await enterPin(page, pin);
    await page.waitForSelector('[data-testid="staff-console"]');
    await ctx.close();
  });

  it('issues, reprints and voids bills, confirms a typed confirmation, and prints the shift report', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    await page.goto(kiosk.ui.server.launchUrl);
    await page.getByRole('button', { name: 'English' }).click();
    await page.getByRole('button', { name: 'Staff' }).click();
    await enterPin(page, pin);
    await page.waitForSelector('[data-testid="staff-console"]');

    const vp = kiosk.virtualPrinter!;
    // Issue two bills.
    await page.getByRole('button', { name: 'Issue bill' }).click();
    for (const dn of ['4403052026005943', '5101072026005943']) {
      const before = vp.pages.length;
      await page.getByLabel('Decision number').fill(dn);
      await page.getByRole('button', { name: 'Issue and print' }).click();
      await page.waitForSelector(`[data-testid="staff-ok"]:has-text("issued")`);
      await vp.waitForPages(before + 1, 15_000);
      await page.getByRole('button', { name: 'Today' }).click();
      await page.getByRole('button', { name: 'Issue bill' }).click();
    }
    await screen(page, '22-staff-issue-en');
    const bills = kiosk.kiosk.bills.listSince(0);
    const [b1, b2] = [bills.at(-2)!, bills.at(-1)!];

    // Reprint the first, void the second.
    await page.getByRole('button', { name: 'Today' }).click();
    await page.waitForSelector(`tr[data-bill="${b1.billNo}"]`);
    let before = vp.pages.length;
    await page.locator(`tr[data-bill="${b1.billNo}"]`).getByRole('button', { name: 'Reprint' }).click();
    await page.waitForSelector(`[data-testid="staff-ok"]:has-text("Reprinted ${b1.billNo}")`);
    await vp.waitForPages(before + 1, 15_000);
    // Void asks first, with a reason; cancelling changes nothing.
    await page.locator(`tr[data-bill="${b2.billNo}"]`).getByRole('button', { name: 'Void' }).click();
    await page.waitForSelector('[data-testid="void-dialog"]');
    expect(await page.getByRole('button', { name: 'Void the bill' }).isDisabled()).toBe(true);
    await screen(page, '23a-staff-void-confirm-en');
    await page.getByRole('button', { name: 'Cancel' }).click();
    expect(kiosk.kiosk.bills.get(b2.billNo)).toMatchObject({ ok: true, value: { status: 'live' } });
    await page.locator(`tr[data-bill="${b2.billNo}"]`).getByRole('button', { name: 'Void' }).click();
    await page.getByRole('textbox', { name: 'Reason' }).fill('Payer chose to pay at the bank');
    await page.getByRole('button', { name: 'Void the bill' }).click();
    await page.waitForSelector(`tr[data-bill="${b2.billNo}"][data-status="voided"]`);
    expect(
      kiosk.kiosk.db.prepare('SELECT reason FROM void_reasons WHERE bill_no = ?').get(b2.billNo),
    ).toEqual({
      reason: 'Payer chose to pay at the bank',
    });
    expect(kiosk.kiosk.bills.get(b2.billNo)).toMatchObject({ ok: true, value: { status: 'voided' } });
    await screen(page, '23-staff-today-en');

    // A typed confirmation that is not one is refused with the catalogue's words only.
    await page.getByRole('button', { name: 'Confirm payment' }).click();
    before = vp.pages.length;
    await page.getByLabel('Payment confirmation (scan or type)').fill('c1.not-a-token');
    await page.getByRole('button', { name: 'Confirm', exact: true }).click();
    await page.waitForSelector('[data-testid="staff-error"][data-code="MALFORMED"]');
    expect(await page.getByTestId('staff-error').textContent()).toBe('Malformed input');
    // A scanner needs no tap: the field has the focus, the scan ends with Enter.
    const token = kiosk.confirmation(b1.billNo, b1.amountFen, 'alipay', 'TXSTAFF1');
    await page.getByRole('button', { name: 'Confirm payment' }).click();
    await scanIntoFocus(page, token);
    await page.waitForSelector(`[data-testid="staff-ok"]:has-text("${b1.billNo} confirmed")`);
    await vp.waitForPages(before + 1, 15_000);
    await screen(page, '24-staff-confirm-en');
    // The same confirmation again prints a copy of the receipt (the citizen lost it), no second payment.
    before = vp.pages.length;
    await scanIntoFocus(page, token);
    await page.waitForSelector(`[data-testid="staff-ok"]:has-text("paid before")`);
    await vp.waitForPages(before + 1, 15_000);
    expect(kiosk.kiosk.payments.listSince(0).filter((p) => p.billNo === b1.billNo)).toHaveLength(1);

    // Staff reprint any paid bill's receipt from today's list: a copy.
    await page.getByRole('button', { name: 'Today' }).click();
    before = vp.pages.length;
    await page
      .locator(`tr[data-bill="${b1.billNo}"]`)
      .getByRole('button', { name: 'Reprint receipt' })
      .click();
    await page.waitForSelector(`[data-testid="staff-ok"]:has-text("Receipt copy printed for ${b1.billNo}")`);
    await vp.waitForPages(before + 1, 15_000);
    await screen(page, '24a-staff-receipt-reprint-en');

    // Shift report: counts and totals per channel, printed and stored with its event.
    await page.getByRole('button', { name: 'Shift report' }).click();
    before = vp.pages.length;
    await page.getByRole('button', { name: 'End shift and print report' }).click();
    await page.waitForSelector('[data-testid="shift-report"]');
    expect(await page.locator('tr[data-row="alipay"] td').first().textContent()).toBe('1');
    expect(await page.getByTestId('shift-paid').textContent()).toBe(
      `￥${(b1.amountFen / 100).toLocaleString('en-US', { minimumFractionDigits: 2 })}`,
    );
    await vp.waitForPages(before + 1, 15_000);
    const stored = kiosk.kiosk.db.prepare('SELECT count(*) AS n FROM shifts').get() as { n: number };
    expect(stored.n).toBe(1);
    // The void and its reason are on the shift report.
    await page.waitForSelector('[data-testid="shift-voids"]:has-text("Payer chose to pay at the bank")');
    expect(kiosk.kiosk.outbox.list(0, 1000).some((e) => e.type === 'shift.closed')).toBe(true);
    await screen(page, '25-staff-shift-en');

    // Printer, sync, device.
    await page.getByRole('button', { name: 'Printer', exact: true }).click();
    before = vp.pages.length;
    await page.getByRole('button', { name: 'Print test page' }).click();
    await page.waitForSelector('[data-testid="staff-ok"]');
    await vp.waitForPages(before + 1, 15_000);
    await screen(page, '26-staff-printer-en');
    await page.getByRole('button', { name: 'Sync', exact: true }).click();
    await page.waitForSelector('[data-testid="sync-queued"]:not(:empty)');
    await screen(page, '27-staff-sync-en');
    await page.getByRole('button', { name: 'Device', exact: true }).click();
    await page.waitForSelector(`[data-testid="device-id"]:has-text("${kiosk.kiosk.identity.deviceId}")`);
    await screen(page, '28-staff-device-en');
    await page.getByRole('button', { name: '中文' }).count();
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForSelector('[data-screen="start"]');
    await ctx.close();
  }, 90_000);

  it('shows the console in Chinese too', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    await page.goto(kiosk.ui.server.launchUrl);
    await page.getByRole('button', { name: '工作人员' }).click();
    await enterPin(page, pin);
    await page.waitForSelector('[data-testid="staff-console"]');
    await page.waitForSelector('[data-testid="today-bills"]');
    await screen(page, '29-staff-today-zh');
    await page.getByRole('button', { name: '交班报表' }).click();
    await page.getByRole('button', { name: '结束本班并打印报表' }).click();
    await page.waitForSelector('[data-testid="shift-report"]');
    await screen(page, '30-staff-shift-zh');
    await ctx.close();
  });
});
