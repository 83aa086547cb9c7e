// Webhooks against a consumer that fails, times out and gets deliveries twice: it still ends with each
// payment exactly once (it de-duplicates by the event id and checks the hub's signature on its own, with
// node:crypto's HMAC, not with the hub's code). Dead letters are kept and an operator replays them.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runAdmin } from '../../hub/admin.ts';
import { deliverOnce } from '../../hub/integration/webhooks.ts';
import { ManualClock } from '../../protocol/time.ts';
import { STORAGES, type Json, type TestHub } from '../hub/helpers.ts';
import { enrollDevice, startServiceHub, TestDevice } from './helpers.ts';

const NOW = Date.UTC(2026, 4, 10, 2, 0, 0);

type Behaviour = 'fail' | 'timeout' | 'ok-then-fail' | 'ok';

/** The authority's webhook consumer: stores payments by event id, answers as the script says. */
function consumer(secret: () => string, script: Behaviour[]) {
  const stored = new Map<string, Json>();
  const received: string[] = [];
  let badSignatures = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const sig = /^t=([0-9]+),v1=([0-9a-f]{64})$/.exec(String(req.headers['x-fk-signature']));
      const want = sig && createHmac('sha256', secret()).update(`${sig[1]}.${body}`).digest();
      if (!sig || !want || !timingSafeEqual(want, Buffer.from(sig[2]!, 'hex'))) {
        badSignatures++;
        res.writeHead(401).end();
        return;
      }
      const ev = JSON.parse(body) as Json;
      received.push(ev.id);
      const b = script.shift() ?? 'ok';
      if (b === 'fail') return void res.writeHead(500).end('down');
      // Stored, but the answer comes too late: the hub will send it again.
      stored.set(ev.id, ev.data);
      if (b === 'timeout') return void setTimeout(() => res.writeHead(200).end(), 1500);
      if (b === 'ok-then-fail') return void res.writeHead(503).end();
      res.writeHead(200).end('ok');
    });
  });
  return {
    stored,
    received,
    badSignatures: () => badSignatures,
    async start(): Promise<string> {
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const a = server.address();
      return `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/hook`;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

for (const storage of STORAGES) {
  describe(`webhooks (${storage})`, () => {
    let t: TestHub;
    let clock: ManualClock;
    beforeEach(async () => {
      clock = new ManualClock(NOW);
      t = await startServiceHub(storage, { clock });
    });
    afterEach(async () => t.close());

    async function pay(dev: TestDevice, n: number): Promise<void> {
      for (let i = 0; i < n; i++) {
        const b = dev.issueBill(`1600000000${String(dev.billCount + 1).padStart(4, '0')}`, 5000);
        expect((await dev.push(t.url, [b.event])).status).toBe(200);
        const s = await t.hub.payments.settle({
          billNo: b.billNo,
          amountFen: 5000,
          channel: 'wechat',
          txnId: `W${dev.billCount}X${i}`,
          paidAt: Math.floor(clock.now() / 1000),
        });
        expect(s.ok).toBe(true);
      }
    }

    /** Runs the worker until it has nothing due, advancing the clock past each backoff. */
    async function drain(opts: Parameters<typeof deliverOnce>[1]): Promise<void> {
      for (let i = 0; i < 200; i++) {
        const n = await deliverOnce(t.db, opts);
        if (n === 0) {
          const due = await t.db.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM webhooks w WHERE w.enabled AND (EXISTS (SELECT 1 FROM feed_events e WHERE e.pos > w.cursor)
               OR EXISTS (SELECT 1 FROM webhook_dead d WHERE d.webhook_id = w.id AND d.state = 'queued'))`,
          );
          if (Number(due.rows[0]!.n) === 0) return;
        }
        clock.advance(60_000);
      }
      throw new Error('webhook worker did not finish');
    }

    it('a consumer that fails, times out and answers twice still ends with each payment exactly once', async () => {
      let secret = '';
      const c = consumer(() => secret, ['fail', 'timeout', 'ok', 'ok-then-fail', 'fail', 'ok']);
      const url = await c.start();
      try {
        const w = await runAdmin(t.hub, 'webhook.add', { url });
        expect(w.ok).toBe(true);
        secret = ((w as Json).value as { secret: string }).secret;
        const dev = new TestDevice('devwh01', clock);
        await enrollDevice(t, dev);
        await pay(dev, 4);
        const opts = {
          nowMs: () => clock.now(),
          random: () => 0.5,
          timeoutMs: 300,
          baseDelayMs: 1000,
          maxAttempts: 10,
        };
        await drain(opts);
        const events = (
          await t.db.query<{ event_id: string }>('SELECT event_id FROM feed_events ORDER BY pos')
        ).rows.map((r) => r.event_id);
        expect(events).toHaveLength(4);
        expect([...c.stored.keys()].sort()).toEqual([...events].sort());
        // Some events arrived more than once (timeouts, a lost answer); the consumer kept each once.
        expect(c.received.length).toBeGreaterThan(events.length);
        expect(new Set(c.received).size).toBe(events.length);
        expect(c.badSignatures()).toBe(0);
        const list = (await runAdmin(t.hub, 'webhook.list', {})) as { ok: true; value: Json[] };
        expect(list.value[0]).toMatchObject({ dead: 0, attempts: 0, lastError: null });
      } finally {
        await c.close();
      }
    });

    it('after the last attempt an event is a dead letter; the operator replays it and it arrives once', async () => {
      let secret = '';
      const c = consumer(() => secret, ['fail', 'fail', 'ok']);
      const url = await c.start();
      try {
        const w = await runAdmin(t.hub, 'webhook.add', { url });
        secret = ((w as Json).value as { secret: string }).secret;
        const id = ((w as Json).value as { id: string }).id;
        const dev = new TestDevice('devwh02', clock);
        await enrollDevice(t, dev);
        await pay(dev, 2);
        const opts = { nowMs: () => clock.now(), random: () => 0.5, timeoutMs: 300, maxAttempts: 2 };
        await drain(opts);
        const dead = (await runAdmin(t.hub, 'webhook.dead', { id })) as { ok: true; value: Json[] };
        expect(dead.value).toHaveLength(1);
        expect(dead.value[0]).toMatchObject({ state: 'dead', attempts: 2, lastError: 'answered 500' });
        expect(c.stored.size).toBe(1);
        expect((await runAdmin(t.hub, 'webhook.replay', { id })).ok).toBe(true);
        await drain(opts);
        expect(c.stored.size).toBe(2);
        expect(((await runAdmin(t.hub, 'webhook.dead', { id })) as { value: Json[] }).value[0].state).toBe(
          'delivered',
        );
        const audit = await runAdmin(t.hub, 'audit.read', {});
        expect((audit as { value: Json[] }).value.map((a: Json) => a.action)).toEqual([
          'webhook.replay',
          'webhook.add',
        ]);
      } finally {
        await c.close();
      }
    });
  });
}
