// The other HTTP surfaces on a kiosk machine, under the same hostile requests as the kiosk's loopback
// server: the demo hub (sync API and pay pages), the channel simulator and the virtual printer's control.
// After each request every one of them still answers a normal one.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVirtualPrinter, type VirtualPrinter } from '../../printer/virtual/server.ts';
import { startDemoHub, type DemoHub } from '../../main/ui/demo.ts';
import { hostileRequests, raw } from './raw-http.ts';

let dir: string;
let demo: DemoHub;
let printer: VirtualPrinter;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'fk-surfaces-'));
  demo = await startDemoHub({ dataDir: path.join(dir, 'hub'), port: 0, simPort: 0 });
  printer = await startVirtualPrinter({ outDir: path.join(dir, 'printed'), controlPort: 0 });
}, 120_000);

afterAll(async () => {
  await demo?.close();
  await printer?.close();
  rmSync(dir, { recursive: true, force: true });
});

const portOf = (url: string) => Number(new URL(url).port);
const ok = (status: number) =>
  [0, 200, 204, 301, 302, 303, 400, 401, 403, 404, 405, 410, 413, 414, 415, 422, 431].includes(status);

describe('HTTP surfaces beside the kiosk', () => {
  const surfaces = () => [
    {
      name: 'hub',
      port: portOf(demo.url),
      extra: ['/p/%', '/p/b1.%2f', '/p//%2f/status', '/v1/%', '/admin/%'],
      alive: '/healthz',
    },
    {
      name: 'simulator',
      port: portOf(demo.simUrl),
      extra: ['/sim/pay/%/%', '/sim/api/orders/%/x/pay'],
      alive: '/sim/api/orders',
    },
    {
      name: 'virtual printer control',
      port: printer.controlPort!,
      extra: ['/state%', '/state?%'],
      alive: '/state',
    },
  ];

  it('answer or close every hostile request, and keep answering', async () => {
    for (const s of surfaces()) {
      const host = `127.0.0.1:${s.port}`;
      const alive = `GET ${s.alive} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;
      for (const req of hostileRequests(host, s.extra)) {
        const status = await raw(s.port, req);
        expect(ok(status), `${s.name}: ${String(req).slice(0, 50)} → ${status}`).toBe(true);
        expect(await raw(s.port, alive), `${s.name} after ${String(req).slice(0, 50)}`).toBe(200);
      }
    }
  }, 300_000);
});
