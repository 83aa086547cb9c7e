// The loopback server between the kiosk screen and the backend: the built renderer and POST /api/<method>,
// on 127.0.0.1 only. Each boot makes a session token; the launch URL carries it once (?t=...) and the
// server swaps it for an HttpOnly SameSite=Strict cookie. Every request's Host, and every API call's
// Origin, must be this server's own (a web page elsewhere, or DNS rebinding, gets nothing).
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import { failure, type Result } from '../protocol/result.ts';

export const COOKIE = 'fk_session';
const MAX_BODY = 64 * 1024;
/** Static answers being read from disk at once, across all connections (each holds one open file). */
const MAX_OPEN_FILES = 16;
/** Pipelined requests one connection may have waiting; the screen never pipelines, so more is a flood. */
const MAX_PIPELINED = 32;

/**
 * Runs jobs at most `limit` at a time, in arrival order. A job calls its `done` exactly once when the
 * resource it holds (an open file, a turn on a connection) is released.
 */
export class Gate {
  private running = 0;
  private readonly waiting: Array<(done: () => void) => void> = [];
  constructor(private readonly limit: number) {}

  /** Jobs queued and not yet started. */
  get queued(): number {
    return this.waiting.length;
  }

  run(job: (done: () => void) => void): void {
    this.waiting.push(job);
    this.next();
  }

  private next(): void {
    while (this.running < this.limit && this.waiting.length > 0) {
      const job = this.waiting.shift()!;
      this.running++;
      let released = false;
      const done = (): void => {
        if (released) return;
        released = true;
        this.running--;
        this.next();
      };
      try {
        job(done);
      } catch {
        done();
      }
    }
  }
}

/** The renderer is plain static files plus fonts; nothing inline, nothing remote. */
export const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.ico': 'image/x-icon',
};

export interface ServerOptions {
  /** Runs one API method on unchecked input (createApi(...).call). */
  call(method: string, input: unknown): Promise<Result<unknown>>;
  /** Folder of the built renderer (renderer/dist). */
  staticDir: string;
  /** Defaults to a fresh random token. */
  token?: string;
  port?: number;
  /** Told about unexpected errors (never personal data: only the method and the error). */
  onError?(method: string, err: unknown): void;
}

