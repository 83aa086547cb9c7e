// Hub storage: one small interface over PostgreSQL (pg Pool) and PGlite, the same SQL on both.
// Numbered migrations (hub/migrations) are applied once each and recorded in a ledger table.
import pg from 'pg';
import { privateDir, privateTree, usePrivateUmask } from '../db/private.ts';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFromStdin } from 'pg-copy-streams';
import { PGlite } from '@electric-sql/pglite';
import path from 'node:path';
import { noteFolderGeneration, rotateFolderGeneration } from './feed/identity.ts';
import { hubMigrations, type HubMigration } from './migrations/index.ts';
import { failure, FailureError } from '../protocol/result.ts';

export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

export interface HubQueryable {
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<R>>;
  /**
   * PostgreSQL only (absent on PGlite): runs `COPY ... FROM STDIN` fed by `source` (text-format lines, each
   * ending in a newline) and returns the rows copied. Present on a transaction's handle.
   */
  copyFrom?(sql: string, source: AsyncIterable<string | Buffer>): Promise<number>;
}

export interface HubDb extends HubQueryable {
  readonly kind: 'postgres' | 'pglite';
  /** Runs fn in one transaction; a throw rolls everything back. */
  transaction<T>(fn: (tx: HubQueryable) => Promise<T>): Promise<T>;
  /** Calls fn whenever another transaction (any process on PostgreSQL) announces a feed change. */
  onFeedChange(fn: () => void): () => void;
  close(): Promise<void>;
  /** An embedded hub whose folder was copied back from another time: a new feed epoch was started. */
  readonly folderRestored?: boolean;
}

export const FEED_CHANNEL = 'fk_feed';

// int8 and numeric come back as numbers on both engines (PGlite already does this).
const pgTypes = {
  getTypeParser: ((oid: number, format?: string) => {
    if (oid === 20 || oid === 1700) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format as 'text');
  }) as typeof pg.types.getTypeParser,
};

export interface OpenHubDbOptions {
  /** postgres://...; when absent, PGlite in dataDir (or in memory when dataDir is absent). */
  databaseUrl?: string;
  dataDir?: string;
  /** PostgreSQL schema to use (created if missing); tests use a fresh one each. */
  schema?: string;
  poolSize?: number;
  /** Skip LISTEN (CLI commands that only run one statement). */
  listen?: boolean;
  /**
   * PGlite only: start from this data folder image (a tarball from `PGlite.dumpDataDir('none')`) instead of
   * running initdb. Starting from an image of an already migrated hub takes a fraction of initdb's time; the
   * test suite uses one image for every in-memory hub (tests/support/pglite-template.ts). Migrations still
   * run, so an image older than this version is brought up to date.
   */
  template?: Blob;
}

class PgHubDb implements HubDb {
  readonly kind = 'postgres' as const;
  private listeners = new Set<() => void>();
  private listenClient: pg.Client | undefined;
  constructor(
    private pool: pg.Pool,
    private clientConfig: pg.ClientConfig,
  ) {}

  async query<R>(sql: string, params?: unknown[]): Promise<QueryResult<R>> {
    const r = await this.pool.query(sql, params as unknown[]);
    return { rows: r.rows as R[], rowCount: r.rowCount ?? 0 };
  }

  async transaction<T>(fn: (tx: HubQueryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      const tx: HubQueryable = {
        query: async <R>(sql: string, params?: unknown[]) => {
          const r = await client.query(sql, params as unknown[]);
          return { rows: r.rows as R[], rowCount: r.rowCount ?? 0 };
        },
        copyFrom: async (sql: string, source: AsyncIterable<string | Buffer>) => {
          const sink = client.query(copyFromStdin(sql));
          await pipeline(Readable.from(source), sink);
          return Number(sink.rowCount ?? 0);
        },
      };
      const value = await fn(tx);
      await client.query('COMMIT');
      return value;
    } catch (e) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true;
      }
      throw e;
    } finally {
      client.release(broken);
    }
  }

  private closed = false;
  private reconnecting = false;
  /** How many times LISTEN was (re)established; tests wait on onListen. */
  listenCount = 0;
  private listenWatchers = new Set<() => void>();

  private fire(): void {
    for (const fn of this.listeners) fn();
  }

  async startListening(): Promise<void> {
    const c = new pg.Client(this.clientConfig);
    // A PostgreSQL restart (or a dropped connection) ends the LISTEN session: open a new one.
    const lost = (): void => this.listenLost(c);
    c.on('error', lost);
    c.on('end', lost);
    try {
      await c.connect();
      c.on('notification', () => this.fire());
      await c.query(`LISTEN ${FEED_CHANNEL}`);
    } catch (e) {
      c.removeListener('end', lost);
      c.removeListener('error', lost);
      await c.end().catch(() => undefined);
      throw e;
    }
    this.listenClient = c;
    this.listenCount++;
    for (const w of this.listenWatchers) w();
  }

  private listenLost(c: pg.Client): void {
    if (this.closed || this.listenClient !== c || this.reconnecting) return;
    this.listenClient = undefined;
    c.end().catch(() => undefined);
    this.reconnecting = true;
    void (async () => {
      let delay = 100;
      while (!this.closed) {
        try {
          await this.startListening();
          // Changes committed while nobody listened were never announced: wake every waiter once.
          this.fire();
          break;
        } catch {
          await new Promise((r) => setTimeout(r, delay).unref());
          delay = Math.min(delay * 2, 5000);
        }
      }
      this.reconnecting = false;
    })();
  }

  /** Calls fn each time LISTEN is established again (after a lost connection). */
  onListen(fn: () => void): () => void {
    this.listenWatchers.add(fn);
    return () => this.listenWatchers.delete(fn);
  }

  onFeedChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.listenClient?.end().catch(() => undefined);
    await this.pool.end();
  }
}

