import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../db/connection.ts';
import { migrate, type Migration } from '../../db/migrate.ts';
import { kioskMigrations } from '../../db/migrations/index.ts';
import { FailureError } from '../../protocol/result.ts';
import { tempDir } from '../kiosk/helpers.ts';

const m1: Migration = { id: 1, name: 'one', sql: 'CREATE TABLE a (x INTEGER NOT NULL) STRICT;' };
const m2: Migration = { id: 2, name: 'two', sql: 'CREATE TABLE b (y TEXT NOT NULL) STRICT;' };

let dir: string;
let db: Database | undefined;
afterEach(() => {
  db?.close();
  db = undefined;
  rmSync(dir, { recursive: true, force: true });
});

function open(): Database {
  db = openDatabase(path.join(dir, 'k.db'));
  return db;
}

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof FailureError) return e.failure.code;
    throw e;
  }
  return undefined;
}

describe('openDatabase', () => {
  it('sets WAL, synchronous=FULL, foreign keys and a busy timeout', () => {
    dir = tempDir();
    const d = open();
    expect(d.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(d.pragma('synchronous', { simple: true })).toBe(2);
    expect(d.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(d.pragma('busy_timeout', { simple: true })).toBe(5000);
  });
});

describe('migrate', () => {
  it('applies each migration once, with its ledger row', () => {
    dir = tempDir();
    const d = open();
    expect(migrate(d, [m1, m2]).applied).toEqual([1, 2]);
    expect(migrate(d, [m1, m2]).applied).toEqual([]);
    const ledger = d.prepare('SELECT id, name FROM schema_migrations ORDER BY id').all();
    expect(ledger).toEqual([
      { id: 1, name: 'one' },
      { id: 2, name: 'two' },
    ]);
  });

  it('refuses a database written by a newer version, and changes nothing', () => {
    dir = tempDir();
    let d = open();
    migrate(d, [m1, m2]);
    d.prepare('INSERT INTO a (x) VALUES (7)').run();
    d.close();
    d = open();
    expect(code(() => migrate(d, [m1]))).toBe('SCHEMA_TOO_NEW');
    expect(d.prepare('SELECT x FROM a').all()).toEqual([{ x: 7 }]);
    expect(d.prepare('SELECT count(*) AS n FROM schema_migrations').get()).toEqual({ n: 2 });
  });

  it('refuses when an applied migration differs from this version', () => {
    dir = tempDir();
    const d = open();
    migrate(d, [m1]);
    expect(code(() => migrate(d, [{ ...m1, sql: m1.sql + ' -- changed' }, m2]))).toBe('SCHEMA_MISMATCH');
    // m2 must not have been applied after the refusal.
    expect(d.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'b'").get()).toEqual({ n: 0 });
  });

  it('rolls a failing migration back whole, ledger row included', () => {
    dir = tempDir();
    const d = open();
    const bad: Migration = {
      id: 2,
      name: 'bad',
      sql: 'CREATE TABLE c (z INTEGER) STRICT; INSERT INTO nope VALUES (1);',
    };
    expect(() => migrate(d, [m1, bad])).toThrow();
    expect(d.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'c'").get()).toEqual({ n: 0 });
    expect(d.prepare('SELECT id FROM schema_migrations').all()).toEqual([{ id: 1 }]);
  });

  it('refuses duplicate ids in the list', () => {
    dir = tempDir();
    const d = open();
    expect(() => migrate(d, [m1, { ...m2, id: 1 }])).toThrow(/unique/);
  });

  it('the kiosk migrations apply on a fresh database and make STRICT tables', () => {
    dir = tempDir();
    const d = open();
    migrate(d, kioskMigrations);
    const tables = d
      .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
      .all() as { name: string; sql: string }[];
    expect(tables.map((t) => t.name)).toEqual(
      expect.arrayContaining(['fines', 'bills', 'payments', 'outbox']),
    );
    for (const t of tables) expect(t.sql, t.name).toMatch(/STRICT\s*$/);
    expect(() =>
      d.prepare("INSERT INTO hub_keys (key_id, public_key, added_at) VALUES ('k', 'p', 'soon')").run(),
    ).toThrow();
  });
});
