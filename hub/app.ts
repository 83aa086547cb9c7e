// The hub's HTTP app (Fastify): health, enrollment, signed push/pull/lookup, and the loopback admin
// endpoint the operator commands use while the hub runs. Other areas add routes as plugins.
import { timingSafeEqual } from 'node:crypto';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyPluginAsync,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Logger } from 'pino';
import { makeHubLogger } from './logging.ts';
import type { Failure } from '../protocol/result.ts';
import { failure } from '../protocol/result.ts';
import {
  enrollRequestSchema,
  eventsQuerySchema,
  HEADER_DEVICE,
  HEADER_NONCE,
  lookupQuerySchema,
  MAX_BODY_BYTES,
  nonceSchema,
  pullQuerySchema,
  pushRequestSchema,
  SYNC_PATHS,
} from '../protocol/sync.ts';
import { DEVICE_ID_RE } from '../protocol/ids.ts';
import { answerSigner } from './trust/answers.ts';
import { runAdmin } from './admin.ts';
import { blocksOf } from './officer/blocks.ts';
import type { HubService } from './service/index.ts';

export interface BuildHubAppOptions {
  hub: HubService;
  logger?: Logger;
  /** Secret for /admin (loopback only); admin is off when absent. */
  adminSecret?: string;
  /** Extra route plugins (pay page, channel notifications ...), registered after the core routes. */
  plugins?: { plugin: FastifyPluginAsync<{ hub: HubService }>; prefix?: string }[];
  /** How long close() waits for in-flight requests before cutting connections, ms. */
  closeGraceMs?: number;
  /** Longest long poll, seconds. */
  maxWaitSeconds?: number;
}

export function statusFor(f: Failure): number {
  switch (f.code) {
    case 'MALFORMED':
      return 400;
    case 'TOO_LARGE':
      return 413;
    case 'UNAUTHORIZED':
    case 'BAD_SIGNATURE':
    case 'UNKNOWN_DEVICE':
    case 'REPLAYED':
    case 'CLOCK_SKEW':
      return 401;
    case 'DEVICE_DISABLED':
      return 403;
    case 'SEQ_GAP':
    case 'CHAIN_BROKEN':
      return 409;
    case 'NOT_FOUND':
    case 'FINE_NOT_FOUND':
    case 'BILL_NOT_FOUND':
      return 404;
    case 'UNEXPECTED':
      return 500;
    default:
      return 422;
  }
}

/** The hub's logger: no query strings, no tokens (hub/logging.ts). */
export function makeLogger(level = process.env.FINEKIOSK_LOG_LEVEL ?? 'info'): Logger {
  return makeHubLogger(level);
}

