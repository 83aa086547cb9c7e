// A hub with the service plugins (integration API, health, metrics, console), on PGlite or PostgreSQL,
// and an API client that checks every request and answer against the hub's own served OpenAPI document
// with an independent validator (ajv, JSON Schema 2020-12).
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import pino from 'pino';
import { buildHubApp } from '../../hub/app.ts';
import { servicePlugins, type ServicePluginOptions } from '../../hub/integration/index.ts';
import { runAdmin } from '../../hub/admin.ts';
import { createHubService } from '../../hub/service/index.ts';
import type { Clock } from '../../protocol/time.ts';
import { openTestDb, TestDevice, enrollDevice, sampleFine, type Json, type TestHub } from '../hub/helpers.ts';

export { TestDevice, enrollDevice, sampleFine, type Json };

export async function startServiceHub(
  storage: 'pglite' | 'postgres',
  o: { clock?: Clock; plugins?: ServicePluginOptions } = {},
): Promise<TestHub> {
  const { db, drop } = await openTestDb(storage);
  const hub = createHubService({ db, ...(o.clock ? { clock: o.clock } : {}) });
  await hub.keys.current();
  const app = await buildHubApp({
    hub,
    logger: pino({ level: process.env.FK_DEBUG ? 'info' : 'silent' }),
    closeGraceMs: 200,
    plugins: servicePlugins({ webhooks: false, ...o.plugins }),
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    db,
    hub,
    app,
    url: `http://127.0.0.1:${port}`,
    async close() {
      await app.close();
      await drop();
    },
  };
}

/** Makes an API key through the operator dispatcher (as the CLI does). */
export async function makeKey(
  t: TestHub,
  scopes: string[],
  name = 'authority',
): Promise<{ key: string; id: string }> {
  const r = await runAdmin(t.hub, 'apikey.create', { name, scopes });
  if (!r.ok) throw new Error(r.error.message);
  const v = r.value as { key: string; info: { id: string } };
  return { key: v.key, id: v.info.id };
}

interface Operation {
  path: string;
  method: string;
  op: Json;
}

/** Client validating against the served OpenAPI document; records which operations were exercised. */
export class ContractClient {
  readonly exercised = new Set<string>();
  private ajv = new Ajv2020({ strict: false, allErrors: true });
  private ops: Operation[] = [];
  constructor(
    readonly base: string,
    readonly doc: Json,
  ) {
    addFormats.default(this.ajv);
    for (const [path, methods] of Object.entries(doc.paths as Record<string, Record<string, Json>>)) {
      for (const [method, op] of Object.entries(methods))
        this.ops.push({ path, method: method.toUpperCase(), op });
    }
  }

  static async load(base: string): Promise<ContractClient> {
    const res = await fetch(`${base}/api/v1/openapi.json`);
    return new ContractClient(base, await res.json());
  }

  operationIds(): string[] {
    return this.ops.map((o) => o.op.operationId as string);
  }

  private find(method: string, pathname: string): Operation {
    const o = this.ops.find(
      (x) => x.method === method && new RegExp(`^${x.path.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(pathname),
    );
    if (!o) throw new Error(`no operation for ${method} ${pathname} in the document`);
    return o;
  }

  private check(schema: Json, value: unknown, what: string): void {
    const v = this.ajv.compile(schema);
    if (!v(value))
      throw new Error(
        `${what} does not validate: ${this.ajv.errorsText(v.errors)}\n${JSON.stringify(value).slice(0, 500)}`,
      );
  }

  /** Sends a request; checks request body and answer against the document; returns status and body. */
  async call(
    method: 'GET' | 'POST' | 'PUT',
    pathAndQuery: string,
    opts: { key?: string; json?: unknown; ndjson?: unknown[] | string; skipRequestCheck?: boolean } = {},
  ): Promise<{ status: number; json: Json; text: string; contentType: string }> {
    const url = new URL(this.base + pathAndQuery);
    const o = this.find(method, url.pathname);
    const headers: Record<string, string> = {};
    if (opts.key) headers.authorization = `Bearer ${opts.key}`;
    let body: string | undefined;
    if (opts.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.json);
      if (!opts.skipRequestCheck)
        this.check(
          o.op.requestBody.content['application/json'].schema,
          opts.json,
          `request of ${o.op.operationId}`,
        );
    } else if (opts.ndjson !== undefined) {
      headers['content-type'] = 'application/x-ndjson';
      if (typeof opts.ndjson === 'string') body = opts.ndjson;
      else {
        for (const line of opts.ndjson)
          if (!opts.skipRequestCheck)
            this.check(
              o.op.requestBody.content['application/x-ndjson'].schema,
              line,
              `NDJSON line of ${o.op.operationId}`,
            );
        body = opts.ndjson.map((l) => JSON.stringify(l)).join('\n') + '\n';
      }
    }
    for (const p of o.op.parameters ?? []) {
      if (p.in !== 'query') continue;
      const v = url.searchParams.get(p.name);
      if (v === null) {
        if (p.required) throw new Error(`missing query ${p.name}`);
        continue;
      }
      this.check(
        p.schema,
        p.schema.type === 'integer' || p.schema.type === 'number' ? Number(v) : v,
        `query ${p.name}`,
      );
    }
    const res = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await res.text();
    const contentType = res.headers.get('content-type') ?? '';
    const resp = o.op.responses[String(res.status)];
    if (!resp)
      throw new Error(
        `${o.op.operationId} answered ${res.status}, not in the document: ${text.slice(0, 300)}`,
      );
    const entries = Object.entries(resp.content ?? {});
    const [ct, media] = entries.find(([c]) => contentType.startsWith(c)) ?? entries[0] ?? [];
    let json: Json = undefined;
    if (ct) {
      if (!contentType.startsWith(ct as string))
        throw new Error(`${o.op.operationId} answered ${contentType}, document says ${ct}`);
      json = (ct as string).includes('json') ? JSON.parse(text) : text;
      this.check((media as Json).schema, json, `answer ${res.status} of ${o.op.operationId}`);
    }
    this.exercised.add(`${o.op.operationId} ${res.status}`);
    this.exercised.add(o.op.operationId);
    return { status: res.status, json, text, contentType };
  }
}
