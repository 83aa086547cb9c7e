// The operator console in Debian's Chromium, in 中文 and English: log in, make an enrollment code and
// enroll a real kiosk from the QR the page shows (decoded with jsQR and zbarimg), see it online and then
// offline once it stops (the hub's clock advanced, no waiting), approve a refund, remove a device, read
// the audit log. An auditor changes nothing (buttons disabled, direct calls refused); the session, CSRF
// token and Origin rules are checked with plain HTTP. Screenshots go to tests/artifacts/console-*.png.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { en, zh } from '../../console/src/strings.ts';
import { runAdmin } from '../../hub/admin.ts';
import { decodeQrFromPng } from '../../printer/qr-decode.ts';
import { openKiosk, type Kiosk } from '../../main/kiosk.ts';
import { enroll, SyncEngine } from '../../main/sync/engine.ts';
import { parseEnrollQr } from '../../protocol/enroll.ts';
import { OFFLINE_AFTER_S } from '../../protocol/health.ts';
import { ManualClock } from '../../protocol/time.ts';
import { launchChromium } from '../support/browser.ts';
import type { TestHub } from '../hub/helpers.ts';
import { startServiceHub } from './helpers.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const ARTIFACTS = path.join(ROOT, 'tests', 'artifacts');

function ensureConsole(): void {
  if (existsSync(path.join(ROOT, 'console', 'dist', 'index.html'))) return;
  execFileSync(
    process.execPath,
    [
      path.join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'),
      'build',
      '--config',
      'console/vite.config.ts',
    ],
    { cwd: ROOT, stdio: 'ignore' },
  );
}

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `console-${name}.png`), fullPage: true });
}

/** The QR as the page shows it, decoded by two independent readers, which must agree. */
async function decodeShownQr(page: Page, dir: string): Promise<string> {
  const png = await page.getByTestId('enroll-qr').screenshot();
  const byJsQr = decodeQrFromPng(png);
  const file = path.join(dir, 'qr.png');
  writeFileSync(file, png);
  const byZbar = execFileSync('zbarimg', ['--quiet', '--raw', '-Sdisable', '-Sqrcode.enable', file], {
    encoding: 'utf8',
  }).trim();
  expect(byJsQr).toBe(byZbar);
  return byZbar;
}

const PASSWORD = 'correct horse battery';
const REFUND_TXN = '2026112122001000000000000001';