class PgliteHubDb implements HubDb {
  readonly kind = 'pglite' as const;
  private listeners = new Set<() => void>();
  folderRestored = false;
  /** The folder's generation marker (a folder on disk only): rotated at start and at close. */
  marker: string | undefined;
  constructor(private db: PGlite) {}

  async query<R>(sql: string, params?: unknown[]): Promise<QueryResult<R>> {
    const r = await this.db.query<R>(sql, params);
    return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
  }

  async transaction<T>(fn: (tx: HubQueryable) => Promise<T>): Promise<T> {
    const value = await this.db.transaction(async (t) =>
      fn({
        query: async <R>(sql: string, params?: unknown[]) => {
          const r = await t.query<R>(sql, params);
          return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
        },
      }),
    );
    return value as T;
  }

  async startListening(): Promise<void> {
    // PGlite admits one process, so NOTIFY comes from this process only.
    await this.db.listen(FEED_CHANNEL, () => {
      for (const fn of this.listeners) fn();
    });
  }

  onFeedChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  async close(): Promise<void> {
    if (this.marker && !this.db.closed) {
      try {
        await rotateFolderGeneration(this, this.marker);
      } catch {
        // a failed rotation (a full disk) only weakens the next restore check; closing matters more
      }
    }
    await this.db.close();
  }

  /** The whole data folder as an uncompressed tarball (PGlite's dumpDataDir). */
  dumpImage(): Promise<Blob> {
    return this.db.dumpDataDir('none');
  }
}

/**
 * An image of a PGlite hub's data folder, for `OpenHubDbOptions.template`.
 * Errors: throws for a hub on PostgreSQL, which has no data folder of its own.
 */
export function dumpHubImage(db: HubDb): Promise<Blob> {
  if (!(db instanceof PgliteHubDb)) throw new Error('only a PGlite hub has a data folder image');
  return db.dumpImage();
}

const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;

export async function openHubDb(opts: OpenHubDbOptions = {}): Promise<HubDb> {
  let db: HubDb;
  if (opts.databaseUrl) {
    const schema = opts.schema;
    if (schema !== undefined && !SCHEMA_RE.test(schema)) throw new Error(`bad schema name ${schema}`);
    const clientConfig: pg.ClientConfig = {
      connectionString: opts.databaseUrl,
      types: pgTypes,
      ...(schema ? { options: `-c search_path=${schema}` } : {}),
    };
    if (schema) {
      const c = new pg.Client({ connectionString: opts.databaseUrl });
      await c.connect();
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await c.end();
    }
    const pool = new pg.Pool({ ...clientConfig, max: opts.poolSize ?? 10 });
    pool.on('error', () => undefined);
    const p = new PgHubDb(pool, clientConfig);
    if (opts.listen !== false) await p.startListening();
    db = p;
  } else {
    if (opts.dataDir) {
      // PGlite writes its files with the process umask: private before the first one exists.
      usePrivateUmask();
      privateDir(opts.dataDir);
    }
    let lite: PGlite;
    try {
      lite = opts.template
        ? await PGlite.create({ ...(opts.dataDir ? { dataDir: opts.dataDir } : {}), loadDataDir: opts.template })
        : await PGlite.create(opts.dataDir);
    } catch (e) {
      // A folder PGlite cannot start from (a copy cut short, two processes at once) aborts inside its
      // WebAssembly runtime: name it for the operator.
      throw new FailureError(
        failure('HUB_DATA_DAMAGED', `${opts.dataDir ?? 'memory'}: ${(e as Error).message ?? String(e)}`),
      );
    }
    if (opts.dataDir) privateTree(opts.dataDir);
    const p = new PgliteHubDb(lite);
    if (opts.listen !== false) await p.startListening();
    db = p;
  }
  try {
    await migrate(db, hubMigrations);
    if (db instanceof PgliteHubDb && opts.dataDir) {
      // Beside the folder, never in it: a copy of the folder must not carry it.
      const marker = `${path.resolve(opts.dataDir)}.generation`;
      db.folderRestored = await noteFolderGeneration(db, marker, Math.floor(Date.now() / 1000));
      db.marker = marker;
    }
  } catch (e) {
    await db.close();
    throw e;
  }
  return db;
}

/** Applies pending migrations in order; refuses a ledger that does not match this version. */
export async function migrate(db: HubDb, migrations: readonly HubMigration[]): Promise<void> {
  await db.transaction(async (tx) => {
    // Several hub processes may start at once on one PostgreSQL: one migrates, the others wait.
    await tx.query('SELECT pg_advisory_xact_lock(727001)');
    await tx.query(
      'CREATE TABLE IF NOT EXISTS hub_migrations (id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const done = await tx.query<{ id: number; name: string }>(
      'SELECT id, name FROM hub_migrations ORDER BY id',
    );
    const known = new Map(migrations.map((m) => [m.id, m]));
    for (const row of done.rows) {
      const m = known.get(row.id);
      if (!m)
        throw new Error(
          `hub database has migration ${row.id} (${row.name}) that this version does not know; upgrade`,
        );
      if (m.name !== row.name)
        throw new Error(`hub migration ${row.id} is ${row.name} in the database, ${m.name} here`);
    }
    const applied = new Set(done.rows.map((r) => r.id));
    for (const m of [...migrations].sort((a, b) => a.id - b.id)) {
      if (applied.has(m.id)) continue;
      for (const stmt of m.sql
        .split(/;\s*\n/)
        .map((s) => s.trim())
        .filter(Boolean))
        await tx.query(stmt);
      await tx.query('INSERT INTO hub_migrations (id, name) VALUES ($1, $2)', [m.id, m.name]);
    }
  });
}
