// Stored data is private to the service's user: the kiosk's data folder and database files, and the
// hub's embedded PGlite cluster (whose WAL holds the signing key), even when the process started with
// the usual umask of 022 and when the folders existed before with open modes.
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writePrivateFile } from '../../db/private.ts';
import { openHubDb } from '../../hub/db.ts';
import { openKiosk } from '../../main/kiosk.ts';

let dir: string;
let oldMask: number;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'fk-modes-'));
  oldMask = process.umask(0o022);
});
afterEach(() => {
  process.umask(oldMask);
  rmSync(dir, { recursive: true, force: true });
});

const mode = (p: string) => lstatSync(p).mode & 0o777;

/** Every folder and file under root with a mode other than 0700 / 0600. */
function openEntries(root: string): string[] {
  const bad: string[] = [];
  const walk = (p: string) => {
    const st = lstatSync(p);
    if (st.isSymbolicLink()) return;
    const want = st.isDirectory() ? 0o700 : 0o600;
    if ((st.mode & 0o777) !== want)
      bad.push(`${path.relative(root, p) || '.'} ${(st.mode & 0o777).toString(8)}`);
    if (st.isDirectory()) for (const n of readdirSync(p)) walk(path.join(p, n));
  };
  walk(root);
  return bad;
}

describe('file modes', () => {
  it('kiosk data folder 0700 and its database files 0600, also for a folder made open before', () => {
    const data = path.join(dir, 'data');
    mkdirSync(data, { mode: 0o755 });
    chmodSync(data, 0o755);
    // A file left by an older version with the usual 0644.
    writeFileSync(path.join(data, 'notes.txt'), '');
    chmodSync(path.join(data, 'notes.txt'), 0o644);
    const k = openKiosk({ dataDir: data });
    try {
      k.db.prepare('SELECT 1').get();
      expect(mode(data)).toBe(0o700);
      const files = readdirSync(data).filter((n) => !lstatSync(path.join(data, n)).isDirectory());
      expect(files).toEqual(expect.arrayContaining(['kiosk.db', 'kiosk.db-wal']));
      for (const f of files) expect([f, mode(path.join(data, f))]).toEqual([f, 0o600]);
    } finally {
      k.close();
    }
  });

  it('embedded hub database: every folder 0700 and every file 0600', async () => {
    const hubDir = path.join(dir, 'hub');
    const db = await openHubDb({ dataDir: hubDir, listen: false });
    try {
      await db.query('CREATE TABLE secret_probe (k text)');
      await db.query("INSERT INTO secret_probe VALUES ('signing key')");
    } finally {
      await db.close();
    }
    expect(readdirSync(hubDir).length).toBeGreaterThan(5);
    expect(openEntries(hubDir)).toEqual([]);
  });

  it('a secret file is 0600 even when it existed with an open mode', () => {
    const f = path.join(dir, 'first-run-pin.txt');
    writeFileSync(f, 'old');
    chmodSync(f, 0o644);
    writePrivateFile(f, '123456\n');
    expect(mode(f)).toBe(0o600);
    expect(readFileSync(f, 'utf8')).toBe('123456\n');
  });
});
