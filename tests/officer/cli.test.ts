import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../main/cli.ts';
import { addBlocks } from '../../main/officer/numbers.ts';
import { openKiosk } from '../../main/kiosk.ts';
import { interpretBytes } from '../../printer/virtual/interpreter.ts';
import { readFileSync } from 'node:fs';
import { removeDir, tempDir } from './helpers.ts';

const dir = tempDir('fk-officer-cli-');
afterAll(() => removeDir(dir));

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main([...args, '--data', dir], {
    stdout: (t) => void (out += t),
    stderr: (t) => void (err += t),
    env: {},
  });
  return { code, out, err };
}

describe('finekiosk ticket', () => {
  it('issue --json: refusals with reasons and exit codes, then a ticket', async () => {
    const none = await run(
      'ticket',
      'issue',
      '--plate',
      '沪A12345',
      '--code',
      '1625',
      '--place',
      '外滩',
      '--officer',
      '0312',
      '--json',
    );
    expect(none.code).toBe(3);
    expect(JSON.parse(none.out).error.code).toBe('NUMBERS_EXHAUSTED');

    const k = openKiosk({ dataDir: dir });
    addBlocks(
      k.db,
      [{ blockId: 'cli', region: '310100', prefix: '31010020269', width: 7, first: 1, last: 5 }],
      Date.now(),
    );
    k.close();

    const bad = await run(
      'ticket',
      'issue',
      '--plate',
      '沪A1234',
      '--code',
      '1625',
      '--place',
      '外滩',
      '--officer',
      '0312',
      '--json',
    );
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.out).error.code).toBe('BAD_PLATE');
    const unknown = await run(
      'ticket',
      'issue',
      '--plate',
      '沪A12345',
      '--code',
      '9999',
      '--place',
      '外滩',
      '--officer',
      '0312',
      '--json',
    );
    expect(unknown.code).toBe(3);
    expect(JSON.parse(unknown.out).error.code).toBe('UNKNOWN_CODE');
    const range = await run(
      'ticket',
      'issue',
      '--plate',
      '沪A12345',
      '--code',
      '1039',
      '--fine',
      '500',
      '--place',
      '外滩',
      '--officer',
      '0312',
      '--json',
    );
    expect(JSON.parse(range.out).error.code).toBe('FINE_OUT_OF_RANGE');
    const noOfficer = await run(
      'ticket',
      'issue',
      '--plate',
      '沪A12345',
      '--code',
      '1625',
      '--place',
      '外滩',
      '--json',
    );
    expect(noOfficer.code).toBe(2);

    const out = path.join(dir, 'notice.bin');
    const okRun = await run(
      'ticket',
      'issue',
      '--plate',
      '沪A12345',
      '--code',
      '1625',
      '--place',
      '外滩',
      '--officer',
      '0312',
      '--out',
      out,
      '--json',
    );
    expect(okRun.code).toBe(0);
    const t = JSON.parse(okRun.out);
    expect(t.decisionNo).toBe('310100202690000001');
    expect(t.fine.fineFen).toBe(20000);
    expect(t.numbers.remaining).toBe(4);
    expect(t.numbers.low).toBe(true);
    expect(existsSync(out)).toBe(true);
    const page = interpretBytes(readFileSync(out), 384)[0]!;
    expect(page.qrData).toEqual([t.bill.url]);

    const text = await run('ticket', 'list');
    expect(text.out).toContain('310100202690000001');
    expect(text.out).toContain('沪A***45');
    expect(text.out).not.toContain('沪A12345');
  });
});
