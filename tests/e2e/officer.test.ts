// The officer flow in the browser against the virtual printer: PIN login (officer role), a ticket for a
// car → the penalty notice printed with a scannable QR holding the bill; a pedestrian ticket → the QR on
// screen; refusals (bad plate, amount out of range) shown with their reasons.
import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addBlocks } from '../../main/officer/numbers.ts';
import { createOfficerService } from '../../main/officer/officers.ts';
import { decodeQrFromPng } from '../../printer/qr-decode.ts';
import { verifyBillToken, tokenFromBillUrl } from '../../protocol/tokens.ts';
import { ensureRenderer, launchBrowser, screen, startTestKiosk, type TestKiosk } from './helpers.ts';

let browser: Browser;
let kiosk: TestKiosk;
const PIN = '246810';

beforeAll(async () => {
  ensureRenderer();
  [browser, kiosk] = await Promise.all([launchBrowser(), startTestKiosk()]);
  const officers = createOfficerService(kiosk.kiosk.db, kiosk.clock, { N: 1024, r: 8, p: 1 });
  const added = await officers.add('031234', '王警官', PIN);
  expect(added.ok).toBe(true);
  // A block of numbers as the hub hands it out.
  addBlocks(
    kiosk.kiosk.db,
    [{ blockId: 'e2e-1', region: '310100', prefix: '31010020269', width: 7, first: 1, last: 150 }],
    kiosk.clock.now(),
  );
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await kiosk?.stop();
});

async function login(): Promise<Page> {
  // A 10-inch tablet in landscape.
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, hasTouch: true });
  const page = await ctx.newPage();
  await page.goto(kiosk.ui.server.launchUrl);
  await page.goto(`${kiosk.ui.server.origin}#officer`);
  await page.reload();
  await page.getByTestId('officer-pin').fill(PIN);
  await page.getByTestId('officer-login').click();
  await page.waitForSelector('[data-testid="officer-screen"]');
  await page.waitForSelector('[data-testid="officer-numbers"]');
  return page;
}

const verify = (url: string) =>
  verifyBillToken(tokenFromBillUrl(url)!, (id) =>
    id === kiosk.kiosk.identity.deviceId ? kiosk.kiosk.identity.publicKey : undefined,
  );

