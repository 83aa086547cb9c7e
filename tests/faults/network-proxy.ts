// A fault-injecting HTTP proxy for sync tests: between kiosk and hub it drops requests, drops responses
// (after the hub applied them), duplicates (the copy arrives later, a replay), reorders and delays,
// resets connections and answers 500s, at random from a seed. heal() turns every fault off.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FaultCounts {
  requests: number;
  droppedRequests: number;
  droppedResponses: number;
  duplicated: number;
  delayed: number;
  resets: number;
  errors500: number;
  forwarded: number;
}

export interface FaultProxy {
  url: string;
  counts: FaultCounts;
  heal(): void;
  close(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function startFaultProxy(target: string, seed: number, rate = 0.35): Promise<FaultProxy> {
  const rnd = mulberry32(seed);
  let healed = false;
  const counts: FaultCounts = {
    requests: 0,
    droppedRequests: 0,
    droppedResponses: 0,
    duplicated: 0,
    delayed: 0,
    resets: 0,
    errors500: 0,
    forwarded: 0,
  };
  const t = new URL(target);
  const forward = (method: string, url: string, headers: http.IncomingHttpHeaders, body: Buffer) =>
    new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      const req = http.request(
        { host: t.hostname, port: t.port, method, path: url, headers: { ...headers, host: t.host } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        counts.requests++;
        const body = Buffer.concat(chunks);
        const fault = !healed && rnd() < rate ? Math.floor(rnd() * 6) : -1;
        const delay = !healed && rnd() < 0.3 ? Math.floor(rnd() * 80) : 0;
        if (delay) {
          counts.delayed++;
          await sleep(delay);
        }
        if (fault === 0) {
          counts.droppedRequests++;
          res.socket?.destroy();
          return;
        }
        if (fault === 1) {
          counts.resets++;
          res.socket?.resetAndDestroy();
          return;
        }
        if (fault === 2) {
          counts.errors500++;
          res.writeHead(500, { 'content-type': 'text/plain' }).end('proxy says no');
          return;
        }
        if (fault === 3) {
          // The copy goes later, after other requests overtook it: a replay and a reordering at once.
          counts.duplicated++;
          const copyDelay = 20 + Math.floor(rnd() * 300);
          setTimeout(
            () => void forward(req.method!, req.url!, req.headers, body).catch(() => undefined),
            copyDelay,
          );
        }
        let r;
        try {
          r = await forward(req.method!, req.url!, req.headers, body);
          counts.forwarded++;
        } catch {
          res.socket?.destroy();
          return;
        }
        if (fault === 4) {
          counts.droppedResponses++;
          res.socket?.destroy();
          return;
        }
        if (fault === 5) {
          counts.errors500++;
          res.writeHead(500).end();
          return;
        }
        const h = { ...r.headers };
        delete h['transfer-encoding'];
        delete h['connection'];
        res.writeHead(r.status, h).end(r.body);
      })();
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    heal: () => {
      healed = true;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
