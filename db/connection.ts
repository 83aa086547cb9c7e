// The kiosk's one SQLite file. Money is at stake, so every commit is durable: WAL with synchronous=FULL
// fsyncs the log on each commit; a crash loses no committed transaction and never half of one.
import BetterSqlite3 from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { storageFailure } from './faults.ts';

export type Database = BetterSqlite3.Database;
export type Statement<P extends unknown[] | object = unknown[], R = unknown> = BetterSqlite3.Statement<P, R>;

/**
 * Opens (creating when absent) the kiosk's SQLite file in WAL mode. On a full disk SQLite cannot make
 * the WAL index (`-shm`) that every connection needs, reads included: the file is then opened with
 * locking_mode EXCLUSIVE, which keeps the index in memory, so read-only commands (status, verify,
 * lists) still answer and a write fails as DISK_FULL (db/faults.ts). That happens only when no other
 * process has the database open (it would hold a working `-shm`), so the exclusive lock takes nothing
 * from a running kiosk.
 */
export function openDatabase(file: string): Database {
  if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  try {
    return openWith(file, false);
  } catch (e) {
    if (file === ':memory:' || storageFailure(e, path.dirname(path.resolve(file)))?.code !== 'DISK_FULL')
      throw e;
    return openWith(file, true);
  }
}

function openWith(file: string, exclusive: boolean): Database {
  const db = new BetterSqlite3(file);
  try {
    if (exclusive) db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    // Another process (the CLI beside a running kiosk) may hold the write lock for a moment.
    db.pragma('busy_timeout = 5000');
    // The first read maps the WAL index: a full disk shows here, not at open.
    db.prepare('SELECT count(*) FROM sqlite_master').get();
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}

/**
 * Runs fn in a BEGIN IMMEDIATE transaction: the write lock is taken up front, so two processes never
 * deadlock upgrading read locks. Nested calls become savepoints.
 */
export function writeTx<T>(db: Database, fn: () => T): T {
  return db.transaction(fn).immediate();
}
