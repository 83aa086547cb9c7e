import { execFileSync, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../db/connection.ts';
import { main } from '../../main/cli.ts';
import { openKiosk } from '../../main/kiosk.ts';
import { SAMPLE_FINES } from '../../main/start.ts';
import { generateKeyPair, publicKeyToRaw } from '../../protocol/signing.ts';
import { makeConfirmationToken } from '../../protocol/tokens.ts';
import { tempDir } from './helpers.ts';

let dir: string;
beforeEach(() => {
  dir = tempDir();
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  code: number;
  out: string;
  err: string;
  json: () => Record<string, unknown>;
}

async function run(...argv: string[]): Promise<Run> {
  let out = '';
  let err = '';
  const code = await main([...argv, '--data', dir], {
    stdout: (t) => void (out += t),
    stderr: (t) => void (err += t),
    env: {},
    stopSignal: Promise.resolve(),
  });
  return { code, out, err, json: () => JSON.parse(out) as Record<string, unknown> };
}

const OVERDUE = '3101012026005943';

describe('finekiosk CLI (in process)', () => {
  it('imports, finds, issues, shows, confirms and verifies, with --json documents', async () => {
    expect((await run('fines', 'import', SAMPLE_FINES, '--json')).json()).toEqual({
      imported: 20,
      updated: 0,
    });
    const found = await run('fines', 'find', OVERDUE, '--json');
    expect(found.code).toBe(0);
    expect(found.json()).toMatchObject({ decisionNo: OVERDUE, fineFen: 15000 });
    const byPlate = await run('fines', 'find', '--plate', '沪A12345', '--vin6', 'A1B2C3', '--json');
    expect(JSON.parse(byPlate.out)).toHaveLength(2);

    const issued = await run('bill', 'issue', OVERDUE, '--json');
    expect(issued.code).toBe(0);
    const bill = issued.json();
    for (const k of [
      'billNo',
      'decisionNo',
      'fineFen',
      'lateFeeFen',
      'amountFen',
      'issuedAt',
      'expiresAt',
      'token',
      'url',
    ]) {
      expect(bill, k).toHaveProperty(k);
    }
    expect((bill.expiresAt as number) - (bill.issuedAt as number)).toBe(14_400);
    expect(bill.amountFen).toBe((bill.fineFen as number) + (bill.lateFeeFen as number));

    const shown = await run('bill', 'show', bill.billNo as string, '--json');
    expect(shown.json()).toMatchObject({ billNo: bill.billNo, status: 'live' });

    const hub = generateKeyPair();
    const trusted = await run(
      'hub',
      'trust',
      '--key-id',
      'hub1',
      '--public-key',
      publicKeyToRaw(hub.publicKey),
      '--json',
    );
    expect(trusted.code).toBe(0);
    const token = makeConfirmationToken(
      {
        billNo: bill.billNo as string,
        amountFen: bill.amountFen as number,
        channel: 'wechat',
        txnId: '4200001234202611210000',
        paidAt: (bill.issuedAt as number) + 60,
        keyId: 'hub1',
      },
      hub.privateKey,
    );
    const paid = await run('pay', 'confirm', token, '--json');
    expect(paid.code).toBe(0);
    expect(paid.json()).toMatchObject({ billNo: bill.billNo, status: 'paid' });
    const again = await run('pay', 'confirm', token, '--json');
    expect(again.code).toBe(3);
    expect(again.json()).toMatchObject({ error: { code: 'ALREADY_USED' } });

    const log = await run('log', 'verify', '--json');
    expect(log.json()).toEqual({ events: 3, ok: true });
    const dev = await run('device', 'show', '--json');
    expect(dev.json()).toEqual({
      deviceId: expect.stringMatching(/^[a-z2-7]{12}$/),
      publicKey: expect.any(String),
    });
  });

  it('exits 2 with MALFORMED for bad input, 3 for a rule, with {"error":{code,message}}', async () => {
    await run('fines', 'import', SAMPLE_FINES);
    const cases: [string[], number, string][] = [
      [['bill', 'issue', '12x'], 2, 'MALFORMED'],
      [['bill', 'issue'], 2, 'MALFORMED'],
      [['bill', 'show', 'not a bill'], 2, 'MALFORMED'],
      [['pay', 'confirm', 'c1.x.y'], 2, 'MALFORMED'],
      [['fines', 'find', OVERDUE, '--plate', 'x'], 2, 'MALFORMED'],
      [['fines', 'find', '--plate', '沪A12345'], 2, 'MALFORMED'],
      [['hub', 'trust', '--key-id', 'hub1', '--public-key', 'nope'], 2, 'MALFORMED'],
      [['hub', 'trust', '--key-id', 'hub1'], 2, 'MALFORMED'],
      [['fines', 'import', path.join(dir, 'missing.json')], 2, 'BAD_FILE'],
      [['bill', 'frobnicate'], 2, 'MALFORMED'],
      [['bill', 'issue', OVERDUE, '--bogus'], 2, 'MALFORMED'],
      [['bill', 'issue', '1101052026008846'], 3, 'FINE_NOT_PAYABLE'],
      [['bill', 'issue', '999999999999999'], 3, 'FINE_NOT_FOUND'],
      [['bill', 'show', 'NOPE-1'], 3, 'BILL_NOT_FOUND'],
      [['bill', 'void', 'NOPE-1'], 3, 'BILL_NOT_FOUND'],
      [['settings', 'set', 'decisionPattern', '(unclosed'], 2, 'MALFORMED'],
    ];
    for (const [argv, code, errCode] of cases) {
      const r = await run(...argv, '--json');
      expect(r.code, argv.join(' ')).toBe(code);
      expect(r.json(), argv.join(' ')).toEqual({
        error: expect.objectContaining({
          code: errCode,
          message: expect.any(String),
          messageZh: expect.any(String),
        }),
      });
    }
    expect((await run('log', 'verify', '--json')).json()).toEqual({ events: 1, ok: true });
  });

  it('refuses a database written by a newer version with SCHEMA_TOO_NEW, keeping its data', async () => {
    await run('fines', 'import', SAMPLE_FINES);
    const k = openKiosk({ dataDir: dir });
    k.db
      .prepare(
        "INSERT INTO schema_migrations (id, name, checksum, applied_at) VALUES (999, 'future', 'x', 0)",
      )
      .run();
    k.close();
    const r = await run('fines', 'find', OVERDUE, '--json');
    expect(r.code).toBe(3);
    expect(r.json()).toMatchObject({
      error: { code: 'SCHEMA_TOO_NEW', message: expect.stringMatching(/newer version/) },
    });
    const db = openDatabase(path.join(dir, 'kiosk.db'));
    expect(db.prepare('SELECT count(*) AS n FROM fines').get()).toEqual({ n: 20 });
    db.close();
  });

  it('log verify names the first broken event and exits 3', async () => {
    await run('fines', 'import', SAMPLE_FINES);
    await run('bill', 'issue', OVERDUE);
    const k = openKiosk({ dataDir: dir });
    k.db
      .prepare(`UPDATE outbox SET payload = replace(payload, '"amountFen":', '"amountFen":1') WHERE seq = 2`)
      .run();
    k.close();
    const r = await run('log', 'verify', '--json');
    expect(r.code).toBe(3);
    expect(r.json()).toMatchObject({ error: { code: 'CHAIN_BROKEN', details: { firstBroken: { seq: 2 } } } });
    expect((await run('log', 'verify')).err).toMatch(/event 2/);
  });

  it('start loads the sample fines on first run only and prints the device id', async () => {
    const first = await run('start');
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/device [a-z2-7]{12}/);
    expect(first.out).toMatch(/loaded 20 SAMPLE fines/);
    const second = await run('start');
    expect(second.out).not.toMatch(/loaded/);
    expect(second.out).toMatch(/20 fines on file/);
  });
});

describe('finekiosk CLI (real bin)', () => {
  const bin = path.resolve('bin/finekiosk.js');

  it('runs through node bin/finekiosk.js with FINEKIOSK_DATA and exit codes', () => {
    const env = { ...process.env, FINEKIOSK_DATA: dir };
    const dev = JSON.parse(
      execFileSync(process.execPath, [bin, 'device', 'show', '--json'], { env, encoding: 'utf8' }),
    );
    expect(dev.deviceId).toMatch(/^[a-z2-7]{12}$/);
    execFileSync(process.execPath, [bin, 'fines', 'import', SAMPLE_FINES], { env });
    const bill = JSON.parse(
      execFileSync(process.execPath, [bin, 'bill', 'issue', OVERDUE, '--json'], { env, encoding: 'utf8' }),
    );
    expect(bill.billNo).toBe(`${dev.deviceId.toUpperCase()}-1`);
    const bad = spawnSync(process.execPath, [bin, 'bill', 'issue', 'x', '--json'], { env, encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(JSON.parse(bad.stdout)).toMatchObject({ error: { code: 'MALFORMED' } });
    const refused = spawnSync(process.execPath, [bin, 'bill', 'show', 'NOPE-1', '--json'], {
      env,
      encoding: 'utf8',
    });
    expect(refused.status).toBe(3);
  });
});
