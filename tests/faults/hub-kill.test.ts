// A hub process killed (SIGKILL) while applying a big batch: after restart no event is half-applied —
// every batch is in whole or not at all, the chain verifies, and the kiosk's retry completes it.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN_FILE } from '../../hub/server.ts';
import { STORAGES, TestDevice, type Json } from '../hub/helpers.ts';
import { readFileSync } from 'node:fs';

const here = path.dirname(fileURLToPath(import.meta.url));
const BATCH = 1000;

interface Child {
  proc: ChildProcess;
  url: string;
  code?: string;
}

function startChild(dataDir: string, env: Record<string, string>): Promise<Child> {
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'hub-child.ts'), dataDir], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: proc.stdout! });
    rl.once('line', (line) => {
      const j = JSON.parse(line) as { url: string; code?: string };
      resolve({ proc, url: j.url, ...(j.code ? { code: j.code } : {}) });
    });
    proc.once('exit', (c) => reject(new Error(`hub child exited with ${c}`)));
  });
}

function kill(c: Child): Promise<void> {
  return new Promise((resolve) => {
    c.proc.once('exit', () => resolve());
    c.proc.kill('SIGKILL');
  });
}

async function admin(dataDir: string, op: string): Promise<Json> {
  const a = JSON.parse(readFileSync(path.join(dataDir, ADMIN_FILE), 'utf8')) as {
    port: number;
    secret: string;
  };
  const r = await fetch(`http://127.0.0.1:${a.port}/admin/${op}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-fk-admin': a.secret },
    body: '{}',
  });
  return ((await r.json()) as { value: unknown }).value;
}

describe.each(STORAGES)('hub killed mid-batch (%s)', (storage) => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'fk-hubkill-'));
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const env: Record<string, string> = storage === 'postgres' ? { FK_SCHEMA: schema } : { DATABASE_URL: '' };
  afterAll(async () => {
    rmSync(dataDir, { recursive: true, force: true });
    if (storage === 'postgres') {
      const c = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    }
  });

  it('leaves every batch whole or absent', { timeout: 120_000 }, async () => {
    let child = await startChild(dataDir, { ...env, FK_MAKE_CODE: '1' });
    const dev = new TestDevice('kioskkill1');
    const er = await fetch(`${child.url}/v1/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: child.code, publicKey: dev.publicKeyRaw, deviceId: dev.id }),
    });
    expect(er.status).toBe(200);
    for (let i = 0; i < 5 * BATCH; i++) dev.issueBill(`1100000000${String(i).padStart(8, '0')}`, 20000);

    // How long one batch takes to apply, so the kills land inside the next ones.
    const t0 = Date.now();
    expect((await dev.push(child.url, dev.events.slice(0, BATCH))).json.highestSeq).toBe(BATCH);
    const applyMs = Date.now() - t0;

    let killedMidRequest = 0;
    for (const fraction of [0.3, 0.6, 0.9]) {
      const stats = (await admin(dataDir, 'stats')) as { events: number };
      const from = stats.events;
      let answered = false;
      const p = dev.push(child.url, dev.events.slice(from, from + BATCH)).then(
        () => (answered = true),
        () => undefined,
      );
      await new Promise((r) => setTimeout(r, Math.max(5, applyMs * fraction)));
      await kill(child);
      await p;
      if (!answered) killedMidRequest++;
      child = await startChild(dataDir, env);
      const after = (await admin(dataDir, 'stats')) as { events: number; bills: number };
      const devices = (await admin(dataDir, 'device.list')) as { lastSeq: number }[];
      // All or nothing: the batch is fully there or not at all; every event's bill with it.
      expect([from, from + BATCH]).toContain(after.events);
      expect(after.bills).toBe(after.events);
      expect(devices[0]!.lastSeq).toBe(after.events);
      expect(((await admin(dataDir, 'chains.verify')) as { broken: string[] }).broken).toEqual([]);
    }
    expect(killedMidRequest).toBeGreaterThan(0);

    // The kiosk resends whatever was lost; duplicates are harmless.
    for (let from = 0; from < dev.events.length; from += BATCH) {
      const r = await dev.push(child.url, dev.events.slice(from, from + BATCH));
      expect(r.status).toBe(200);
    }
    const final = (await admin(dataDir, 'stats')) as { events: number; bills: number };
    expect(final).toMatchObject({ events: 5 * BATCH, bills: 5 * BATCH });
    expect(((await admin(dataDir, 'chains.verify')) as { broken: string[] }).broken).toEqual([]);
    await kill(child);
  });
});
