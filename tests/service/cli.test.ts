// `finekiosk hub apikey|operator|audit …` with the hub stopped (storage opened directly) and running
// (the admin endpoint): the same operations as the console, audit-logged as `cli`.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../main/cli.ts';
import { startHub } from '../../hub/server.ts';
import { servicePlugins } from '../../hub/integration/index.ts';

const root = mkdtempSync(path.join(os.tmpdir(), 'fk-svccli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function cli(env: Record<string, string>, ...argv: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await main(argv, {
    stdout: (t) => void (out += t),
    stderr: () => undefined,
    env: { ...process.env, FINEKIOSK_HUB_DATA: root, DATABASE_URL: '', ...env },
    stopSignal: new Promise(() => undefined),
  });
  return { code, out };
}

describe('finekiosk hub apikey, operator, audit', () => {
  it(
    'make, list and revoke a key; the revoked key is refused by the running hub',
    { timeout: 120_000 },
    async () => {
      let r = await cli(
        {},
        'hub',
        'apikey',
        'create',
        '--name',
        'traffic system',
        '--scopes',
        'payments:read',
        '--json',
      );
      expect(r.code).toBe(0);
      const made = JSON.parse(r.out) as { key: string; info: { id: string } };
      r = await cli({}, 'hub', 'apikey', 'create', '--name', 'x', '--scopes', 'root', '--json');
      expect(r.code).toBe(2);
      r = await cli(
        { FINEKIOSK_OPERATOR_PASSWORD: 'correct horse battery' },
        'hub',
        'operator',
        'add',
        'amy',
        '--role',
        'auditor',
      );
      expect(r.code).toBe(0);
      const running = await startHub({
        dataDir: root,
        logger: pino({ level: 'silent' }),
        plugins: servicePlugins({ webhooks: false }),
      });
      try {
        const call = () =>
          fetch(`${running.url}/api/v1/events`, { headers: { authorization: `Bearer ${made.key}` } });
        expect((await call()).status).toBe(200);
        r = await cli({}, 'hub', 'apikey', 'list', '--json');
        const list = JSON.parse(r.out) as { id: string; revokedAt: number | null }[];
        expect(list).toHaveLength(1);
        // The key reads fk_<12 hex id>_<secret>; the secret (base64url, which may itself hold '_') is never listed.
        const secret = made.key.slice('fk_'.length + 12 + 1);
        expect(secret).toHaveLength(43);
        expect(r.out).not.toContain(secret);
        expect((await cli({}, 'hub', 'apikey', 'revoke', made.info.id)).code).toBe(0);
        expect((await call()).status).toBe(401);
        r = await cli({}, 'hub', 'audit', '--json');
        const audit = JSON.parse(r.out) as { actor: string; action: string; ok: boolean }[];
        expect(audit.map((a) => [a.actor, a.action, a.ok])).toEqual([
          ['cli', 'apikey.revoke', true],
          ['cli', 'operator.add', true],
          ['cli', 'apikey.create', true],
        ]);
        expect(r.out).not.toContain('correct horse');
      } finally {
        await running.close();
      }
    },
  );
});
