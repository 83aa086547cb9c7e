// The loopback API's defences and its happy path, over real HTTP on an ephemeral port.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openKiosk, type Kiosk } from '../../main/kiosk.ts';
import { prepareKiosk } from '../../main/start.ts';
import { MemoryPrinter, startUi, type Ui } from '../../main/ui/backend.ts';
import { ManualClock } from '../../protocol/time.ts';

let dir: string;
let kiosk: Kiosk;
let ui: Ui;
let cookie: string;
const printer = new MemoryPrinter();
const clock = new ManualClock(Date.parse('2026-11-21T02:00:00Z'));

/** Raw request, so Host and Origin can be anything. */
function request(
  method: string,
  pathname: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: ui.server.port, method, path: pathname, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const own = () => ({
  host: `127.0.0.1:${ui.server.port}`,
  origin: `http://127.0.0.1:${ui.server.port}`,
  'content-type': 'application/json',
  cookie,
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- test reads arbitrary JSON answers
type Json = any;

async function callApi(method: string, input: unknown, headers = own()) {
  const r = await request('POST', `/api/${method}`, headers, JSON.stringify(input));
  return { status: r.status, json: JSON.parse(r.body) as { ok: boolean; value?: Json; error?: Json } };
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'fk-ui-'));
  const dist = path.join(dir, 'dist');
  mkdirSync(dist);
  writeFileSync(path.join(dist, 'index.html'), '<!doctype html><title>t</title>');
  const p = prepareKiosk({
    dataDir: path.join(dir, 'data'),
    clock,
    io: { stdout() {}, stderr() {}, stopSignal: new Promise(() => {}) },
  });
  kiosk = p.kiosk;
  ui = await startUi({ kiosk, printer, staticDir: dist, pinCost: { N: 1024, r: 8, p: 1 } });
  const r = await request('GET', `/?t=${ui.server.token}`, { host: `127.0.0.1:${ui.server.port}` });
  expect(r.status).toBe(303);
  expect(r.headers['set-cookie']?.[0]).toMatch(/HttpOnly; SameSite=Strict/);
  cookie = r.headers['set-cookie']![0]!.split(';')[0]!;
});

