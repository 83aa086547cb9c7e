// Storage faults read as what they are: a kiosk on a small tmpfs filled up answers DISK_FULL to writes (not
// "Unexpected error: disk I/O error"), keeps answering reads and keeps every committed record; a damaged
// file is DB_CORRUPT.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../main/cli.ts';
import { fine } from '../kiosk/helpers.ts';

async function cli(
  args: string[],
): Promise<{ code: number; json: { error?: { code: string } } & Record<string, unknown> }> {
  let out = '';
  const code = await main([...args, '--json'], {
    stdout: (t) => void (out += t),
    stderr: () => undefined,
    env: {},
  });
  return { code, json: JSON.parse(out) as { error?: { code: string } } };
}

const root = process.getuid?.() === 0;

describe.skipIf(!root)(
  `a kiosk on a full disk${root ? '' : ' (skipped: mounting a tmpfs needs root)'}`,
  () => {
    let mnt: string;
    beforeAll(() => {
      mnt = mkdtempSync(path.join(os.tmpdir(), 'fk-full-'));
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt]);
    });
    afterAll(() => {
      try {
        execFileSync('umount', [mnt]);
      } finally {
        rmSync(mnt, { recursive: true, force: true });
      }
    });

    it('refuses writes with DISK_FULL, keeps answering reads, loses nothing, and writes again once space is freed', async () => {
      const data = path.join(mnt, 'kiosk');
      const file = path.join(mnt, 'fines.json');
      writeFileSync(
        file,
        JSON.stringify([
          fine({ decisionNo: '110000000000000001' }),
          fine({ decisionNo: '110000000000000002' }),
        ]),
      );
      expect((await cli(['fines', 'import', file, '--data', data])).code).toBe(0);
      const issued = await cli(['bill', 'issue', '110000000000000001', '--data', data]);
      expect(issued.code).toBe(0);
      const before = await cli(['log', 'verify', '--data', data]);
      expect(before.json).toMatchObject({ ok: true });
      const filler = path.join(mnt, 'filler');
      try {
        execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=64k'], { stdio: 'ignore' });
      } catch {
        // dd stops with "No space left on device": the disk is full, as wanted
      }
      // Writes: DISK_FULL with what to do, nothing written.
      for (const args of [
        ['bill', 'issue', '110000000000000002'],
        ['settings', 'set', 'counterConsole', 'true'],
        ['staff', 'add', 'Li'],
      ]) {
        const r = await cli([...args, '--data', data]);
        expect(r.code, args.join(' ')).toBe(3);
        expect(r.json.error?.code).toBe('DISK_FULL');
      }
      // Reads keep working: the operator can still see what the kiosk holds.
      const verify = await cli(['log', 'verify', '--data', data]);
      expect(verify.code).toBe(0);
      expect(verify.json).toEqual(before.json);
      const status = await cli(['sync', 'status', '--data', data]);
      expect(status.code).toBe(0);
      expect(status.json).toMatchObject({ lastSeq: before.json.events, enrolled: false });
      const shown = await cli(['bill', 'show', issued.json.billNo as string, '--data', data]);
      expect(shown.code).toBe(0);
      expect(shown.json).toMatchObject({ billNo: issued.json.billNo, status: 'live' });
      for (const args of [
        ['fines', 'find', '110000000000000002'],
        ['device', 'show'],
        ['settings', 'show'],
        ['staff', 'list'],
        ['printer', 'jobs'],
      ]) {
        const r = await cli([...args, '--data', data]);
        expect(r.code, `${args.join(' ')}: ${JSON.stringify(r.json)}`).toBe(0);
      }
      unlinkSync(filler);
      const after = await cli(['log', 'verify', '--data', data]);
      expect(after.json).toEqual(before.json);
      expect((await cli(['bill', 'issue', '110000000000000002', '--data', data])).code).toBe(0);
    }, 120_000);
  },
);

describe('a damaged kiosk database', () => {
  it('is DB_CORRUPT, not an unexpected error', async () => {
    const data = mkdtempSync(path.join(os.tmpdir(), 'fk-corrupt-'));
    try {
      expect((await cli(['device', 'show', '--data', data])).code).toBe(0);
      const fd = openSync(path.join(data, 'kiosk.db'), 'r+');
      writeSync(fd, Buffer.alloc(4096, 0x5a), 0, 4096, 0);
      closeSync(fd);
      const r = await cli(['log', 'verify', '--data', data]);
      expect(r.code).toBe(3);
      expect(r.json.error?.code).toBe('DB_CORRUPT');
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  });
});
