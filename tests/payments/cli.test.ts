// `finekiosk hub simulate-channels`: runs the simulator, writes a hub channel config that works with it.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { commands } from '../../main/cli/payments.ts';
import { runCli } from '../../main/cli/framework.ts';
import { loadPayConfig, buildAdapters } from '../../hub/pay/config.ts';
import { payPluginsFromEnv } from '../../hub/pay/index.ts';
import { openHubDb } from '../../hub/db.ts';
import { pgliteDir } from '../../hub/server.ts';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('serves both protocols and writes a config the adapters can use', async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'fk-simcli-'));
  const file = path.join(dir, 'channels.json');
  let stop!: () => void;
  const stopSignal = new Promise<void>((r) => (stop = r));
  let err = '';
  let out = '';
  const done = runCli(
    commands,
    [
      'hub',
      'simulate-channels',
      '--port',
      '0',
      '--config-out',
      file,
      '--hub-base',
      'https://hub.example.cn',
      '--json',
    ],
    { stdout: (t) => (out += t), stderr: (t) => (err += t), env: {}, stopSignal },
  );
  for (let i = 0; i < 200 && !err.includes('config written'); i++)
    await new Promise((r) => setTimeout(r, 20));
  expect(err).toContain('channel simulator on http://127.0.0.1:');
  expect(statSync(file).mode & 0o777).toBe(0o600);
  const cfg = loadPayConfig(file);
  if (!cfg.ok) throw new Error(cfg.error.message);
  expect(cfg.value.publicBase).toBe('https://hub.example.cn');
  const adapters = buildAdapters(cfg.value);
  const created = await adapters.wechat!.createOrder({
    outTradeNo: 'BCLI-1-W0000',
    amountFen: 100,
    subject: 'x',
    expiresAt: Math.floor(Date.now() / 1000) + 600,
  });
  expect(created.ok).toBe(true);
  const q = await adapters.alipay!.query('BCLI-NONE');
  expect(q.ok && q.value.status).toBe('notfound');
  stop();
  expect(await done).toBe(0);
  expect(JSON.parse(out)).toMatchObject({ config: file });
  expect(JSON.parse(readFileSync(file, 'utf8')).wechat.notifyUrl).toBeUndefined();
});

it('refuses a bad port', async () => {
  let out = '';
  const code = await runCli(commands, ['hub', 'simulate-channels', '--port', '99999', '--json'], {
    stdout: (t) => (out += t),
    stderr: () => undefined,
    env: {},
    stopSignal: Promise.resolve(),
  });
  expect(code).toBe(2);
  expect(JSON.parse(out).error.code).toBe('MALFORMED');
});

it('lists payments flagged for refund from the hub storage', async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'fk-refcli-'));
  const db = await openHubDb({ dataDir: pgliteDir(dir), listen: false });
  await db.query(
    `INSERT INTO pay_refunds (channel, txn_id, bill_no, out_trade_no, amount_fen, reason, created_at)
     VALUES ('alipay', '2026112122001000000000000001', 'BK1-1', 'BK1-1-A0000', 20000, 'bill already paid by another transaction', 1)`,
  );
  await db.close();
  let out = '';
  const io = {
    stdout: (t: string) => (out += t),
    stderr: () => undefined,
    env: {},
    stopSignal: Promise.resolve(),
  };
  expect(await runCli(commands, ['hub', 'pay', 'refunds', '--data', dir, '--json'], io)).toBe(0);
  expect(JSON.parse(out)).toEqual([
    expect.objectContaining({
      channel: 'alipay',
      billNo: 'BK1-1',
      amountFen: 20000,
      txnId: '2026112122001000000000000001',
    }),
  ]);
  const text = commands.find((c) => c.path.join(' ') === 'hub pay refunds')!.text!(JSON.parse(out));
  expect(text).toContain('￥200.00');
});

it('builds the pay plugin from FINEKIOSK_CHANNELS, and refuses a bad file', () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'fk-payenv-'));
  expect(payPluginsFromEnv({})).toEqual({ ok: true, value: [] });
  const bad = path.join(dir, 'bad.json');
  writeFileSync(bad, '{"alipay": {"gateway": "nope"}}');
  const r = payPluginsFromEnv({ FINEKIOSK_CHANNELS: bad });
  expect(!r.ok && r.error.code).toBe('BAD_FILE');
  const good = path.join(dir, 'good.json');
  writeFileSync(good, JSON.stringify({ publicBase: 'https://hub.example.cn' }));
  const g = payPluginsFromEnv({ FINEKIOSK_CHANNELS: good });
  expect(g.ok && g.value.length).toBe(1);
});
