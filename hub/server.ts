// Starting and stopping a hub process: storage (PostgreSQL when DATABASE_URL is set, else PGlite in the
// data folder), the app, the admin file (port + secret, mode 0600) for operator commands, and a
// graceful close.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Clock } from '../protocol/time.ts';
import { buildHubApp, makeLogger } from './app.ts';
import { openHubDb, type HubDb } from './db.ts';
import { createHubService, type HubService } from './service/index.ts';
import { acquireDirLock, type DirLock } from './storage-lock.ts';
import { FailureError } from '../protocol/result.ts';

export const ADMIN_FILE = 'hub.admin.json';

export interface StartHubOptions {
  dataDir: string;
  databaseUrl?: string;
  /** PostgreSQL schema (tests). */
  schema?: string;
  port?: number;
  host?: string;
  logger?: Logger;
  clock?: Clock;
  plugins?: { plugin: FastifyPluginAsync<{ hub: HubService }>; prefix?: string }[];
  /** Write the admin file (default true). */
  adminFile?: boolean;
}

export interface RunningHub {
  url: string;
  port: number;
  hub: HubService;
  db: HubDb;
  close(): Promise<void>;
}

export const adminFileSchema = z.object({
  port: z.number().int(),
  secret: z.string(),
  pid: z.number().int(),
});

export function pgliteDir(dataDir: string): string {
  return path.join(dataDir, 'pglite');
}

export async function startHub(opts: StartHubOptions): Promise<RunningHub> {
  mkdirSync(opts.dataDir, { recursive: true });
  // PGlite admits one process: hold the folder from before it is opened until it is closed.
  let lock: DirLock | undefined;
  if (!opts.databaseUrl) {
    let l = acquireDirLock(opts.dataDir, 'serve');
    // An operator command holds the folder for a moment: wait for it; another hub: refuse at once.
    for (let waited = 0; !l.ok && l.error.details?.kind === 'command' && waited < 60_000; waited += 200) {
      await new Promise((r) => setTimeout(r, 200));
      l = acquireDirLock(opts.dataDir, 'serve');
    }
    if (!l.ok) throw new FailureError(l.error);
    lock = l.value;
  }
  let db: HubDb;
  try {
    db = await openHubDb({
      ...(opts.databaseUrl ? { databaseUrl: opts.databaseUrl } : { dataDir: pgliteDir(opts.dataDir) }),
      ...(opts.schema ? { schema: opts.schema } : {}),
    });
  } catch (e) {
    lock?.release();
    throw e;
  }
  const hub = createHubService({ db, ...(opts.clock ? { clock: opts.clock } : {}) });
  await hub.keys.current();
  const secret = randomBytes(24).toString('base64url');
  const logger = opts.logger ?? makeLogger();
  const app = await buildHubApp({
    hub,
    logger,
    adminSecret: secret,
    ...(opts.plugins ? { plugins: opts.plugins } : {}),
  });
  await app.listen({ port: opts.port ?? 0, host: opts.host ?? '127.0.0.1' });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const adminPath = path.join(opts.dataDir, ADMIN_FILE);
  if (opts.adminFile !== false) {
    writeFileSync(adminPath, JSON.stringify({ port, secret, pid: process.pid }), { mode: 0o600 });
    chmodSync(adminPath, 0o600);
  }
  let closed = false;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    hub,
    db,
    async close() {
      if (closed) return;
      closed = true;
      if (opts.adminFile !== false) {
        try {
          const cur = adminFileSchema.parse(JSON.parse(readFileSync(adminPath, 'utf8')));
          if (cur.pid === process.pid && cur.port === port) rmSync(adminPath);
        } catch {
          // already gone
        }
      }
      await app.close();
      await db.close();
      lock?.release();
    },
  };
}
