// The integration API for the traffic authority's systems, /api/v1/…: every route is declared once with
// its zod schemas, which both check the requests at run time and make the OpenAPI document the hub serves
// at /api/v1/openapi.json (so the document cannot drift from what is enforced). Authentication by API key
// with scopes (keys.ts); every call is logged in api_calls (key id, method, route, status, time; never the
// key, never a query string, which can hold decision numbers).
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { fineSchema } from '../../protocol/fines.ts';
import { DECISION_NO_RE } from '../../protocol/ids.ts';
import { failure, type Failure } from '../../protocol/result.ts';
import { wireFailureSchema } from '../../protocol/sync.ts';
import { statusFor } from '../app.ts';
import type { HubService } from '../service/index.ts';
import { batchIdSchema, batchStatusSchema, getBatch, runBatch } from './batches.ts';
import { ackFeed, feedPageSchema, readFeed } from './feed.ts';
import { checkedItems, fineBatchItemSchema, type UpsertInput } from './fines-upsert.ts';
import { authenticateApiKey, type ApiKeyInfo, type Scope } from './keys.ts';
import { ndjsonLines } from './ndjson.ts';
import { paymentSearchSchema, paymentViewSchema, searchPayments } from './payments.ts';
import { reportMetaSchema, storedReports, type ReconciliationReports } from './reports.ts';

export const API_PREFIX = '/api/v1';
export const NDJSON = 'application/x-ndjson';

/** HTTP status of a failure of the integration API or the console. */
export function serviceStatus(f: Failure): number {
  switch (f.code) {
    case 'KEY_REVOKED':
    case 'LOGIN_FAILED':
      return 401;
    case 'FORBIDDEN':
    case 'CSRF':
      return 403;
    case 'LOGIN_LOCKED':
      return 429;
    case 'BATCH_RUNNING':
    case 'BATCH_ID_REUSED':
    case 'REVISION_STALE':
      return 409;
    default:
      return statusFor(f);
  }
}

interface Ctx {
  hub: HubService;
  key: ApiKeyInfo;
}

interface RouteDef {
  method: 'GET' | 'POST' | 'PUT';
  /** Fastify path (`:param`). */
  path: string;
  operationId: string;
  summary: string;
  scope?: Scope;
  params?: z.ZodObject;
  query?: z.ZodType;
  /** JSON body schema. */
  body?: z.ZodType;
  /** Schema of one NDJSON line, when the route also takes a streamed body. */
  ndjsonLine?: z.ZodType;
  responses: Record<
    number,
    { description: string; schema?: z.ZodType; contentType?: string; alsoJson?: boolean }
  >;
  handler: (req: FastifyRequest, reply: FastifyReply, ctx: Ctx) => Promise<unknown>;
}

export const errorBodySchema = wireFailureSchema;

const fineBatchJsonSchema = z.object({
  items: z.array(fineBatchItemSchema).min(1).max(10_000),
});

export const fineWithRevisionSchema = z.object({
  fine: fineSchema,
  revision: z
    .number()
    .int()
    .describe('The authority’s revision the hub holds (0: never set through the API)'),
});

const errors = (...codes: number[]): RouteDef['responses'] =>
  Object.fromEntries(
    codes.map((c) => [c, { description: `Refused (see error.code)`, schema: errorBodySchema }]),
  ) as RouteDef['responses'];

