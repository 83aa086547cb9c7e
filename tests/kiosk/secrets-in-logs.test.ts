// A full demo run as a service (`finekiosk start` under systemd's environment, the hub logging every
// request): a citizen finds fines by plate, gets a bill, opens the pay page and pays through the channel
// simulator; staff type a wrong PIN and the right one. Everything the process wrote (stdout and stderr,
// the journal's input) holds no token, no PIN and no plate; the pay page's requests are logged by bill
// number.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const PLATE = '沪A12345';
const VIN6 = 'A1B2C3';

let dir: string;
let child: ChildProcess;
let out = '';
const waiters: (() => void)[] = [];

/** Resolves when the process has written a line matching re (on an event, never a timer). */
function waitFor(re: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const m = re.exec(out);
      if (m) resolve(m);
      return Boolean(m);
    };
    if (check()) return;
    const w = () => {
      if (check()) waiters.splice(waiters.indexOf(w), 1);
    };
    waiters.push(w);
    child.once('exit', () => reject(new Error(`exited before ${re}:\n${out}`)));
  });
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}
function request(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
) {
  const u = new URL(url);
  return new Promise<Answer>((resolve, reject) => {
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method: opts.method ?? 'GET',
        headers: opts.headers,
      },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'fk-logs-'));
  child = spawn(process.execPath, [path.join(ROOT, 'bin', 'finekiosk.js'), 'start', '--data', dir], {
    cwd: ROOT,
    env: {
      ...process.env,
      FINEKIOSK_DATA: dir,
      FINEKIOSK_DEMO_HUB: '1',
      FINEKIOSK_DEMO_HUB_PORT: '0',
      FINEKIOSK_DEMO_SIM_PORT: '0',
      FINEKIOSK_UI_PORT: '0',
      FINEKIOSK_BROWSER: '1',
      FINEKIOSK_LOG_LEVEL: 'info',
      INVOCATION_ID: 'test-run',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const take = (c: Buffer) => {
    out += c.toString('utf8');
    for (const w of [...waiters]) w();
  };
  child.stdout!.on('data', take);
  child.stderr!.on('data', take);
}, 60_000);

afterAll(async () => {
  if (child.exitCode === null) {
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('logs of a demo run', () => {
  it('carry no token, PIN or plate', async () => {
    await waitFor(/open it with: .*\n/);
    const hubUrl = (await waitFor(/local hub with the pay page at (http:\/\/[0-9.:]+)/))[1]!;

    // The first-run PIN and the launch URL are in private files, named in the output.
    const pinFile = (await waitFor(/first-run staff PIN written to (\S+)/))[1]!;
    expect(statSync(pinFile).mode & 0o777).toBe(0o600);
    const pin = readFileSync(pinFile, 'utf8').trim();
    expect(pin).toMatch(/^[0-9]{6}$/);
    const launchFile = path.join(dir, 'launch-url');
    expect(statSync(launchFile).mode & 0o777).toBe(0o600);
    const launchUrl = readFileSync(launchFile, 'utf8').trim();
    const launchToken = new URL(launchUrl).searchParams.get('t')!;
    expect(launchToken.length).toBeGreaterThan(20);

    // The screen: the launch URL swaps its token for the session cookie.
    const swap = await request(launchUrl);
    expect(swap.status).toBe(303);
    const cookie = String(swap.headers['set-cookie']).split(';')[0]!;
    const origin = new URL(launchUrl).origin;
    const api = async (method: string, input: unknown) => {
      const r = await request(`${origin}/api/${method}`, {
        method: 'POST',
        headers: { origin, cookie, 'content-type': 'application/json' },
        body: JSON.stringify(input),
      });
      return JSON.parse(r.body) as { ok: boolean; value?: Record<string, unknown>; error?: { code: string } };
    };

    const found = await api('findByPlate', { plate: PLATE, vin6: VIN6 });
    expect(found.ok).toBe(true);
    const fines = found.value as unknown as { decisionNo: string }[];
    const issued = await api('issueBill', { decisionNo: fines[0]!.decisionNo });
    expect(issued.ok).toBe(true);
    const bill = issued.value as { billNo: string; url: string };
    const billToken = bill.url.slice(bill.url.lastIndexOf('/p/') + 3);
    expect(billToken).toMatch(/^b1\./);

    // The phone: the pay page in Alipay, the order paid at the simulated gateway, the paid page.
    const alipay = { 'user-agent': 'Mozilla/5.0 AlipayClient/10.5.0' };
    const payUrl = `${hubUrl}/p/${billToken}`;
    expect((await request(payUrl, { headers: alipay })).status).toBe(200);
    expect((await request(`${payUrl}/status`)).status).toBe(200);
    const simUrl = (await waitFor(/payment channel simulator at (http:\/\/[0-9.:]+)/))[1]!;
    const orders = JSON.parse((await request(`${simUrl}/sim/api/orders`)).body) as {
      channel: string;
      outTradeNo: string;
    }[];
    expect(orders).toHaveLength(1);
    const paid = await request(
      `${simUrl}/sim/api/orders/${orders[0]!.channel}/${orders[0]!.outTradeNo}/pay`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      },
    );
    expect(paid.status).toBe(200);
    const paidPage = await request(payUrl, { headers: alipay });
    const confirmation = /c1\.[A-Za-z0-9._-]+/.exec(paidPage.body)?.[0];
    expect(confirmation).toBeDefined();
    // The kiosk, scanning the phone's confirmation.
    await api('confirmPayment', { token: confirmation, billNo: bill.billNo });

    // Staff: a wrong PIN, then the right one.
    const wrong = pin === '000000' ? '111111' : '000000';
    expect((await api('staffLogin', { pin: wrong })).error?.code).toBe('PIN_WRONG');
    const login = await api('staffLogin', { pin });
    expect(login.ok).toBe(true);
    const session = (login.value as { session: string }).session;
    await api('staffToday', { session });

    // A request whose path URL parsing refuses, with a token in it.
    await request(`${origin}//%2f${billToken}`);

    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));

    // The pay page's requests are in the log, by bill number.
    expect(out).toContain(`/p/b1:${bill.billNo}`);
    const secrets = {
      launchToken,
      session,
      billToken,
      billSignature: billToken.slice(billToken.lastIndexOf('.') + 1),
      confirmation: confirmation!,
      pin,
      plate: PLATE,
      plateWithoutProvince: PLATE.slice(1),
      vin6: VIN6,
    };
    for (const [name, secret] of Object.entries(secrets)) {
      expect(out.includes(secret), `${name} in the log`).toBe(false);
    }
  }, 180_000);
});
