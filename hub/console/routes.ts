// The operator console served by the hub: the React app (console/dist) at /console/ and its API at
// /console/api. Sessions are a random id in an HttpOnly, SameSite=Strict cookie (only its hash is stored);
// every POST must carry the session's CSRF token in x-csrf-token and, when the browser sends one, an
// Origin equal to the hub's own. Every operation goes through the same dispatcher as `finekiosk hub …`
// (hub/admin.ts), as `operator:<id>`, and every change lands in the audit log; roles decide which
// operations an operator may run (an auditor only reads).
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import QRCode from 'qrcode';
import { z } from 'zod';
import { enrollQrPayload, enrollCodeSchema } from '../../protocol/enroll.ts';
import { failure, type Failure } from '../../protocol/result.ts';
import { finesFromCsv } from '../../protocol/fines-file.ts';
import { CORE_READS, isCoreOp, runAdmin } from '../admin.ts';
import type { HubService } from '../service/index.ts';
import { audit } from '../integration/audit.ts';
import { isReadOp, isServiceOp } from '../integration/admin.ts';
import { batchIdSchema, runBatch } from '../integration/batches.ts';
import { checkedItems, type UpsertInput } from '../integration/fines-upsert.ts';
import { fineSchema } from '../../protocol/fines.ts';
import { ndjsonLines } from '../integration/ndjson.ts';
import { storedReports, type ReconciliationReports } from '../integration/reports.ts';
import { NDJSON, serviceStatus } from '../integration/routes.ts';
import { verifyPassword, type Role } from './operators.ts';
import { clearLoginFailures, loginLockedFor, loginSubjects, recordLoginFailure } from './throttle.ts';

export const CONSOLE_PREFIX = '/console';
const COOKIE = 'fk_console';
const SESSION_S = 8 * 3600;
const here = path.dirname(fileURLToPath(import.meta.url));
export const CONSOLE_DIST = path.resolve(here, '../../console/dist');

/** Operations only an admin may run (accounts, API keys, webhooks). */
const ADMIN_ONLY = /^(operator|apikey)\.|^webhook\.(add|remove|replay)$/;

/** May `role` run `op`? Auditors read only; operators everything but accounts, keys and webhooks. */
export function roleAllows(role: Role, op: string): boolean {
  const read = isReadOp(op) || CORE_READS.has(op) || op === 'webhook.list' || op === 'webhook.dead';
  if (role === 'auditor') return read && !/^(apikey|operator)\./.test(op);
  if (role === 'operator') return read || !ADMIN_ONLY.test(op);
  return true;
}

export interface Session {
  operatorId: string;
  name: string;
  role: Role;
  csrf: string;
}

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

function cookieValue(req: FastifyRequest): string | undefined {
  const c = req.headers.cookie ?? '';
  for (const part of c.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === COOKIE) return v.join('=');
  }
  return undefined;
}

/**
 * The operator session a request's console cookie names, or undefined (no cookie, unknown, expired or
 * disabled account). Used by the console API and by /metrics (an operator may read metrics).
 */
export async function operatorSession(hub: HubService, req: FastifyRequest): Promise<Session | undefined> {
  const id = cookieValue(req);
  if (!id || !/^[A-Za-z0-9_-]{43}$/.test(id)) return undefined;
  const r = await hub.db.query<{ operator_id: string; csrf: string; name: string; role: Role }>(
    `SELECT s.operator_id, s.csrf, o.name, o.role FROM operator_sessions s JOIN operators o ON o.id = s.operator_id
     WHERE s.id_hash = $1 AND s.expires_at > $2 AND o.disabled_at IS NULL`,
    [sha(id), hub.nowS()],
  );
  const s = r.rows[0];
  return s ? { operatorId: s.operator_id, name: s.name, role: s.role, csrf: s.csrf } : undefined;
}