describe.each([
  ['zh', zh],
  ['en', en],
] as const)('operator console (%s)', (lang, s) => {
  let browser: Browser;
  let t: TestHub;
  let hubClock: ManualClock;
  let dir: string;
  let kiosk: Kiosk | undefined;
  beforeAll(async () => {
    ensureConsole();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    hubClock = new ManualClock(Date.now());
    t = await startServiceHub('pglite', { clock: hubClock });
    dir = mkdtempSync(path.join(os.tmpdir(), 'fk-console-'));
    for (const [id, role] of [
      ['ops1', 'operator'],
      ['aud1', 'auditor'],
    ] as const) {
      expect((await runAdmin(t.hub, 'operator.add', { id, role, password: PASSWORD })).ok).toBe(true);
    }
    await t.db.query(
      `INSERT INTO pay_refunds (channel, txn_id, bill_no, out_trade_no, amount_fen, reason, created_at, status, out_refund_no)
       VALUES ('alipay', $1, 'BK1-1', 'BK1-1-A0000', 20000, 'bill already paid by another transaction', 1, 'pending_approval', 'RF-test-1')`,
      [REFUND_TXN],
    );
  });
  afterEach(async () => {
    kiosk?.close();
    kiosk = undefined;
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function login(user: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.addInitScript((l) => localStorage.setItem('fk.console.lang', l), lang);
    const page = await context.newPage();
    page.on('dialog', (d) => void d.accept());
    await page.goto(`${t.url}/console/`);
    await page.getByRole('heading', { name: s.login.title }).waitFor();
    await page.getByLabel(s.login.user).fill(user);
    await page.getByLabel(s.login.password).fill('wrong password!');
    await page.getByRole('button', { name: s.login.submit }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').getAttribute('data-code')).toBe('LOGIN_FAILED');
    await shot(page, `${lang}-login-refused`);
    await page.getByLabel(s.login.password).fill(PASSWORD);
    await page.getByRole('button', { name: s.login.submit }).click();
    await page.getByTestId('who').waitFor();
    return page;
  }

  it('an operator enrolls a kiosk by its QR, sees it go offline, approves a refund, reads the audit', async () => {
    const page = await login('ops1');
    expect(await page.getByTestId('who').textContent()).toContain(s.role.operator);
    await page.getByLabel(s.devices.name).fill('Hall 2');
    await page.getByRole('button', { name: s.devices.make }).click();
    await page.getByTestId('enroll-qr').waitFor();
    await page.waitForFunction(() => {
      const img = document.querySelector('[data-testid="enroll-qr"]') as HTMLImageElement | null;
      return Boolean(img && img.complete && img.naturalWidth > 0);
    });
    await shot(page, `${lang}-enroll-code`);
    const shownCode = (await page.getByTestId('enroll-code').textContent())?.trim();
    const scanned = parseEnrollQr(await decodeShownQr(page, dir));
    expect(scanned).toEqual({ hubUrl: t.url, code: shownCode });

    // A real kiosk enrolls with the scanned code and reports its health with its sync.
    kiosk = openKiosk({ dataDir: path.join(dir, 'kiosk') });
    expect((await enroll(kiosk, { hubUrl: scanned!.hubUrl, code: scanned!.code })).ok).toBe(true);
    const deviceId = kiosk.identity.deviceId;
    const engine = new SyncEngine(kiosk, { network: false });
    expect((await engine.pullAll()).ok).toBe(true);
    await engine.reportHealthIfDue();
    const state = page.getByTestId(`state-${deviceId}`);
    await expect.poll(() => state.textContent(), { timeout: 60_000 }).toBe(s.devices.online);
    await shot(page, `${lang}-device-online`);

    // The kiosk stops; once the hub's clock passes OFFLINE_AFTER_S the page shows it offline.
    kiosk.close();
    kiosk = undefined;
    hubClock.advance((OFFLINE_AFTER_S + 1) * 1000);
    await expect.poll(() => state.textContent(), { timeout: 60_000 }).toBe(s.devices.offline);
    await shot(page, `${lang}-device-offline`);

    // Refund approval.
    await page.getByRole('navigation').getByRole('button', { name: s.nav.refunds }).click();
    const approve = page.getByRole('button', { name: s.refunds.approve });
    await approve.click();
    await expect.poll(() => approve.count(), { timeout: 60_000 }).toBe(0);
    await page.getByText(s.refunds.states.approved, { exact: true }).first().waitFor();
    const refunds = (await runAdmin(t.hub, 'refund.list', {})) as {
      ok: true;
      value: Record<string, unknown>[];
    };
    expect(refunds.value[0]).toMatchObject({ txnId: REFUND_TXN, approvedBy: 'operator:ops1' });
    await shot(page, `${lang}-refund-approved`);

    // Remove the device from its page.
    await page.getByRole('navigation').getByRole('button', { name: s.nav.devices }).click();
    await page.getByRole('button', { name: s.devices.remove }).click();
    await expect.poll(() => state.count(), { timeout: 60_000 }).toBe(0);
    const devs = (await runAdmin(t.hub, 'device.health', {})) as { ok: true; value: unknown[] };
    expect(devs.value).toHaveLength(0);

    // The audit log shows who did what.
    await page.getByRole('navigation').getByRole('button', { name: s.nav.audit }).click();
    const audit = page.getByRole('table');
    await expect.poll(() => audit.textContent(), { timeout: 60_000 }).toContain('refund.approve');
    const text = (await audit.textContent()) ?? '';
    for (const action of ['device.add', 'device.remove', 'login']) expect(text).toContain(action);
    expect(text).toContain('operator:ops1');
    await shot(page, `${lang}-audit`);
    await page.context().close();
  });

  it('an auditor reads everything and changes nothing, in the page and by direct calls', async () => {
    const page = await login('aud1');
    expect(await page.getByTestId('who').textContent()).toContain(s.role.auditor);
    await page.getByText(s.readOnly).waitFor();
    expect(await page.getByRole('button', { name: s.devices.make }).isDisabled()).toBe(true);
    await shot(page, `${lang}-auditor-devices`);
    await page.getByRole('navigation').getByRole('button', { name: s.nav.refunds }).click();
    expect(await page.getByRole('button', { name: s.refunds.approve }).isDisabled()).toBe(true);
    await shot(page, `${lang}-auditor-refunds`);
    // The same calls made from the page's own session with its CSRF token: refused by the hub.
    const direct = await page.evaluate(async (txnId) => {
      const csrf = ((await (await fetch('/console/api/session')).json()) as { csrf: string }).csrf;
      const post = async (op: string, body: object) => {
        const r = await fetch(`/console/api/op/${op}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
          body: JSON.stringify(body),
        });
        return { status: r.status, code: ((await r.json()) as { error?: { code: string } }).error?.code };
      };
      return [
        await post('device.add', { name: 'x', region: '110000' }),
        await post('refund.approve', { channel: 'alipay', txnId }),
        await post('config.set', { key: 'x', value: '1' }),
        await post('operator.add', { id: 'evil', role: 'admin', password: 'long enough pw' }),
        await post('audit.read', { limit: 5 }),
      ];
    }, REFUND_TXN);
    expect(direct.slice(0, 4)).toEqual(Array(4).fill({ status: 403, code: 'FORBIDDEN' }));
    expect(direct[4]!.status).toBe(200);
    const refunds = (await runAdmin(t.hub, 'refund.list', {})) as {
      ok: true;
      value: Record<string, unknown>[];
    };
    expect(refunds.value[0]!.approvedBy).toBeNull();
    expect(((await runAdmin(t.hub, 'operator.list', {})) as { value: unknown[] }).value).toHaveLength(2);
    await page.getByRole('navigation').getByRole('button', { name: s.nav.audit }).click();
    await expect
      .poll(() => page.getByRole('table').textContent(), { timeout: 60_000 })
      .toContain('refund.approve');
    await shot(page, `${lang}-auditor-audit`);
    await page.context().close();
  });
});

describe('console login, session, CSRF and Origin rules', () => {
  let t: TestHub;
  beforeEach(async () => {
    t = await startServiceHub('pglite');
    expect(
      (await runAdmin(t.hub, 'operator.add', { id: 'ops1', role: 'operator', password: PASSWORD })).ok,
    ).toBe(true);
  });
  afterEach(async () => {
    await t.close();
  });

  it('refuses without a session, without the CSRF token and from another Origin', async () => {
    const post = (p: string, headers: Record<string, string>, body: object = {}) =>
      fetch(`${t.url}/console/api/${p}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
    expect((await post('login', {}, { id: 'ops1', password: 'not the password' })).status).toBe(401);
    expect((await post('login', {}, { id: 'nobody', password: PASSWORD })).status).toBe(401);
    expect((await post('op/device.add', {}, { name: 'x' })).status).toBe(401);
    const login = await post('login', {}, { id: 'ops1', password: PASSWORD });
    expect(login.status).toBe(200);
    const setCookie = login.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    const cookie = setCookie.split(';')[0]!;
    const { csrf } = (await login.json()) as { csrf: string };
    // Enrollment codes made so far (each device.add that ran is in the audit log).
    const count = async () =>
      Number(
        (await t.db.query("SELECT count(*)::int AS n FROM audit_log WHERE action = 'device.add' AND ok"))
          .rows[0]!.n,
      );
    const noToken = await post('op/device.add', { cookie }, { name: 'x', region: '110000' });
    expect(noToken.status).toBe(403);
    expect(((await noToken.json()) as { error: { code: string } }).error.code).toBe('CSRF');
    const badToken = await post('op/device.add', { cookie, 'x-csrf-token': 'x' + csrf }, { name: 'x' });
    expect(badToken.status).toBe(403);
    const otherOrigin = await post(
      'op/device.add',
      { cookie, 'x-csrf-token': csrf, origin: 'http://evil.example' },
      { name: 'x', region: '110000' },
    );
    expect(otherOrigin.status).toBe(403);
    expect(((await otherOrigin.json()) as { error: { code: string } }).error.code).toBe('CSRF');
    expect(await count()).toBe(0);
    // An operator may not manage accounts or keys.
    const admin = await post(
      'op/operator.add',
      { cookie, 'x-csrf-token': csrf },
      {
        id: 'evil',
        role: 'admin',
        password: 'long enough pw',
      },
    );
    expect(admin.status).toBe(403);
    const good = await post(
      'op/device.add',
      { cookie, 'x-csrf-token': csrf, origin: t.url },
      {
        name: 'x',
        region: '110000',
      },
    );
    expect(good.status).toBe(200);
    expect(await count()).toBe(1);
    const out = await post('logout', { cookie, 'x-csrf-token': csrf });
    expect(out.status).toBe(200);
    expect((await post('op/device.add', { cookie, 'x-csrf-token': csrf }, { name: 'y' })).status).toBe(401);
    const audit = await t.db.query<{ action: string; ok: boolean }>(
      'SELECT action, ok FROM audit_log ORDER BY id',
    );
    expect(audit.rows.filter((r) => r.action === 'csrf.refused')).toHaveLength(3);
  });
});