export async function buildHubApp(opts: BuildHubAppOptions): Promise<FastifyInstance> {
  const { hub } = opts;
  const app = Fastify({
    loggerInstance: (opts.logger ?? makeLogger()) as FastifyBaseLogger,
    bodyLimit: MAX_BODY_BYTES,
    // Long polls must not hold a shutdown forever: preClose wakes them.
    forceCloseConnections: 'idle',
    return503OnClosing: true,
  });
  const waiters = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const w of waiters) w();
    // In-flight requests get a few seconds to finish; then connections a client left half-open go.
    setTimeout(() => app.server.closeAllConnections(), opts.closeGraceMs ?? 3000).unref();
  });

  // Every answer to a signed device request is signed by the hub's current key (protocol/answers.ts): the
  // kiosk believes nothing in an answer that does not verify. Routes added by plugins are covered too.
  const signOf = answerSigner({ db: hub.db, ensureKey: () => hub.keys.current() });
  app.addHook('onSend', async (req, reply, payload) => {
    const nonce = req.headers[HEADER_NONCE];
    const deviceId = req.headers[HEADER_DEVICE];
    if (typeof nonce !== 'string' || !nonceSchema.safeParse(nonce).success) return payload;
    if (typeof deviceId !== 'string' || !DEVICE_ID_RE.test(deviceId)) return payload;
    const body = payload ?? '';
    if (typeof body !== 'string' && !Buffer.isBuffer(body)) return payload;
    const headers = await signOf(
      { deviceId, method: req.method, path: req.url, nonce, status: reply.statusCode },
      body,
    );
    for (const [k, v] of Object.entries(headers)) void reply.header(k, v);
    return payload;
  });

  const sendFailure = (reply: FastifyReply, f: Failure): FastifyReply =>
    reply.code(statusFor(f)).send({ error: f, hubTime: hub.nowS() });

  app.get('/healthz', async (_req, reply) => {
    try {
      await hub.db.query('SELECT 1');
      return { ok: true, storage: hub.db.kind, hubTime: hub.nowS() };
    } catch (e) {
      return reply.code(503).send({ ok: false, error: (e as Error).message });
    }
  });

  // Signed sync routes in their own scope: they need the raw body for the signature.
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: MAX_BODY_BYTES }, (_req, body, done) =>
      done(null, body),
    );
    scope.setErrorHandler((err: { code?: string; statusCode?: number; message: string }, req, reply) => {
      if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return sendFailure(reply, failure('TOO_LARGE'));
      if (err.statusCode && err.statusCode < 500)
        return sendFailure(reply, failure('MALFORMED', err.message));
      req.log.error({ err }, 'unexpected error');
      return sendFailure(reply, failure('UNEXPECTED'));
    });

    const auth = async (req: FastifyRequest, reply: FastifyReply, deferNonce = false) => {
      const body = typeof req.body === 'string' ? req.body : '';
      const r = await hub.authenticate({
        method: req.method,
        path: req.url,
        headers: req.headers,
        body,
        deferNonce,
      });
      if (!r.ok) {
        req.log.info({ code: r.error.code }, 'request refused');
        sendFailure(reply, r.error);
        return undefined;
      }
      return r.value;
    };

    scope.get(SYNC_PATHS.time, async () => ({ hubTime: hub.nowS() }));

    scope.post(SYNC_PATHS.enroll, async (req, reply) => {
      let json: unknown;
      try {
        json = JSON.parse(String(req.body ?? ''));
      } catch {
        return sendFailure(reply, failure('MALFORMED', 'body is not JSON'));
      }
      const p = enrollRequestSchema.safeParse(json);
      if (!p.success) return sendFailure(reply, failure('MALFORMED', p.error.issues[0]?.message));
      const r = await hub.enroll(p.data);
      if (!r.ok) return sendFailure(reply, r.error);
      req.log.info({ deviceId: r.value.deviceId }, 'device enrolled');
      return r.value;
    });

    scope.post(SYNC_PATHS.push, async (req, reply) => {
      const dev = await auth(req, reply, true);
      if (!dev) return reply;
      let json: unknown;
      try {
        json = JSON.parse(String(req.body ?? ''));
      } catch {
        return sendFailure(reply, failure('MALFORMED', 'body is not JSON'));
      }
      const p = pushRequestSchema.safeParse(json);
      if (!p.success) {
        const i = p.error.issues[0];
        return sendFailure(reply, failure('MALFORMED', i ? `${i.path.join('.')}: ${i.message}` : undefined));
      }
      const r = await hub.push(dev, p.data.events, dev.nonce);
      if (!r.ok) {
        req.log.info({ deviceId: dev.id, code: r.error.code }, 'push refused');
        return sendFailure(reply, r.error);
      }
      return r.value;
    });

    scope.get(SYNC_PATHS.pull, async (req, reply) => {
      const dev = await auth(req, reply);
      if (!dev) return reply;
      const q = pullQuerySchema.safeParse(req.query);
      if (!q.success) return sendFailure(reply, failure('MALFORMED', q.error.issues[0]?.message));
      const wait = Math.min(q.data.wait, opts.maxWaitSeconds ?? 25);
      // Listen before the first read, so a change committed in between still wakes us.
      let wake: () => void = () => undefined;
      const woken = new Promise<void>((resolve) => (wake = resolve));
      const off = wait > 0 ? hub.db.onFeedChange(wake) : () => undefined;
      try {
        const first = await hub.pull(dev, q.data.cursor, q.data.limit);
        if (first.changes.length > 0 || wait === 0) return first;
        waiters.add(wake);
        const timer = setTimeout(wake, wait * 1000);
        req.raw.once('close', wake);
        await woken;
        clearTimeout(timer);
        waiters.delete(wake);
        return await hub.pull(dev, q.data.cursor, q.data.limit);
      } finally {
        off();
      }
    });

    scope.get(SYNC_PATHS.events, async (req, reply) => {
      const dev = await auth(req, reply);
      if (!dev) return reply;
      const q = eventsQuerySchema.safeParse(req.query);
      if (!q.success) return sendFailure(reply, failure('MALFORMED', q.error.issues[0]?.message));
      const page = await hub.eventsPage(dev, q.data.after, q.data.limit);
      return {
        ...page,
        name: dev.name,
        region: dev.region,
        hubKeys: await hub.keys.list(),
        config: await hub.config.get(),
        hubTime: hub.nowS(),
        blocks: await blocksOf(hub.db, dev.id),
      };
    });

    scope.get(SYNC_PATHS.lookup, async (req, reply) => {
      const dev = await auth(req, reply);
      if (!dev) return reply;
      const q = lookupQuerySchema.safeParse(req.query);
      if (!q.success) return sendFailure(reply, failure('MALFORMED', 'give decisionNo, or plate and vin6'));
      const fines =
        'decisionNo' in q.data
          ? [await hub.fines.byDecisionNo(q.data.decisionNo)].filter((f) => f !== undefined)
          : await hub.fines.byPlate(q.data.plate, q.data.vin6);
      return { fines, hubTime: hub.nowS() };
    });
  });

  // Operator commands while the hub runs (PGlite admits one process): loopback and a secret only.
  if (opts.adminSecret) {
    const secret = Buffer.from(opts.adminSecret);
    app.post('/admin/:op', async (req, reply) => {
      const given = Buffer.from(String(req.headers['x-fk-admin'] ?? ''));
      const loopback = ['127.0.0.1', '::1', '::ffff:127.0.0.1'].includes(req.socket.remoteAddress ?? '');
      if (!loopback || given.length !== secret.length || !timingSafeEqual(given, secret)) {
        return sendFailure(reply, failure('UNAUTHORIZED'));
      }
      const op = (req.params as { op: string }).op;
      const r = await runAdmin(hub, op, req.body ?? {});
      if (!r.ok) return sendFailure(reply, r.error);
      return { value: r.value };
    });
  }

  for (const p of opts.plugins ?? []) {
    await app.register(p.plugin, { hub, ...(p.prefix ? { prefix: p.prefix } : {}) });
  }
  return app;
}
