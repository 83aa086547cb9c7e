// One process per PGlite folder, with real processes: an operator command started while `hub serve` is
// still starting waits for its admin endpoint (or says the hub is starting) instead of opening the
// folder too; a second `hub serve` is refused; a damaged folder is named as such. A lock whose writer no
// longer runs (its pid reused, PID 1 of a restarted container) is taken over, and `hub unlock` clears one.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireDirLock, bootId, LOCK_FILE, processStart } from '../../hub/storage-lock.ts';
import { main } from '../../main/cli.ts';

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

describe('a lock left by a process that is gone', () => {
  const dirs: string[] = [];
  const fresh = (): string => {
    const d = mkdtempSync(path.join(os.tmpdir(), 'fk-stalelock-'));
    dirs.push(d);
    return d;
  };
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) c.kill('SIGKILL');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  /** A process that is not a hub, running under a pid a lock file names. */
  async function bystander(): Promise<number> {
    const c = spawn('sleep', ['600'], { stdio: 'ignore' });
    children.push(c);
    await new Promise((r) => c.once('spawn', r));
    return c.pid!;
  }
  const lockAt = (dir: string, line: string): void => writeFileSync(path.join(dir, LOCK_FILE), line);
  async function cli(args: string[]): Promise<{ code: number; json: Record<string, unknown> }> {
    let out = '';
    const code = await main([...args, '--json'], {
      stdout: (t) => void (out += t),
      stderr: () => undefined,
      env: { DATABASE_URL: '' },
    });
    return { code, json: JSON.parse(out) as Record<string, unknown> };
  }

  it('naming our own pid (PID 1 of a restarted container is the new hub): taken over', () => {
    const dir = fresh();
    lockAt(dir, `${process.pid} serve ${bootId() ?? '-'} 1`);
    const l = acquireDirLock(dir, 'serve');
    expect(l.ok).toBe(true);
    // While this process holds it, it is held, for this process too.
    const again = acquireDirLock(dir, 'command');
    expect(!again.ok && again.error.code).toBe('HUB_DATA_LOCKED');
    if (l.ok) l.value.release();
    expect(existsSync(path.join(dir, LOCK_FILE))).toBe(false);
    // A lock of the old format ("PID KIND") naming our pid is no one's either.
    lockAt(dir, `${process.pid} serve`);
    const old = acquireDirLock(dir, 'command');
    expect(old.ok).toBe(true);
    if (old.ok) old.value.release();
  });

  it.skipIf(!processStart(process.pid))(
    'naming a pid another process took since (other start time, other boot): taken over; the real owner: refused with the way out',
    async () => {
      const dir = fresh();
      const pid = await bystander();
      const start = processStart(pid)!;
      lockAt(dir, `${pid} serve ${bootId()} ${Number(start) - 1}`);
      const reused = acquireDirLock(dir, 'serve');
      expect(reused.ok).toBe(true);
      if (reused.ok) reused.value.release();
      lockAt(dir, `${pid} serve 00000000-0000-0000-0000-000000000000 ${start}`);
      const rebooted = acquireDirLock(dir, 'serve');
      expect(rebooted.ok).toBe(true);
      if (rebooted.ok) rebooted.value.release();

      lockAt(dir, `${pid} serve ${bootId()} ${start}`);
      const live = acquireDirLock(dir, 'serve');
      expect(!live.ok && live.error.code).toBe('HUB_DATA_LOCKED');
      if (!live.ok) {
        expect(live.error.message).toContain('finekiosk hub unlock');
        expect(live.error.messageZh).toContain('finekiosk hub unlock');
        expect(live.error.details).toMatchObject({ pid, kind: 'serve' });
      }
      const refused = await cli(['hub', 'unlock', '--hub-data', dir]);
      expect(refused.code).toBe(3);
      expect((refused.json.error as { code: string }).code).toBe('HUB_DATA_LOCKED');
      const forced = await cli(['hub', 'unlock', '--force', '--hub-data', dir]);
      expect(forced.code).toBe(0);
      expect(forced.json).toMatchObject({ removed: true, wasLive: true });
      expect(existsSync(path.join(dir, LOCK_FILE))).toBe(false);
    },
  );

  it.skipIf(!processStart(process.pid))(
    'an operator command opens the folder at once past a stale lock, never "held forever"',
    async () => {
      const dir = fresh();
      const pid = await bystander();
      lockAt(dir, `${pid} serve ${bootId()} ${Number(processStart(pid)) + 7}`);
      const stale = await cli(['hub', 'unlock', '--hub-data', dir]);
      expect(stale.json).toMatchObject({ removed: true, wasLive: false });
      lockAt(dir, `${pid} serve ${bootId()} ${Number(processStart(pid)) + 7}`);
      const list = await cli(['hub', 'device', 'list', '--hub-data', dir]);
      expect(list.code).toBe(0);
      expect(list.json).toEqual([]);
      expect(existsSync(path.join(dir, LOCK_FILE))).toBe(false);
    },
    120_000,
  );
});
