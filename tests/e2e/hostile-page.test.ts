// A web page on another origin, open in Chromium on the same machine, throws requests at the kiosk's
// loopback server (`<img>` and `fetch` with paths URL parsing refuses, API calls without the cookie): the
// kiosk refuses them and keeps answering its own screen.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureRenderer, launchBrowser, startTestKiosk, type TestKiosk } from './helpers.ts';

let kiosk: TestKiosk;
let browser: Browser;
let evil: http.Server;
let evilOrigin: string;

beforeAll(async () => {
  ensureRenderer();
  kiosk = await startTestKiosk();
  browser = await launchBrowser();
  const target = `http://127.0.0.1:${kiosk.ui.server.port}`;
  const page = `<!doctype html><title>elsewhere</title><body>
<script>
const T = ${JSON.stringify(target)};
const paths = ['//%2f', '/%', '//%2f/x', '/%zz', '//evil.example/', '/' + 'a'.repeat(9000), '/?t=%', '/api/status'];
window.done = (async () => {
  const imgs = paths.map((p) => new Promise((r) => { const i = new Image(); i.onload = i.onerror = r; i.src = T + p; document.body.append(i); }));
  const fetches = paths.flatMap((p) => [
    fetch(T + p, { mode: 'no-cors' }).catch(() => null),
    fetch(T + p, { method: 'POST', mode: 'no-cors', body: '{}' }).catch(() => null),
  ]);
  const api = fetch(T + '/api/staffLogin', { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ pin: '0000' }) }).catch(() => null);
  await Promise.all([...imgs, ...fetches, api]);
  return 'sent';
})();
</script></body>`;
  evil = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(page);
  });
  await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
  // "localhost" is another origin than the kiosk's 127.0.0.1 (and another site by its Host header).
  evilOrigin = `http://localhost:${(evil.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  await browser?.close();
  await new Promise((r) => evil?.close(r));
  await kiosk?.stop();
});

describe('a hostile page in the same browser', () => {
  it('cannot stop the kiosk with <img> and fetch', async () => {
    const ctx = await browser.newContext();
    const attacker = await ctx.newPage();
    await attacker.goto(evilOrigin);
    expect(await attacker.evaluate(() => (window as unknown as { done: Promise<string> }).done)).toBe('sent');

    // The kiosk's own screen still opens and its API still answers.
    const own = await ctx.newPage();
    await own.goto(kiosk.ui.server.launchUrl);
    const status = await own.evaluate(async () => {
      const r = await fetch('/api/status', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      return r.status;
    });
    expect(status).toBe(200);
    // No staff login was attempted from the other page (no cookie, foreign Origin).
    const login = await own.evaluate(async () => {
      const r = await fetch('/api/staffLogin', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ pin: '0000' }),
      });
      return ((await r.json()) as { error?: { code: string } }).error?.code;
    });
    expect(login).toBe('PIN_WRONG');
    await ctx.close();
  });
});
