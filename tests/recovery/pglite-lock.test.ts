// One process per PGlite folder, with real processes: an operator command started while `hub serve` is
// still starting waits for its admin endpoint (or says the hub is starting) instead of opening the
// folder too; a second `hub serve` is refused; a damaged folder is named as such.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, rmSync, writeSync, closeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { LOCK_FILE } from '../../hub/storage-lock.ts';

const bin = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'finekiosk.js');
const root = mkdtempSync(path.join(os.tmpdir(), 'fk-pglock-'));
const env = { ...process.env, DATABASE_URL: '', FINEKIOSK_HUB_DATA: '', FINEKIOSK_DATA: '' };

function run(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('exit', (code) => resolve({ code, out, err }));
  });
}

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('a PGlite folder and its processes', () => {
  it('a command during start-up waits or says the hub is starting; a second hub is refused; the folder survives', async () => {
    const serve = spawn(process.execPath, [bin, 'hub', 'serve', '--port', '0', '--data', root], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let serveErr = '';
    const listening = new Promise<void>((resolve, reject) => {
      serve.stderr.on('data', (d: Buffer) => {
        serveErr += d.toString();
        if (/hub listening/.test(serveErr)) resolve();
      });
      serve.once('exit', (c) => reject(new Error(`hub serve exited with ${c}: ${serveErr}`)));
    });
    const exited = new Promise<number | null>((r) => serve.once('exit', (c) => r(c)));
    try {
      // Right away, while the hub is still starting.
      const add = await run([
        'hub',
        'device',
        'add',
        '--name',
        'Hall',
        '--region',
        '110000',
        '--data',
        root,
        '--json',
      ]);
      expect(add.code === 0 || add.code === 3).toBe(true);
      const added = JSON.parse(add.out) as { code?: string; error?: { code: string } };
      if (add.code === 3) expect(added.error?.code).toBe('HUB_STARTING');
      else expect(added.code).toMatch(/^[A-Z0-9-]+$/);
      await listening;
      expect(existsSync(path.join(root, 'hub', LOCK_FILE))).toBe(true);

      const second = await run(['hub', 'serve', '--port', '0', '--data', root, '--json']);
      expect(second.code).toBe(3);
      expect(JSON.parse(second.out).error.code).toBe('HUB_DATA_LOCKED');

      const list = await run(['hub', 'device', 'list', '--data', root, '--json']);
      expect(list.code).toBe(0);
    } finally {
      serve.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(existsSync(path.join(root, 'hub', LOCK_FILE))).toBe(false);
    // The folder opens again, directly this time (no hub running).
    const after = await run([
      'hub',
      'device',
      'add',
      '--name',
      'Hall 2',
      '--region',
      '110000',
      '--data',
      root,
      '--json',
    ]);
    expect(after.code).toBe(0);
  }, 240_000);

  it('a device without a region takes the hub default, or is refused', async () => {
    const none = await run(['hub', 'device', 'add', '--name', 'Hall 3', '--data', root, '--json']);
    expect(none.code).toBe(2);
    expect(JSON.parse(none.out).error.message).toMatch(/defaultRegion/);
    expect((await run(['hub', 'config', 'set', 'defaultRegion', '"320000"', '--data', root])).code).toBe(0);
    const def = await run(['hub', 'device', 'add', '--name', 'Hall 3', '--data', root, '--json']);
    expect(def.code).toBe(0);
    expect(JSON.parse(def.out).region).toBe('320000');
  }, 120_000);

  it('a damaged folder is named as such, not an unexpected error', async () => {
    const control = path.join(root, 'hub', 'pglite', 'global', 'pg_control');
    expect(existsSync(control)).toBe(true);
    const fd = openSync(control, 'r+');
    writeSync(fd, Buffer.alloc(512, 0xff), 0, 512, 0);
    closeSync(fd);
    const r = await run(['hub', 'device', 'list', '--data', root, '--json']);
    expect(r.code).toBe(3);
    expect(JSON.parse(r.out).error.code).toBe('HUB_DATA_DAMAGED');
  }, 120_000);
});