export function integrationRoutes(reports: ReconciliationReports): RouteDef[] {
  return [
    {
      method: 'PUT',
      path: `${API_PREFIX}/fines/batches/:batchId`,
      operationId: 'putFinesBatch',
      summary:
        'Upsert and cancel fines by decision number with revisions (newer wins). JSON {items} or NDJSON ' +
        '(one item per line, streamed). The batch id makes a retry return the first result and change nothing.',
      scope: 'fines:write',
      params: z.object({ batchId: batchIdSchema }),
      body: fineBatchJsonSchema,
      ndjsonLine: fineBatchItemSchema,
      responses: {
        200: { description: 'The batch result', schema: batchStatusSchema },
        ...errors(400, 401, 403, 409),
      },
      handler: async (req, reply, { hub, key }) => {
        const { batchId } = req.params as { batchId: string };
        const stream = req.body as Readable | { items: unknown[] };
        const isStream = typeof (stream as Readable).pipe === 'function';
        const items = (): AsyncIterable<UpsertInput> =>
          isStream
            ? checkedItems(ndjsonLines(stream as Readable))
            : checkedItems(
                (async function* () {
                  let line = 0;
                  for (const value of (stream as { items: unknown[] }).items) yield { line: ++line, value };
                })(),
              );
        const r = await runBatch(hub.db, batchId, `apikey:${key.id}`, items, hub.nowS);
        if (isStream) (stream as Readable).resume(); // a replayed batch leaves its body unread
        if (!r.ok) return reply.code(serviceStatus(r.error)).send({ error: r.error, hubTime: hub.nowS() });
        return r.value;
      },
    },
    {
      method: 'GET',
      path: `${API_PREFIX}/fines/batches/:batchId`,
      operationId: 'getFinesBatch',
      summary: 'Status and progress of a fines batch',
      scope: 'fines:write',
      params: z.object({ batchId: batchIdSchema }),
      responses: { 200: { description: 'The batch', schema: batchStatusSchema }, ...errors(401, 403, 404) },
      handler: async (req, reply, { hub }) => {
        const b = await getBatch(hub.db, (req.params as { batchId: string }).batchId);
        if (!b) return reply.code(404).send({ error: failure('NOT_FOUND'), hubTime: hub.nowS() });
        return b;
      },
    },
    {
      method: 'GET',
      path: `${API_PREFIX}/fines/:decisionNo`,
      operationId: 'getFine',
      summary: 'A fine as the hub holds it (status paid once paid), with its revision',
      scope: 'fines:read',
      params: z.object({ decisionNo: z.string().regex(DECISION_NO_RE) }),
      responses: {
        200: { description: 'The fine', schema: fineWithRevisionSchema },
        ...errors(401, 403, 404),
      },
      handler: async (req, reply, { hub }) => {
        const r = await hub.db.query<{ data: z.infer<typeof fineSchema>; source_rev: number }>(
          'SELECT data, source_rev FROM fines WHERE decision_no = $1',
          [(req.params as { decisionNo: string }).decisionNo],
        );
        const f = r.rows[0];
        if (!f) return reply.code(404).send({ error: failure('FINE_NOT_FOUND'), hubTime: hub.nowS() });
        return { fine: f.data, revision: Number(f.source_rev) };
      },
    },
    {
      method: 'GET',
      path: `${API_PREFIX}/events`,
      operationId: 'readEvents',
      summary:
        'Payments and refunds, oldest first, after `after` (default: after this key’s acknowledged cursor). ' +
        'Each event has a stable id: de-duplicate by it, then acknowledge the cursor.',
      scope: 'payments:read',
      query: z.object({
        after: z.coerce.number().int().min(0).optional(),
        limit: z.coerce.number().int().min(1).max(1000).default(100),
      }),
      responses: {
        200: { description: 'A page of events', schema: feedPageSchema },
        ...errors(400, 401, 403),
      },
      handler: async (req, _reply, { hub, key }) => {
        const q = req.query as { after?: number; limit: number };
        return readFeed(hub.db, key.id, q.after, q.limit);
      },
    },
    {
      method: 'POST',
      path: `${API_PREFIX}/events/ack`,
      operationId: 'ackEvents',
      summary: 'Acknowledge every event up to and including `cursor` (never moves back)',
      scope: 'payments:read',
      body: z.object({ cursor: z.number().int().min(0) }),
      responses: {
        200: { description: 'The acknowledged cursor', schema: z.object({ acked: z.number().int() }) },
        ...errors(400, 401, 403),
      },
      handler: async (req, reply, { hub, key }) => {
        const r = await ackFeed(hub.db, key.id, (req.body as { cursor: number }).cursor, hub.nowS());
        if (!r.ok) return reply.code(serviceStatus(r.error)).send({ error: r.error, hubTime: hub.nowS() });
        return r.value;
      },
    },
    {
      method: 'GET',
      path: `${API_PREFIX}/payments`,
      operationId: 'searchPayments',
      summary: 'Payments by decision number, bill number or channel transaction id',
      scope: 'payments:read',
      query: paymentSearchSchema,
      responses: {
        200: { description: 'Matching payments', schema: z.object({ payments: z.array(paymentViewSchema) }) },
        ...errors(400, 401, 403),
      },
      handler: async (req, _reply, { hub }) => ({
        payments: await searchPayments(hub.db, req.query as z.infer<typeof paymentSearchSchema>),
      }),
    },
    {
      method: 'GET',
      path: `${API_PREFIX}/reconciliation/reports`,
      operationId: 'listReconciliationReports',
      summary: 'Reconciliation reports of the payment channels’ statements',
      scope: 'reports:read',
      responses: {
        200: {
          description: 'Reports, newest first',
          schema: z.object({ reports: z.array(reportMetaSchema) }),
        },
        ...errors(401, 403),
      },
      handler: async () => ({ reports: await reports.list() }),
    },
    {
      method: 'GET',
      path: `${API_PREFIX}/reconciliation/reports/:id`,
      operationId: 'downloadReconciliationReport',
      summary: 'One reconciliation report, as the reconciliation stored it (CSV or JSON)',
      scope: 'reports:read',
      params: z.object({ id: z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/) }),
      responses: {
        200: { description: 'The report', contentType: 'text/csv', schema: z.string(), alsoJson: true },
        ...errors(401, 403, 404),
      },
      handler: async (req, reply, { hub }) => {
        const r = await reports.get((req.params as { id: string }).id);
        if (!r) return reply.code(404).send({ error: failure('NOT_FOUND'), hubTime: hub.nowS() });
        return reply
          .type(r.contentType)
          .header(
            'content-disposition',
            `attachment; filename="${r.meta.id}.${r.contentType.includes('json') ? 'json' : 'csv'}"`,
          )
          .send(r.body);
      },
    },
  ];
}

