// Operator and kiosk commands: hub commands work with the hub stopped (storage opened directly) and
// running (through the loopback admin endpoint); enroll, sync now and sync status with --json.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../main/cli.ts';
import { ADMIN_FILE, startHub } from '../../hub/server.ts';
import { sampleFine } from './helpers.ts';

const root = mkdtempSync(path.join(os.tmpdir(), 'fk-hubcli-'));
const hubDir = path.join(root, 'hub');
const kioskDir = path.join(root, 'kiosk');
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, {
    stdout: (t) => void (out += t),
    stderr: (t) => void (err += t),
    env: { ...process.env, FINEKIOSK_HUB_DATA: hubDir, DATABASE_URL: '' },
    stopSignal: new Promise(() => undefined),
  });
  return { code, out, err };
}

describe('finekiosk hub and sync commands', () => {
  it('work with the hub stopped and running', { timeout: 60_000 }, async () => {
    // Stopped: the command opens PGlite itself.
    let r = await cli('hub', 'device', 'add', '--name', 'Hall 1', '--region', '110000', '--json');
    expect(r.code).toBe(0);
    const first = JSON.parse(r.out) as { code: string };
    expect(first.code).toMatch(/^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$/);
    r = await cli('hub', 'device', 'add', '--json');
    expect(r.code).toBe(2);

    const running = await startHub({ dataDir: hubDir, logger: pino({ level: 'silent' }) });
    try {
      expect(statSync(path.join(hubDir, ADMIN_FILE)).mode & 0o777).toBe(0o600);
      const file = path.join(root, 'fines.json');
      const { writeFileSync } = await import('node:fs');
      writeFileSync(
        file,
        JSON.stringify([sampleFine('110000000000000001'), sampleFine('110000000000000002')]),
      );
      r = await cli('hub', 'fines', 'import', file, '--json');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.out)).toMatchObject({ received: 2, changed: 2 });
      expect(await running.hub.fines.count()).toBe(2);

      r = await cli('enroll', '--hub', running.url, '--code', first.code, '--data', kioskDir, '--json');
      expect(r.code).toBe(0);
      const enrolled = JSON.parse(r.out) as { deviceId: string };
      // The same code again from the same kiosk (its answer was lost): the same answer, not a refusal.
      r = await cli('enroll', '--hub', running.url, '--code', first.code, '--data', kioskDir, '--json');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.out).deviceId).toBe(enrolled.deviceId);

      r = await cli('sync', 'now', '--data', kioskDir, '--json');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.out)).toMatchObject({ pulled: 2, status: { queued: 0, enrolled: true } });
      r = await cli('sync', 'status', '--data', kioskDir);
      expect(r.out).toMatch(/queued events: 0/);
      expect(r.out).toMatch(/last error: none/);

      // Running: the command goes through the admin endpoint (PGlite admits one process).
      r = await cli('hub', 'device', 'list', '--json');
      expect(r.code).toBe(0);
      expect((JSON.parse(r.out) as { id: string }[]).map((d) => d.id)).toEqual([enrolled.deviceId]);
      r = await cli('hub', 'device', 'disable', enrolled.deviceId, '--json');
      expect(r.code).toBe(0);
      expect((await running.hub.devices.get(enrolled.deviceId))?.enabled).toBe(false);
      r = await cli('sync', 'now', '--data', kioskDir, '--json');
      expect(r.code).toBe(3);
      expect(JSON.parse(r.out).error.code).toBe('DEVICE_DISABLED');
      r = await cli('sync', 'status', '--data', kioskDir, '--json');
      expect(JSON.parse(r.out).lastError.code).toBe('DEVICE_DISABLED');
    } finally {
      await running.close();
    }
    // Stopped again: the admin file is gone and the command reads the storage directly.
    r = await cli('hub', 'device', 'list');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/DISABLED/);
  });
});

describe('finekiosk hub serve', () => {
  it(
    'serves the pay page when given the payment channel config, and says so',
    { timeout: 60_000 },
    async () => {
      const { ChannelSimulator } = await import('../../hub/channels/simulator.ts');
      const { writeFileSync } = await import('node:fs');
      const sim = new ChannelSimulator();
      await sim.start(0);
      const cfg = path.join(root, 'channels.json');
      writeFileSync(cfg, JSON.stringify({ ...sim.hubConfig(), publicBase: 'https://hub.example.cn' }), { mode: 0o600 });
      let stop!: () => void;
      let err = '';
      const serving = main(
        ['hub', 'serve', '--port', '0', '--data', path.join(root, 'hub2'), '--channels', cfg],
        {
          stdout: () => undefined,
          stderr: (t) => void (err += t),
          env: { ...process.env, DATABASE_URL: '' },
          stopSignal: new Promise<void>((r) => (stop = r)),
        },
      );
      try {
        for (let i = 0; i < 300 && !/pay page at/.test(err); i++) await new Promise((r) => setTimeout(r, 50));
        const url = /pay page at (http:\/\/[^/\s]+)/.exec(err)?.[1];
        expect(url).toBeDefined();
        // A bill code that is not one gets the pay page's own refusal, not a missing route.
        const res = await fetch(`${url}/p/not-a-bill`);
        expect(res.status).toBe(404);
        expect(res.headers.get('content-type')).toMatch(/text\/html/);
        expect(await res.text()).toMatch(/not a bill code/);
      } finally {
        stop();
        expect(await serving).toBe(0);
        await sim.close();
      }
    },
  );
});
