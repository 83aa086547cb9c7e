// Numbered migrations with a ledger. A migration runs once, in its own transaction with its ledger row.
// The ledger refuses a database written by a newer version (an id we do not know) and a database whose
// applied migration differs from ours (checksum): never reset, never drop, never guess.
import { createHash } from 'node:crypto';
import { failure, FailureError } from '../protocol/result.ts';
import type { Database } from './connection.ts';

export interface Migration {
  id: number;
  name: string;
  sql: string;
}

export interface MigrateReport {
  applied: number[];
  /** Highest migration id now in the ledger. */
  version: number;
}

export function migrationChecksum(m: Migration): string {
  return createHash('sha256').update(m.sql).digest('hex');
}

const LEDGER_SQL = `CREATE TABLE IF NOT EXISTS schema_migrations (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  checksum TEXT NOT NULL,
  applied_at INTEGER NOT NULL
) STRICT`;

/** Applies the pending migrations; throws FailureError (SCHEMA_TOO_NEW, SCHEMA_MISMATCH) and changes nothing on refusal. */
export function migrate(
  db: Database,
  migrations: readonly Migration[],
  now: () => number = Date.now,
): MigrateReport {
  const sorted = [...migrations].sort((a, b) => a.id - b.id);
  const ids = new Set<number>();
  for (const m of sorted) {
    if (!Number.isSafeInteger(m.id) || m.id <= 0 || ids.has(m.id)) {
      throw new Error(`migration list is wrong: id ${m.id} (${m.name}) is not a unique positive integer`);
    }
    ids.add(m.id);
  }
  db.exec(LEDGER_SQL);
  const rows = db.prepare('SELECT id, name, checksum FROM schema_migrations ORDER BY id').all() as {
    id: number;
    name: string;
    checksum: string;
  }[];
  const known = new Map(sorted.map((m) => [m.id, m]));
  for (const r of rows) {
    const m = known.get(r.id);
    if (!m) {
      throw new FailureError(
        failure(
          'SCHEMA_TOO_NEW',
          `the database holds migration ${r.id} (${r.name}), which this version does not know`,
          { migrationId: r.id, name: r.name },
        ),
      );
    }
    if (migrationChecksum(m) !== r.checksum) {
      throw new FailureError(
        failure(
          'SCHEMA_MISMATCH',
          `migration ${r.id} (${r.name}) in the database differs from this version's`,
          {
            migrationId: r.id,
            name: r.name,
          },
        ),
      );
    }
  }
  const done = new Set(rows.map((r) => r.id));
  const insert = db.prepare(
    'INSERT INTO schema_migrations (id, name, checksum, applied_at) VALUES (?, ?, ?, ?)',
  );
  const has = db.prepare('SELECT checksum FROM schema_migrations WHERE id = ?');
  const applied: number[] = [];
  for (const m of sorted) {
    if (done.has(m.id)) continue;
    const ran = db
      .transaction(() => {
        // Another process (a CLI beside the running kiosk) may have applied it since we looked.
        const row = has.get(m.id) as { checksum: string } | undefined;
        if (row) {
          if (row.checksum !== migrationChecksum(m)) {
            throw new FailureError(
              failure(
                'SCHEMA_MISMATCH',
                `migration ${m.id} (${m.name}) in the database differs from this version's`,
              ),
            );
          }
          return false;
        }
        db.exec(m.sql);
        insert.run(m.id, m.name, migrationChecksum(m), now());
        return true;
      })
      .immediate();
    if (ran) applied.push(m.id);
  }
  const version = Math.max(0, ...rows.map((r) => r.id), ...applied);
  return { applied, version };
}