const toSchema = (s: z.ZodType, io: 'input' | 'output'): Record<string, unknown> => {
  const j = z.toJSONSchema(s, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Record<
    string,
    unknown
  >;
  delete j.$schema;
  return j;
};

/** The OpenAPI 3.1 document of the routes, from their zod schemas. */
export function openApiDocument(routes: RouteDef[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const p = r.path.replace(/:([A-Za-z]+)/g, '{$1}');
    const parameters: unknown[] = [];
    for (const [where, obj] of [
      ['path', r.params],
      ['query', r.query],
    ] as const) {
      if (!obj) continue;
      const js = toSchema(obj, 'input') as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, schema] of Object.entries(js.properties ?? {})) {
        parameters.push({
          name,
          in: where,
          required: where === 'path' || (js.required ?? []).includes(name),
          schema,
        });
      }
    }
    const op: Record<string, unknown> = {
      operationId: r.operationId,
      summary: r.summary,
      ...(r.scope ? { security: [{ apiKey: [r.scope] }], 'x-scope': r.scope } : {}),
      ...(parameters.length ? { parameters } : {}),
      responses: Object.fromEntries(
        Object.entries(r.responses).map(([code, resp]) => [
          code,
          {
            description: resp.description,
            ...(resp.schema
              ? {
                  content: {
                    [resp.contentType ?? 'application/json']: { schema: toSchema(resp.schema, 'output') },
                  },
                }
              : {}),
          },
        ]),
      ),
    };
    if (r.body || r.ndjsonLine) {
      const content: Record<string, unknown> = {};
      if (r.body) content['application/json'] = { schema: toSchema(r.body, 'input') };
      if (r.ndjsonLine)
        content[NDJSON] = {
          // OpenAPI 3.1 has no word for a stream of JSON lines: the schema is that of each line.
          schema: toSchema(r.ndjsonLine, 'input'),
          'x-ndjson-line': true,
        };
      op.requestBody = { required: true, content };
    }
    (paths[p] ??= {})[r.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'finekiosk hub integration API',
      version,
      description:
        'Fines in (batched upserts by decision number with revisions; NDJSON streams), payments and refunds out ' +
        '(a feed with an acknowledged cursor; signed webhooks), reconciliation reports. Money is integer fen; ' +
        'times are Unix seconds. Failures: {error:{code,message,messageZh}}.',
    },
    components: {
      securitySchemes: {
        apiKey: {
          type: 'http',
          scheme: 'bearer',
          description: 'An API key made by an operator: fk_<id>_<secret>',
        },
      },
    },
    paths,
  };
}

