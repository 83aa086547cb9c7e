// The channel simulator's control surface: the key-revealing config exists only in the demo and says so,
// and its /sim/ routes answer only requests addressed to it from its own pages (Host and Origin).
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { ChannelSimulator } from '../../hub/channels/simulator.ts';

let sim: ChannelSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

function request(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method, path, headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('channel simulator control surface', () => {
  it('serves no key-revealing config outside the demo', async () => {
    sim = new ChannelSimulator();
    const base = await sim.start(0);
    expect((await request(base, 'GET', '/sim/api/config')).status).toBe(404);
  });

  it('in the demo, the config says it is demo-only', async () => {
    sim = new ChannelSimulator({ demo: true });
    const base = await sim.start(0);
    const r = await request(base, 'GET', '/sim/api/config');
    expect(r.status).toBe(200);
    const j = JSON.parse(r.body) as { demoOnly: boolean; note: string; noteZh: string };
    expect(j.demoOnly).toBe(true);
    expect(j.note).toMatch(/^DEMO ONLY/);
    expect(j.noteZh).toMatch(/^仅用于演示/);
  });

  it('refuses a foreign Host or Origin on its control routes, and lets its own pages through', async () => {
    sim = new ChannelSimulator({ demo: true });
    const base = await sim.start(0);
    const own = new URL(base).host;
    const action = '/sim/api/orders/alipay/NOSUCHORDER/pay';
    expect((await request(base, 'POST', action, { host: 'evil.example' })).status).toBe(403);
    expect(
      (await request(base, 'POST', action, { host: `rebound.example:${new URL(base).port}` })).status,
    ).toBe(403);
    expect((await request(base, 'POST', action, { origin: 'http://evil.example' })).status).toBe(403);
    expect((await request(base, 'GET', '/sim/api/config', { origin: 'http://localhost:1' })).status).toBe(
      403,
    );
    expect((await request(base, 'POST', '/sim/api/deliver-held', { origin: 'null' })).status).toBe(403);
    // Its own page's form (same origin) and a tool without a browser (no Origin) get through.
    expect((await request(base, 'POST', action, { origin: `http://${own}` })).status).toBe(404);
    expect((await request(base, 'POST', action)).status).toBe(404);
  });
});