describe('officer flow', () => {
  it('fits a 412 px phone: the header on two lines at most, nothing clipped', async () => {
    const ctx = await browser.newContext({ viewport: { width: 412, height: 915 }, hasTouch: true });
    const page = await ctx.newPage();
    await page.goto(kiosk.ui.server.launchUrl);
    await page.goto(`${kiosk.ui.server.origin}#officer`);
    await page.reload();
    await page.getByTestId('officer-pin').fill(PIN);
    await page.getByTestId('officer-login').click();
    await page.waitForSelector('[data-testid="officer-screen"]');
    const h1 = await page.locator('.off-head h1').boundingBox();
    const out = await page.locator('.off-head .off-btn').last().boundingBox();
    expect(h1!.height).toBeLessThan(60); // one line, not a character per line
    expect(out!.x + out!.width).toBeLessThanOrEqual(412);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(412);
    await screen(page, 'officer-05-phone');
    await ctx.close();
  }, 60_000);

  it('refuses a wrong PIN with its reason', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(kiosk.ui.server.launchUrl);
    await page.goto(`${kiosk.ui.server.origin}#officer`);
    await page.reload();
    await page.getByTestId('officer-pin').fill('000000');
    await page.getByTestId('officer-login').click();
    await expect.poll(() => page.getByTestId('officer-error').getAttribute('data-code')).toBe('PIN_WRONG');
    await ctx.close();
  });

  it('ticket → notice printed on the virtual printer with a scannable QR', async () => {
    const page = await login();
    expect(await page.getByTestId('officer-sample').isVisible()).toBe(true);
    await screen(page, 'officer-01-form');

    // A bad plate is refused with its reason, and uses no number.
    await page.getByTestId('officer-plate').fill('沪I12345');
    await page.getByTestId('officer-code').fill('1625');
    await page.getByTestId('officer-code-1625').click();
    await page.getByTestId('officer-place').fill('人民广场 西藏中路口');
    // A motor vehicle needs the vehicle id's last 6 and the driver: said before any call.
    await page.getByTestId('officer-issue').click();
    await expect
      .poll(() => page.getByTestId('officer-error').getAttribute('data-code'))
      .toBe('TICKET_INCOMPLETE');
    // Full-width, as a Chinese IME types them: folded by the one normalization.
    await page.getByTestId('officer-vin6').fill('４Ｂ５Ｃ６Ｄ');
    await page.getByTestId('officer-party').fill('张三');
    await page.getByTestId('officer-licence').fill('31010419800101123x');
    await page.getByTestId('officer-issue').click();
    await expect.poll(() => page.getByTestId('officer-error').getAttribute('data-code')).toBe('BAD_PLATE');
    // The refusal is the catalogue's words, no developer text.
    expect(await page.getByTestId('officer-error').textContent()).toBe('车牌号格式不正确');

    await page.getByTestId('officer-plate').fill('沪A12345');
    await page.getByTestId('officer-issue').click();
    await page.waitForSelector('[data-testid="officer-decision"]');
    const decisionNo = (await page.getByTestId('officer-decision').textContent())!;
    expect(decisionNo).toBe('310100202690000001');
    expect(await page.getByTestId('officer-amount').textContent()).toBe('￥200.00');
    // The full plate never reaches the screen.
    expect(await page.content()).not.toContain('沪A12345');
    await screen(page, 'officer-02-issued');

    const before = kiosk.virtualPrinter!.pages.length;
    await page.getByTestId('officer-print').click();
    await page.waitForSelector('[data-testid="officer-printed"]');
    const pages = await kiosk.virtualPrinter!.waitForPages(before + 1, 15_000);
    const printed = pages[before]!;
    const url = decodeQrFromPng(readFileSync(printed.file));
    expect(url).toBeDefined();
    const claims = verify(url!);
    expect(claims.ok).toBe(true);
    if (!claims.ok) return;
    expect(claims.value.decisionNo).toBe(decisionNo);
    expect(claims.value.amountFen).toBe(20000);
    const text = printed.lines.join('\n');
    expect(text).toContain('处罚决定书');
    expect(text).toContain(decisionNo);
    expect(text).toContain('15');
    // The driver's own document: full plate, vehicle id's last 6, name and licence number.
    for (const s of ['沪A12345', '4B5C6D', '张三', '31010419800101123X']) expect(text).toContain(s);
    // A kiosk finds it by the decision number, and by plate and vehicle id.
    const fine = kiosk.kiosk.fines.findByDecisionNo(decisionNo);
    expect(fine.ok && fine.value.status).toBe('unpaid');
    const byPlate = kiosk.kiosk.fines.findByPlate('沪A 12345', '4b5c6d');
    expect(byPlate.ok && byPlate.value.map((f) => f.decisionNo)).toEqual([decisionNo]);

    // The same ticket's QR on screen also scans.
    await page.getByTestId('officer-show-qr').click();
    const shot = await page.getByTestId('officer-qr').screenshot();
    expect(decodeQrFromPng(shot)).toBe(url);
    await page.getByTestId('officer-qr-done').click();

    // A range code: an amount outside it is refused with its reason.
    await page.getByTestId('officer-plate').fill('沪AD12345');
    await page.getByTestId('officer-vin6').fill('A1B2C3');
    await page.getByTestId('officer-party').fill('李四');
    await page.getByTestId('officer-licence').fill('310104198001011234');
    await page.getByTestId('officer-code').fill('1039');
    await page.getByTestId('officer-code-1039').click();
    await page.getByTestId('officer-fine').fill('300');
    await page.getByRole('button', { name: '人民广场 西藏中路口' }).click();
    await page.getByTestId('officer-issue').click();
    await expect
      .poll(() => page.getByTestId('officer-error').getAttribute('data-code'))
      .toBe('FINE_OUT_OF_RANGE');
    await page.getByTestId('officer-fine').fill('100');
    await page.getByTestId('officer-issue').click();
    await page.waitForSelector('[data-testid="officer-decision"]');
    expect(await page.getByTestId('officer-decision').textContent()).toBe('310100202690000002');
    expect(await page.getByTestId('officer-amount').textContent()).toBe('￥100.00');
    await page.context().close();
  }, 120_000);

  it('pedestrian: a printed notice too, and the payment QR full screen, scannable', async () => {
    const page = await login();
    await page.getByTestId('officer-kind-pedestrian').check();
    await page.getByTestId('officer-code').fill('3001');
    await page.getByTestId('officer-code-3001').click();
    await page.getByTestId('officer-place').fill('南京东路步行街');
    // Name optional for a pedestrian; no licence field.
    expect(await page.getByTestId('officer-licence').count()).toBe(0);
    await page.getByTestId('officer-issue').click();
    await page.waitForSelector('[data-testid="officer-decision"]');
    const before = kiosk.virtualPrinter!.pages.length;
    await page.getByTestId('officer-print').click();
    await page.waitForSelector('[data-testid="officer-printed"]');
    const pages = await kiosk.virtualPrinter!.waitForPages(before + 1, 15_000);
    expect(pages[before]!.lines.join('\n')).toContain('行人');
    await page.getByTestId('officer-show-qr').click();
    await page.waitForSelector('[data-testid="officer-qr"]');
    await screen(page, 'officer-03-qr');
    const url = decodeQrFromPng(await page.getByTestId('officer-qr').screenshot());
    expect(url).toBeDefined();
    const claims = verify(url!);
    expect(claims.ok && claims.value.amountFen).toBe(1000);
    await page.context().close();
  }, 90_000);

  it('warns when numbers run low and refuses with the reason when they run out', async () => {
    // Two numbers left in the block.
    kiosk.kiosk.db.prepare("UPDATE decision_blocks SET next_n = last_n - 1 WHERE block_id = 'e2e-1'").run();
    const page = await login();
    await expect.poll(() => page.getByTestId('officer-numbers').getAttribute('data-low')).toBe('true');
    expect(await page.getByTestId('officer-numbers').textContent()).toContain('编号即将用完');
    const issue = async () => {
      await page.getByTestId('officer-kind-pedestrian').check();
      await page.getByTestId('officer-code').fill('3002');
      await page.getByTestId('officer-code-3002').click();
      await page.getByTestId('officer-place').fill('南京东路');
      await page.getByTestId('officer-issue').click();
    };
    for (let i = 0; i < 2; i++) {
      await issue();
      await page.waitForSelector('[data-testid="officer-decision"]');
      await page.getByTestId('officer-new').click();
    }
    await issue();
    await expect
      .poll(() => page.getByTestId('officer-error').getAttribute('data-code'))
      .toBe('NUMBERS_EXHAUSTED');
    expect(await page.getByTestId('officer-numbers').textContent()).toContain('编号已用完');
    await screen(page, 'officer-04-exhausted');
    await page.context().close();
  }, 90_000);
});