export interface ConsoleOptions {
  hub: HubService;
  reports?: ReconciliationReports;
  publicBase?: string;
  /** Folder of the built console (default console/dist). */
  distDir?: string;
}

export const consolePlugin: FastifyPluginAsync<ConsoleOptions> = async (app, opts) => {
  const { hub } = opts;
  const reports = opts.reports ?? storedReports(hub.db);
  const send = (reply: FastifyReply, f: Failure): FastifyReply =>
    reply.code(serviceStatus(f)).send({ error: f, hubTime: hub.nowS() });

  const session = (req: FastifyRequest): Promise<Session | undefined> => operatorSession(hub, req);

  /** The session of a POST, with its CSRF token and Origin checked. */
  const guard = async (req: FastifyRequest, reply: FastifyReply): Promise<Session | undefined> => {
    const s = await session(req);
    if (!s) {
      send(reply, failure('UNAUTHORIZED'));
      return undefined;
    }
    if (req.method !== 'GET') {
      const origin = req.headers.origin;
      const host = req.headers.host;
      const sameOrigin = origin === undefined || (host !== undefined && new URL(origin).host === host);
      if (req.headers['x-csrf-token'] !== s.csrf || !sameOrigin) {
        await audit(hub.db, {
          at: hub.nowS(),
          actor: `operator:${s.operatorId}`,
          action: 'csrf.refused',
          target: req.url.split('?')[0] ?? null,
          ok: false,
        });
        send(reply, failure('CSRF'));
        return undefined;
      }
    }
    return s;
  };

  await app.register(async (scope) => {
    scope.setErrorHandler((err: { statusCode?: number; message: string }, req, reply) => {
      if (err.statusCode && err.statusCode < 500) return send(reply, failure('MALFORMED', err.message));
      req.log.error({ err }, 'unexpected error');
      return send(reply, failure('UNEXPECTED'));
    });
    scope.addContentTypeParser(NDJSON, (_req, payload, done) => done(null, payload));
    scope.addContentTypeParser(
      'text/csv',
      { parseAs: 'string', bodyLimit: 64 * 1024 * 1024 },
      (_req, body, done) => done(null, body),
    );
    scope.addHook('onSend', async (_req, reply, payload) => {
      reply.header('cache-control', 'no-store');
      return payload;
    });

    scope.post(`${CONSOLE_PREFIX}/api/login`, async (req, reply) => {
      const p = z
        .object({ id: z.string().min(1).max(64), password: z.string().min(1).max(200) })
        .safeParse(req.body);
      if (!p.success) return send(reply, failure('MALFORMED'));
      const subjects = loginSubjects(p.data.id, req.ip);
      const lockedFor = await loginLockedFor(hub.db, subjects, hub.nowS());
      if (lockedFor > 0) {
        await audit(hub.db, { at: hub.nowS(), actor: `operator:${p.data.id}`, action: 'login.locked', ok: false, details: { address: req.ip } });
        reply.header('retry-after', String(lockedFor));
        return send(reply, failure('LOGIN_LOCKED', `${lockedFor} s`));
      }
      const r = await hub.db.query<{
        password_hash: string;
        name: string;
        role: Role;
        disabled_at: number | null;
      }>('SELECT password_hash, name, role, disabled_at FROM operators WHERE id = $1', [p.data.id]);
      const o = r.rows[0];
      // A missing account costs the same scrypt as a wrong password.
      const good = await verifyPassword(
        p.data.password,
        o?.password_hash ?? 'scrypt$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      );
      const okLogin = Boolean(o && good && o.disabled_at === null);
      await audit(hub.db, { at: hub.nowS(), actor: `operator:${p.data.id}`, action: 'login', ok: okLogin });
      if (!okLogin || !o) {
        await recordLoginFailure(hub.db, subjects, hub.nowS());
        return send(reply, failure('LOGIN_FAILED'));
      }
      await clearLoginFailures(hub.db, p.data.id);
      const id = randomBytes(32).toString('base64url');
      const csrf = randomBytes(24).toString('base64url');
      await hub.db.query('DELETE FROM operator_sessions WHERE expires_at <= $1', [hub.nowS()]);
      await hub.db.query(
        'INSERT INTO operator_sessions (id_hash, operator_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)',
        [sha(id), p.data.id, csrf, hub.nowS(), hub.nowS() + SESSION_S],
      );
      const secure = req.protocol === 'https' ? '; Secure' : '';
      reply.header(
        'set-cookie',
        `${COOKIE}=${id}; Path=${CONSOLE_PREFIX}; HttpOnly; SameSite=Strict; Max-Age=${SESSION_S}${secure}`,
      );
      return { operator: { id: p.data.id, name: o.name, role: o.role }, csrf };
    });

    scope.get(`${CONSOLE_PREFIX}/api/session`, async (req, reply) => {
      const s = await session(req);
      if (!s) return send(reply, failure('UNAUTHORIZED'));
      return { operator: { id: s.operatorId, name: s.name, role: s.role }, csrf: s.csrf };
    });

    scope.post(`${CONSOLE_PREFIX}/api/logout`, async (req, reply) => {
      const s = await guard(req, reply);
      if (!s) return reply;
      await hub.db.query('DELETE FROM operator_sessions WHERE id_hash = $1', [sha(cookieValue(req) ?? '')]);
      await audit(hub.db, { at: hub.nowS(), actor: `operator:${s.operatorId}`, action: 'logout', ok: true });
      reply.header('set-cookie', `${COOKIE}=; Path=${CONSOLE_PREFIX}; HttpOnly; SameSite=Strict; Max-Age=0`);
      return { ok: true };
    });

    // Every operation of `finekiosk hub …`, by name, with the role's permission.
    scope.post(`${CONSOLE_PREFIX}/api/op/:op`, async (req, reply) => {
      const s = await guard(req, reply);
      if (!s) return reply;
      const op = (req.params as { op: string }).op;
      if (!isServiceOp(op) && !isCoreOp(op)) return send(reply, failure('NOT_FOUND', op));
      if (op === 'fines.import') return send(reply, failure('FORBIDDEN', 'use the upload'));
      if (!roleAllows(s.role, op)) {
        await audit(hub.db, {
          at: hub.nowS(),
          actor: `operator:${s.operatorId}`,
          action: op,
          ok: false,
          details: { code: 'FORBIDDEN' },
        });
        return send(reply, failure('FORBIDDEN', `${s.role} may not ${op}`));
      }
      const r = await runAdmin(hub, op, req.body ?? {}, `operator:${s.operatorId}`);
      if (!r.ok) return send(reply, r.error);
      return { value: r.value };
    });

    // The enrollment QR of a code: what the kiosk scans.
    scope.get(`${CONSOLE_PREFIX}/api/enroll-qr/:code`, async (req, reply) => {
      const s = await session(req);
      if (!s) return send(reply, failure('UNAUTHORIZED'));
      const code = enrollCodeSchema.safeParse((req.params as { code: string }).code);
      if (!code.success) return send(reply, failure('MALFORMED'));
      const base = opts.publicBase ?? `${req.protocol}://${req.headers.host}`;
      const svg = await QRCode.toString(enrollQrPayload(base, code.data), {
        type: 'svg',
        errorCorrectionLevel: 'M',
        margin: 4,
      });
      return reply.type('image/svg+xml').send(svg);
    });

    // Fines upload: NDJSON (streamed), a JSON array or CSV of fines (no revisions: the file wins, as
    // `hub fines import` does); progress through batch.list.
    scope.post(`${CONSOLE_PREFIX}/api/fines/:batchId`, async (req, reply) => {
      const s = await guard(req, reply);
      if (!s) return reply;
      if (!roleAllows(s.role, 'fines.import')) return send(reply, failure('FORBIDDEN'));
      const b = batchIdSchema.safeParse((req.params as { batchId: string }).batchId);
      if (!b.success) return send(reply, failure('MALFORMED', 'batch id'));
      const body = req.body;
      let source: () => AsyncIterable<{ line: number; value: unknown } | { line: number; error: string }>;
      if (typeof body === 'string') {
        const rows = finesFromCsv(body);
        if (!rows.ok) return send(reply, rows.error);
        const { rows: values, lines = [], problems = [] } = rows.value;
        source = async function* () {
          for (const [i, value] of values.entries()) {
            const line = lines[i] ?? i + 2;
            const problem = problems[i];
            yield problem ? { line, error: problem } : { line, value };
          }
        };
      } else if (Array.isArray(body)) {
        source = async function* () {
          let line = 0;
          for (const value of body) yield { line: ++line, value };
        };
      } else if (body && typeof (body as { pipe?: unknown }).pipe === 'function') {
        source = () => ndjsonLines(body as AsyncIterable<Buffer>);
      } else return send(reply, failure('MALFORMED', 'NDJSON, a JSON array or CSV of fines'));
      const items = (): AsyncIterable<UpsertInput> =>
        (async function* () {
          for await (const x of source()) {
            if ('error' in x) {
              yield* checkedItems([x] as never);
              continue;
            }
            const p = fineSchema.safeParse(x.value);
            yield p.success
              ? { line: x.line, op: 'upsert' as const, revision: null, fine: p.data }
              : {
                  line: x.line,
                  error: {
                    code: 'MALFORMED' as const,
                    detail: `line ${x.line}: ${p.error.issues[0]?.path.join('.')}: ${p.error.issues[0]?.message}`,
                  },
                };
          }
        })();
      const r = await runBatch(hub.db, b.data, `operator:${s.operatorId}`, items, hub.nowS);
      await audit(hub.db, {
        at: hub.nowS(),
        actor: `operator:${s.operatorId}`,
        action: 'fines.upload',
        target: b.data,
        ok: r.ok,
        details: r.ok
          ? { received: r.value.received, applied: r.value.applied, refused: r.value.refused }
          : { code: r.error.code },
      });
      if (!r.ok) return send(reply, r.error);
      return { value: r.value };
    });

    scope.get(`${CONSOLE_PREFIX}/api/reports`, async (req, reply) => {
      const s = await session(req);
      if (!s) return send(reply, failure('UNAUTHORIZED'));
      return { value: await reports.list() };
    });
    scope.get(`${CONSOLE_PREFIX}/api/reports/:id`, async (req, reply) => {
      const s = await session(req);
      if (!s) return send(reply, failure('UNAUTHORIZED'));
      const id = (req.params as { id: string }).id;
      const r = await reports.get(id);
      await audit(hub.db, {
        at: hub.nowS(),
        actor: `operator:${s.operatorId}`,
        action: 'report.download',
        target: id,
        ok: Boolean(r),
      });
      if (!r) return send(reply, failure('NOT_FOUND'));
      return reply
        .type(r.contentType)
        .header(
          'content-disposition',
          `attachment; filename="${r.meta.id}.${r.contentType.includes('json') ? 'json' : 'csv'}"`,
        )
        .send(r.body);
    });
  });

  const dist = opts.distDir ?? CONSOLE_DIST;
  if (existsSync(path.join(dist, 'index.html'))) {
    await app.register(async (scope) => {
      scope.addHook('onSend', async (_req, reply, payload) => {
        reply.header(
          'content-security-policy',
          "default-src 'self'; img-src 'self'; style-src 'self'; font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        );
        reply.header('x-content-type-options', 'nosniff');
        return payload;
      });
      await scope.register(fastifyStatic, {
        root: dist,
        prefix: `${CONSOLE_PREFIX}/`,
        decorateReply: false,
        index: 'index.html',
      });
      scope.get(CONSOLE_PREFIX, async (_req, reply) => reply.redirect(`${CONSOLE_PREFIX}/`));
    });
  }
};