afterAll(async () => {
  await ui.close();
  kiosk.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('loopback API security', () => {
  it('listens on 127.0.0.1 only', () => {
    expect(ui.server.origin).toBe(`http://127.0.0.1:${ui.server.port}/`);
  });

  it('refuses a request without the token, or with a wrong one', async () => {
    const { cookie: _c, ...noCookie } = own();
    expect((await callApi('status', {}, noCookie as ReturnType<typeof own>)).status).toBe(401);
    expect((await callApi('status', {}, { ...own(), cookie: 'fk_session=nope' })).status).toBe(401);
    // A stale launch URL gets no cookie, and is sent to the page that says how to open the kiosk.
    const bad = await request('GET', '/?t=wrong', { host: `127.0.0.1:${ui.server.port}` });
    expect(bad.status).toBe(303);
    expect(bad.headers.location).toBe('/#no-session');
    expect(bad.headers['set-cookie']).toBeUndefined();
  });

  it('refuses a foreign Origin, and a missing one', async () => {
    const r = await callApi('status', {}, { ...own(), origin: 'http://evil.example' });
    expect(r.status).toBe(403);
    expect(r.json.error.code).toBe('UNAUTHORIZED');
    const { origin: _o, ...noOrigin } = own();
    expect((await callApi('status', {}, noOrigin as ReturnType<typeof own>)).status).toBe(403);
    expect(
      (await callApi('status', {}, { ...own(), origin: `http://127.0.0.1:${ui.server.port + 1}` })).status,
    ).toBe(403);
  });

  it('refuses a foreign Host (DNS rebinding), for the API and the page', async () => {
    expect((await callApi('status', {}, { ...own(), host: `evil.example:${ui.server.port}` })).status).toBe(
      403,
    );
    expect((await request('GET', '/', { host: 'evil.example' })).status).toBe(403);
    expect(
      (
        await callApi(
          'status',
          {},
          { ...own(), host: `localhost:${ui.server.port}`, origin: `http://localhost:${ui.server.port}` },
        )
      ).status,
    ).toBe(200);
  });

  it('refuses malformed input with MALFORMED in both languages and changes nothing', async () => {
    const before = kiosk.outbox.list(0, 1000).length;
    for (const input of [
      { decisionNo: 'abc;drop' },
      { decisionNo: 12 },
      {},
      { decisionNo: '3101012026003040', extra: 1 },
      null,
    ]) {
      const r = await callApi('issueBill', input);
      expect(r.status).toBe(400);
      expect(r.json.error.code).toBe('MALFORMED');
      expect(r.json.error.messageZh).toContain('输入格式错误');
    }
    const notJson = await request('POST', '/api/issueBill', own(), '{nope');
    expect(notJson.status).toBe(400);
    const wrongType = await request('POST', '/api/status', { ...own(), 'content-type': 'text/plain' }, '{}');
    expect(wrongType.status).toBe(415);
    const huge = await request(
      'POST',
      '/api/findByScan',
      own(),
      JSON.stringify({ code: 'x'.repeat(100_000) }),
    );
    expect([413, 400]).toContain(huge.status);
    expect((await callApi('noSuchMethod', {})).status).toBe(404);
    expect((await request('GET', '/api/status', own())).status).toBe(405);
    expect(kiosk.outbox.list(0, 1000).length).toBe(before);
  });

  it('serves the page with a strict CSP and no path escape', async () => {
    const r = await request('GET', '/', { host: `127.0.0.1:${ui.server.port}` });
    expect(r.status).toBe(200);
    expect(r.headers['content-security-policy']).toContain("default-src 'self'");
    expect(r.headers['content-security-policy']).toContain("script-src 'self'");
    const esc = await request('GET', '/..%2f..%2fdata/device.key', { host: `127.0.0.1:${ui.server.port}` });
    expect(esc.status).toBe(404);
  });
});

describe('API behaviour', () => {
  it('finds a fine masked, issues and prints a bill, refuses expected failures as Results', async () => {
    const f = await callApi('findByDecisionNo', { decisionNo: '3101012026003040' });
    expect(f.json.ok).toBe(true);
    expect(f.json.value.plateMasked).toBe('沪A***45');
    expect(JSON.stringify(f.json.value)).not.toContain('A1B2C3');
    const missing = await callApi('findByDecisionNo', { decisionNo: '3101012026999999' });
    expect(missing.status).toBe(200);
    expect(missing.json).toMatchObject({
      ok: false,
      error: { code: 'FINE_NOT_FOUND', messageZh: expect.any(String) },
    });
    const byPlate = await callApi('findByPlate', { plate: '沪A12345', vin6: 'a1b2c3' });
    expect(byPlate.json.value).toHaveLength(2);
    const scanned = await callApi('findByScan', { code: 'https://notice.example/d/3101012026008846' });
    expect(scanned.json.value.decisionNo).toBe('3101012026008846');

    const b = await callApi('issueBill', { decisionNo: '3101012026003040' });
    expect(b.json.ok).toBe(true);
    expect(b.json.value.qrDataUrl).toMatch(/^data:image\/svg\+xml;base64,/);
    printer.state = 'paper-end';
    const p1 = await callApi('printBill', { billNo: b.json.value.billNo });
    expect(p1.json).toMatchObject({ ok: false, error: { code: 'PRINTER_PAPER_END' } });
    printer.state = 'ok';
    const p2 = await callApi('printBill', { billNo: b.json.value.billNo });
    expect(p2.json.ok).toBe(true);
    expect(printer.jobs.at(-1)).toMatchObject({ kind: 'bill', bill: { billNo: b.json.value.billNo } });
    const wrong = await callApi('confirmPayment', {
      billNo: b.json.value.billNo,
      token: `c1.OTHER-1.100.alipay.T1.1.k1.${'A'.repeat(86)}`,
    });
    expect(wrong.json.error.code).toBe('WRONG_BILL');
    const bad = await callApi('confirmPayment', { billNo: b.json.value.billNo, token: 'c1.garbage' });
    expect(bad.json.error.code).toBe('MALFORMED');
    expect(bad.status).toBe(200);
  });

  it('staff: login, lockout is enforced by the server, session required', async () => {
    const s = await ui.staff.add('王芳', '135790');
    expect(s.ok).toBe(true);
    expect((await callApi('staffToday', { session: 'x'.repeat(32) })).json.error.code).toBe('UNAUTHORIZED');
    const login = await callApi('staffLogin', { pin: '135790' });
    expect(login.json.ok).toBe(true);
    const today = await callApi('staffToday', { session: login.json.value.session });
    expect(today.json.value.bills.length).toBeGreaterThan(0);
    const report = await callApi('staffShiftReport', { session: login.json.value.session });
    expect(report.json.value.report.totals.issued.count).toBeGreaterThan(0);
    expect(printer.jobs.at(-1)?.kind).toBe('shift');
  });
});

// keep the import used when the test list is filtered
void openKiosk;