export interface UiServer {
  port: number;
  token: string;
  /** http://127.0.0.1:port/ */
  origin: string;
  /** The URL that opens the kiosk screen, token included. */
  launchUrl: string;
  close(): Promise<void>;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

function refuse(
  res: http.ServerResponse,
  status: number,
  code: 'UNAUTHORIZED' | 'MALFORMED' | 'TOO_LARGE' | 'NOT_FOUND',
  detail: string,
): void {
  sendJson(res, status, { ok: false, error: failure(code, detail) });
}

/**
 * The request target of an origin-form request (`/path?query`), split without `new URL`, which reads
 * `//host` as an authority and throws on some paths. Anything else (absolute-form, `*`, empty) is
 * undefined, answered 400. The path stays percent-encoded; static files decode it themselves.
 */
export function parseTarget(
  target: string | undefined,
): { pathname: string; searchParams: URLSearchParams } | undefined {
  if (!target || !target.startsWith('/') || target.length > 8192) return undefined;
  const q = target.indexOf('?');
  const rawPath = q < 0 ? target : target.slice(0, q);
  const pathname = rawPath.replace(/\/{2,}/g, '/');
  try {
    return { pathname, searchParams: new URLSearchParams(q < 0 ? '' : target.slice(q + 1)) };
  } catch {
    return undefined;
  }
}

export async function startServer(opts: ServerOptions): Promise<UiServer> {
  const token = opts.token ?? randomBytes(32).toString('base64url');
  const root = path.resolve(opts.staticDir);
  let port = 0;
  const hosts = (): string[] => [`127.0.0.1:${port}`, `localhost:${port}`];
  const origins = (): string[] => hosts().map((h) => `http://${h}`);
  // Pipelined requests are all parsed before the first answer is read: static answers go one at a time
  // per connection and at most MAX_OPEN_FILES at a time in all, so open files stay bounded.
  const files = new Gate(MAX_OPEN_FILES);
  const turns = new WeakMap<Socket, Gate>();

  // One error boundary around every request: whatever a request holds (a path such as `//%2f` that
  // `new URL` refuses, a body that breaks a handler, a socket that goes away), it gets a 400 or 500 and
  // the process, which is also the demo hub, the printer and the Electron main process, keeps running.
  const server = http.createServer((req, res) => {
    req.on('error', () => req.destroy());
    res.on('error', () => res.destroy());
    try {
      handle(req, res);
    } catch (err) {
      opts.onError?.('(request)', err);
      answerUnexpected(res);
    }
  });
  // A request line or headers Node cannot parse, or a client that sends its headers too slowly: 400 (or
  // 408) and the connection closed; never an exception.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || (err.code === 'ECONNRESET' && !socket.readable)) {
      socket.destroy();
      return;
    }
    const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
  });
  // Slow clients: headers within 10 s, the whole request within 30 s (the API bodies are small).
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;

  function answerUnexpected(res: http.ServerResponse): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendJson(res, 500, { ok: false, error: failure('UNEXPECTED') });
  }

  function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'no-referrer');
    res.setHeader('x-frame-options', 'DENY');
    if (!hosts().includes(req.headers.host ?? '')) return refuse(res, 403, 'UNAUTHORIZED', 'foreign Host');
    const url = parseTarget(req.url);
    if (!url) return refuse(res, 400, 'MALFORMED', 'bad request target');

    if (url.pathname.startsWith('/api/')) {
      if (req.method !== 'POST') return refuse(res, 405, 'MALFORMED', 'API calls are POST');
      const origin = req.headers.origin;
      if (!origin || !origins().includes(origin)) return refuse(res, 403, 'UNAUTHORIZED', 'foreign Origin');
      const got = cookieValue(req.headers.cookie, COOKIE);
      if (!got || !safeEqual(got, token)) return refuse(res, 401, 'UNAUTHORIZED', 'no session token');
      if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) {
        return refuse(res, 415, 'MALFORMED', 'content-type must be application/json');
      }
      const method = url.pathname.slice(5);
      const chunks: Buffer[] = [];
      let size = 0;
      let tooLarge = false;
      req.on('data', (c: Buffer) => {
        if (tooLarge) return;
        size += c.length;
        if (size > MAX_BODY) {
          // Answer at once and drop the rest of the body.
          tooLarge = true;
          res.setHeader('connection', 'close');
          refuse(res, 413, 'TOO_LARGE', `over ${MAX_BODY} bytes`);
          return;
        }
        chunks.push(c);
      });
      req.on('end', () => {
        if (tooLarge) return;
        let input: unknown;
        try {
          input = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          return refuse(res, 400, 'MALFORMED', 'body is not JSON');
        }
        // Promise.resolve().then: a call that throws before returning its promise lands here too.
        Promise.resolve()
          .then(() => opts.call(method, input))
          .then(
            (r) => {
              // An unknown method is a 404 and input that failed its schema a 400; every other refusal is
              // an answer the screen shows.
              const d = r.ok ? undefined : r.error.details;
              sendJson(res, d?.unknownMethod ? 404 : d?.issues ? 400 : 200, r);
            },
            (err: unknown) => {
              opts.onError?.(method, err);
              answerUnexpected(res);
            },
          )
          .catch((err: unknown) => {
            // Writing the answer failed (an answer that cannot be serialised, a socket gone).
            opts.onError?.(method, err);
            answerUnexpected(res);
          });
      });
      return;
    }

    if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, 405, 'MALFORMED', 'GET only');
    // The launch URL: swap the token for the cookie, then drop it from the address bar.
    const t = url.searchParams.get('t');
    if (url.pathname === '/' && t !== null) {
      // A stale or wrong launch URL: no cookie, and the page itself says how to open the kiosk (no raw JSON).
      if (!safeEqual(t, token)) {
        res.writeHead(303, { location: '/#no-session', 'cache-control': 'no-store' });
        res.end();
        return;
      }
      res.writeHead(303, {
        location: '/',
        'set-cookie': `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`,
        'cache-control': 'no-store',
      });
      res.end();
      return;
    }
    const socket = req.socket;
    let turn = turns.get(socket);
    if (!turn) {
      turn = new Gate(1);
      turns.set(socket, turn);
    }
    if (turn.queued >= MAX_PIPELINED) {
      // A client that pipelines this deep is flooding: drop the connection and everything it queued.
      socket.destroy();
      return;
    }
    turn.run((doneTurn) => {
      if (res.destroyed || socket.destroyed) return doneTurn();
      files.run((doneFile) => {
        const done = (): void => {
          doneFile();
          doneTurn();
        };
        if (res.destroyed || socket.destroyed) return done();
        res.once('close', done);
        serveStatic(url.pathname, res).catch((err: unknown) => {
          opts.onError?.('(static)', err);
          answerUnexpected(res);
        });
      });
    });
  }

  async function serveStatic(pathname: string, res: http.ServerResponse): Promise<void> {
    let rel: string;
    try {
      rel = decodeURIComponent(pathname);
    } catch {
      return refuse(res, 400, 'MALFORMED', 'bad path');
    }
    if (rel === '/' || !path.extname(rel)) rel = '/index.html';
    const file = path.resolve(root, `.${rel}`);
    if (!file.startsWith(root + path.sep)) return refuse(res, 404, 'NOT_FOUND', 'no such file');
    try {
      const st = await stat(file);
      if (!st.isFile()) throw new Error('not a file');
      const isHtml = file.endsWith('.html');
      res.writeHead(200, {
        'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
        'content-length': st.size,
        // Hashed assets never change; the page itself always comes fresh.
        'cache-control': isHtml ? 'no-store' : 'public, max-age=31536000, immutable',
        ...(isHtml ? { 'content-security-policy': CSP } : {}),
      });
      const stream = createReadStream(file);
      // A file that vanishes or fails mid-read ends this answer, not the process.
      stream.on('error', () => res.destroy());
      stream.pipe(res);
    } catch {
      refuse(
        res,
        404,
        'NOT_FOUND',
        rel === '/index.html' ? 'renderer not built (npm run build:ui)' : 'no such file',
      );
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}/`;
  return {
    port,
    token,
    origin,
    launchUrl: `${origin}?t=${token}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