export interface IntegrationOptions {
  hub: HubService;
  reports?: ReconciliationReports;
}

declare module 'fastify' {
  interface FastifyRequest {
    fkKeyId?: string | null;
  }
}

/** Registers /api/v1 (the routes above, the OpenAPI document and the call log). */
export const integrationPlugin: FastifyPluginAsync<IntegrationOptions> = async (
  app: FastifyInstance,
  opts,
) => {
  const { hub } = opts;
  const routes = integrationRoutes(opts.reports ?? storedReports(hub.db));
  const doc = openApiDocument(routes, '1.0.0');
  // NDJSON bodies reach the handler as the raw stream: read line by line, never buffered whole.
  app.addContentTypeParser(NDJSON, (_req, payload, done) => done(null, payload));
  app.setErrorHandler((err: { code?: string; statusCode?: number; message: string }, req, reply) => {
    if (err.statusCode && err.statusCode < 500)
      return reply.code(err.statusCode === 413 ? 413 : 400).send({
        error: failure(err.statusCode === 413 ? 'TOO_LARGE' : 'MALFORMED', err.message),
        hubTime: hub.nowS(),
      });
    req.log.error({ err }, 'unexpected error');
    return reply.code(500).send({ error: failure('UNEXPECTED'), hubTime: hub.nowS() });
  });
  app.addHook('onResponse', async (req, reply) => {
    if (!req.url.startsWith(API_PREFIX)) return;
    await hub.db
      .query(
        'INSERT INTO api_calls (key_id, method, route, status, at, ms) VALUES ($1, $2, $3, $4, $5, $6)',
        [
          req.fkKeyId ?? null,
          req.method,
          req.routeOptions.url ?? req.url.split('?')[0],
          reply.statusCode,
          hub.nowS(),
          Math.round(reply.elapsedTime),
        ],
      )
      .catch((e: Error) => req.log.warn({ err: e.message }, 'api call not logged'));
  });
  app.get(`${API_PREFIX}/openapi.json`, async () => doc);
  for (const r of routes) {
    app.route({
      method: r.method,
      url: r.path,
      handler: async (req, reply) => {
        const refuse = (f: Failure): FastifyReply =>
          reply.code(serviceStatus(f)).send({ error: f, hubTime: hub.nowS() });
        if (r.scope) {
          const a = await authenticateApiKey(hub.db, req.headers.authorization, r.scope, hub.nowS());
          req.fkKeyId = a.keyId;
          if (!a.result.ok) {
            req.log.info({ code: a.result.error.code, keyId: a.keyId }, 'api call refused');
            return refuse(a.result.error);
          }
          const check = (schema: z.ZodType | undefined, v: unknown, set: (x: unknown) => void): boolean => {
            if (!schema) return true;
            const p = schema.safeParse(v ?? {});
            if (p.success) {
              set(p.data);
              return true;
            }
            const i = p.error.issues[0];
            refuse(
              failure('MALFORMED', i ? `${i.path.join('.')}: ${i.message}`.replace(/^: /, '') : undefined),
            );
            return false;
          };
          if (!check(r.params, req.params, (x) => (req.params = x))) return reply;
          if (!check(r.query, req.query, (x) => (req.query = x))) return reply;
          const streamed = req.headers['content-type']?.startsWith(NDJSON);
          if (r.body && !streamed && !check(r.body, req.body, (x) => (req.body = x))) return reply;
          if (streamed && !r.ndjsonLine) return refuse(failure('MALFORMED', 'this route takes JSON'));
          return r.handler(req, reply, { hub, key: a.result.value });
        }
        return r.handler(req, reply, { hub, key: undefined as never });
      },
    });
  }
};
