// Test helpers: a hub on PGlite (in memory) or, when DATABASE_URL is set, on PostgreSQL in a fresh schema
// dropped afterwards; and a signing device client.
import { randomBytes, randomUUID } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import pg from 'pg';
import { buildHubApp } from '../../hub/app.ts';
import { openHubDb, type HubDb } from '../../hub/db.ts';
import { createHubService, type HubService } from '../../hub/service/index.ts';
import { eventHash, GENESIS_HASH, type EventType, type OutboxEvent } from '../../protocol/events.ts';
import { generateKeyPair, publicKeyToRaw } from '../../protocol/signing.ts';
import { signRequest } from '../../protocol/sync.ts';
import type { Clock } from '../../protocol/time.ts';
import { makeBillToken } from '../../protocol/tokens.ts';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { hubImage } from '../support/pglite-template.ts';

// Response bodies are read loosely in tests; the schemas are checked by the code under test.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export const STORAGES: ('pglite' | 'postgres')[] = process.env.DATABASE_URL
  ? ['pglite', 'postgres']
  : ['pglite'];

export interface TestHub {
  db: HubDb;
  hub: HubService;
  app: FastifyInstance;
  url: string;
  close(): Promise<void>;
}

export async function openTestDb(
  storage: 'pglite' | 'postgres',
): Promise<{ db: HubDb; drop(): Promise<void> }> {
  if (storage === 'pglite') {
    const db = await openHubDb({ template: await hubImage() });
    return { db, drop: async () => db.close() };
  }
  const url = process.env.DATABASE_URL!;
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const db = await openHubDb({ databaseUrl: url, schema });
  return {
    db,
    async drop() {
      await db.close();
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(`DROP SCHEMA ${schema} CASCADE`);
      await c.end();
    },
  };
}

export async function startTestHub(storage: 'pglite' | 'postgres', clock?: Clock): Promise<TestHub> {
  const { db, drop } = await openTestDb(storage);
  const hub = createHubService({ db, ...(clock ? { clock } : {}) });
  await hub.keys.current();
  const app = await buildHubApp({
    hub,
    logger: pino({ level: process.env.FK_DEBUG ? 'info' : 'silent' }),
    adminSecret: 'test-secret-123',
    closeGraceMs: 200,
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
      const t0 = Date.now();
      await app.close();
      if (process.env.FK_DEBUG) console.log('app closed', Date.now() - t0);
      await drop();
      if (process.env.FK_DEBUG) console.log('dropped', Date.now() - t0);
    },
  };
}

/** A fake device: keys, its own outbox chain, and signed requests. */
export class TestDevice {
  readonly privateKey: KeyObject;
  readonly publicKeyRaw: string;
  readonly events: OutboxEvent[] = [];
  billCount = 0;
  constructor(
    readonly id: string,
    readonly clock: Clock = { now: () => Date.now() },
  ) {
    const kp = generateKeyPair();
    this.privateKey = kp.privateKey;
    this.publicKeyRaw = publicKeyToRaw(kp.publicKey);
  }

  append(type: EventType, payload: object): OutboxEvent {
    const prev = this.events.at(-1);
    const base = {
      deviceId: this.id,
      seq: (prev?.seq ?? 0) + 1,
      eventId: randomUUID(),
      type,
      at: this.clock.now(),
      payload: JSON.stringify(payload),
      prevHash: prev?.hash ?? GENESIS_HASH,
    };
    const e = { ...base, hash: eventHash(base) };
    this.events.push(e);
    return e;
  }

  issueBill(
    decisionNo: string,
    amountFen: number,
    replaces?: string,
  ): { billNo: string; token: string; event: OutboxEvent } {
    const issuedAt = Math.floor(this.clock.now() / 1000);
    const billNo = `${this.id.toUpperCase()}-${++this.billCount}`;
    const claims = {
      billNo,
      decisionNo,
      amountFen,
      issuedAt,
      expiresAt: issuedAt + 14400,
      deviceId: this.id,
    };
    const token = makeBillToken(claims, this.privateKey);
    const event = this.append('bill.issued', {
      billNo,
      decisionNo,
      fineFen: amountFen,
      lateFeeFen: 0,
      amountFen,
      issuedAt,
      expiresAt: issuedAt + 14400,
      token,
      ...(replaces ? { replaces } : {}),
    });
    return { billNo, token, event };
  }

  headers(
    method: string,
    path: string,
    body: string,
    opts: { time?: number; nonce?: string; key?: KeyObject; id?: string } = {},
  ): Record<string, string> {
    const time = opts.time ?? Math.floor(this.clock.now() / 1000);
    const nonce = opts.nonce ?? randomBytes(16).toString('base64url');
    return {
      ...signRequest(opts.key ?? this.privateKey, opts.id ?? this.id, method, path, time, nonce, body),
      'content-type': 'application/json',
    };
  }

  async request(
    base: string,
    method: 'GET' | 'POST',
    path: string,
    body = '',
    opts: Parameters<TestDevice['headers']>[3] = {},
  ): Promise<{ status: number; json: Json }> {
    const res = await fetch(base + path, {
      method,
      headers: this.headers(method, path, body, opts),
      ...(method === 'POST' ? { body } : {}),
    });
    return { status: res.status, json: await res.json() };
  }

  push(
    base: string,
    events: OutboxEvent[],
    opts: Parameters<TestDevice['headers']>[3] = {},
  ): Promise<{ status: number; json: Json }> {
    return this.request(base, 'POST', '/v1/sync/push', JSON.stringify({ events }), opts);
  }
}

export async function enrollDevice(t: TestHub, dev: TestDevice, region = '110000'): Promise<void> {
  const code = await t.hub.devices.add({ name: `kiosk ${dev.id}`, region });
  if (!code.ok) throw new Error('device add failed');
  const r = await t.hub.enroll({ code: code.value.code, publicKey: dev.publicKeyRaw, deviceId: dev.id });
  if (!r.ok) throw new Error(`enroll failed: ${r.error.message}`);
}

export function sampleFine(
  decisionNo: string,
  region = '110000',
  over: Partial<Record<string, unknown>> = {},
): Record<string, unknown> {
  return {
    decisionNo,
    region,
    plate: '京A12345',
    vehicleIdLast6: '123456',
    violationCode: '1039',
    description: '违反禁令标志指示',
    place: '长安街',
    occurredAt: '2026-05-01T08:30:00+08:00',
    decidedOn: '2026-05-03',
    fineFen: 20000,
    points: 3,
    status: 'unpaid',
    ...over,
  };
}
