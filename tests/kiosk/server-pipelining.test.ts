// Pipelined GETs of a static file on one raw socket, never read. Each request opens its file at
// once (stat + createReadStream in main/server.ts serveStatic), so one client holds an unbounded number
// of file descriptors; in the demo run this reached EMFILE and the whole kiosk process exited (an
// uncaught EMFILE from os.networkInterfaces() in main/sync/network.ts's timer).
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ok } from '../../protocol/result.ts';
import { startServer, type UiServer } from '../../main/server.ts';
import { NetworkWatcher } from '../../main/sync/network.ts';
import { onUncaught } from '../../main/process-guard.ts';

let dir: string;
let server: UiServer;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'fk-atk15-'));
  writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>kiosk</title>' + 'x'.repeat(20_000));
  server = await startServer({ staticDir: dir, token: 'T'.repeat(43), call: async () => ok({}) });
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const fds = (): number => readdirSync('/proc/self/fd').length;

describe('pipelining flood (atk15)', () => {
  it('one client that never reads cannot make the server hold thousands of open files', async () => {
    const before = fds();
    const req = `GET /index.html HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n\r\n`;
    const s = net.connect(server.port, '127.0.0.1');
    s.pause(); // never read the answers
    await new Promise<void>((r) => s.once('connect', () => r()));
    for (let i = 0; i < 20; i++) s.write(req.repeat(500));
    let peak = 0;
    for (let i = 0; i < 30; i++) {
      await new Promise((r) => setTimeout(r, 100));
      peak = Math.max(peak, fds() - before);
    }
    s.destroy();
    // A well-behaved server answers pipelined requests one at a time (a handful of fds at most).
    expect(peak).toBeLessThan(100);
    // And it still serves a well-behaved client afterwards.
    const r = await fetch(`http://127.0.0.1:${server.port}/index.html`);
    expect(r.status).toBe(200);
    expect(await r.text()).toContain('<title>kiosk</title>');
  }, 20_000);
});

describe('network watcher under fd exhaustion (atk15)', () => {
  it('a failing address lookup (EMFILE) does not throw out of the timer', () => {
    let calls = 0;
    const reported: unknown[] = [];
    let returned = 0;
    const w = new NetworkWatcher(
      () => returned++,
      () => {
        if (calls++ === 0) return [];
        if (calls === 2) throw Object.assign(new Error('uv_interface_addresses returned EMFILE'), { errno: 24 });
        return ['192.0.2.7'];
      },
      (err) => reported.push(err),
    );
    // check() runs inside setInterval; a throw there is an uncaught exception that ends the process.
    expect(() => w.check()).not.toThrow();
    expect(reported).toHaveLength(1);
    // The next look works again and still sees the network come back.
    expect(w.check()).toBe(true);
    expect(returned).toBe(1);
  });
});

describe('process guard', () => {
  it('logs a transient error thrown in a timer and keeps running; a program fault exits 1', () => {
    const lines: string[] = [];
    const exits: number[] = [];
    const io = { log: (l: string) => lines.push(l), exit: (c: number) => exits.push(c) };
    const emfile = Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' });
    expect(onUncaught('exception', emfile, io)).toBe('continue');
    expect(exits).toEqual([]);
    expect(lines.join('')).toContain('EMFILE');
    expect(onUncaught('exception', new TypeError('x is undefined'), io)).toBe('exit');
    expect(exits).toEqual([1]);
    expect(lines.join('')).toContain('x is undefined');
    expect(onUncaught('rejection', new Error('lost promise'), io)).toBe('continue');
    expect(exits).toEqual([1]);
  });
});
