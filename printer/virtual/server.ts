// The virtual printer: listens like a network printer (raw TCP), answers DLE EOT from a switchable state,
// and renders every page it prints to a PNG in a folder. Faults are switched while it runs through a
// small HTTP control endpoint (GET/POST /state) and/or a JSON control file that it watches.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { z } from 'zod';
import { PrinterMechanism, type MechanismOptions } from '../mechanism.ts';
import type { PrinterProfile } from '../profiles.ts';
import { encodeStatus } from '../status.ts';
import { DEFAULT_LIMITS, Interpreter, type Page } from './interpreter.ts';
import { bitmapToPng } from './png.ts';

export const virtualStateSchema = z
  .object({
    paperEnd: z.boolean(),
    coverOpen: z.boolean(),
    offline: z.boolean(),
    nearEnd: z.boolean(),
    cutterError: z.boolean(),
    /** Accepts connections but never answers (a hung printer). */
    silent: z.boolean(),
    /** Runs out of paper after this many more bytes of print data (a fault in the middle of a job). */
    paperEndAfterBytes: z.number().int().nonnegative().nullable(),
    /** Drops the connection after this many more bytes (a cable pulled, the power cut mid-job). */
    dropAfterBytes: z.number().int().nonnegative().nullable(),
  })
  .partial();
export type VirtualState = Required<z.infer<typeof virtualStateSchema>>;

export interface PrintedPage extends Page {
  /** The PNG written for it. */
  file: string;
  /** The connection (job) it came from, counting from 1. */
  job: number;
}

export interface VirtualPrinterOptions {
  /** TCP port; 0 picks a free one. */
  port?: number;
  host?: string;
  outDir: string;
  /** Paper width in dots: 576 (80 mm, default) or 384 (58 mm). */
  dots?: number;
  /** HTTP control port; undefined: none, 0: a free one. */
  controlPort?: number;
  /** A JSON file with a partial VirtualState, re-read when it changes. */
  controlFile?: string;
  /** Also save each job's raw bytes next to its PNG (job-N.bin). */
  saveBytes?: boolean;
  /**
   * How it takes a job in time (printer/mechanism.ts, the model the tests' fake printers run): a finite
   * buffer, a head printing at a line speed, DLE EOT answered on arrival, GS ( H and GS r when the head
   * reaches them, paper running out mid-job (paperEndAfterBytes). Undefined: every command runs the
   * moment it arrives (an infinitely fast printer). mechanismFor(profile) gives a profile's.
   */
  mechanism?: MechanismOptions;
  /** The clock and timers the mechanism runs on (tests: a manual one); default the wall clock. */
  clock?: PrinterClock;
}

/** A clock with timers, for the virtual printer's mechanism. */
export interface PrinterClock {
  now(): number;
  setTimer(fn: () => void, ms: number): { clear(): void };
}

const wallClock: PrinterClock = {
  now: () => performance.now(),
  setTimer(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return { clear: () => clearTimeout(t) };
  },
};

/**
 * A profile's printer as the virtual printer's mechanism: its link speed, buffer, line speed and status
 * kind; the head takes 20,000 bytes a second of commands and data besides the paper it feeds.
 */
export function mechanismFor(p: PrinterProfile): MechanismOptions {
  return {
    linkBytesPerSecond: p.link.bytesPerSecond,
    bufferBytes: p.printer.bufferBytes,
    printBytesPerSecond: 20_000,
    lineDotsPerSecond: p.printer.lineDotsPerSecond,
    status: p.status,
  };
}

export interface VirtualPrinter {
  port: number;
  url: string;
  controlPort?: number;
  controlUrl?: string;
  state: VirtualState;
  set(s: Partial<VirtualState>): void;
  pages: PrintedPage[];
  /** Each connection (job): when it opened and closed (ms), and the bytes it carried. */
  connections: {
    job: number;
    openedAt: number;
    closedAt?: number;
    firstDataAt?: number;
    lastDataAt?: number;
    bytes: number;
  }[];
  /** Resolves when at least n pages have been printed. */
  waitForPages(n: number, timeoutMs?: number): Promise<PrintedPage[]>;
  close(): Promise<void>;
}

export async function startVirtualPrinter(opts: VirtualPrinterOptions): Promise<VirtualPrinter> {
  mkdirSync(opts.outDir, { recursive: true });
  const dots = opts.dots ?? 576;
  const host = opts.host ?? '127.0.0.1';
  const state: VirtualState = {
    paperEnd: false,
    coverOpen: false,
    offline: false,
    nearEnd: false,
    cutterError: false,
    silent: false,
    paperEndAfterBytes: null,
    dropAfterBytes: null,
  };
  const pages: PrintedPage[] = [];
  const connections: VirtualPrinter['connections'] = [];
  const waiters = new Set<() => void>();
  const sockets = new Set<net.Socket>();
  let jobs = 0;

  // A printer that cannot save its output (folder gone, disk full) keeps answering; it never throws
  // into the process that hosts it.
  let closed = false;
  const save = (file: string, data: Uint8Array): void => {
    if (closed) return;
    try {
      writeFileSync(file, data);
    } catch {
      // dropped: nothing to print it on
    }
  };

  const clock = opts.clock ?? wallClock;
  // Connections whose mechanism still has bytes to print, with their pump.
  const running = new Map<() => void, PrinterMechanism>();
  const stopped = (): boolean => state.paperEnd || state.coverOpen || state.offline;

  const set = (s: Partial<VirtualState>): void => {
    const wasStopped = stopped();
    Object.assign(state, virtualStateSchema.parse(s));
    // The head stops or goes on with what it holds, as the paper, cover and online state change.
    if (!wasStopped && stopped()) for (const [, m] of running) m.halt(clock.now());
    if (wasStopped && !stopped()) for (const [, m] of running) m.loadPaper(clock.now());
    for (const [pump] of running) pump();
  };

  const server = net.createServer((socket) => {
    sockets.add(socket);
    const job = ++jobs;
    const conn: VirtualPrinter['connections'][number] = { job, openedAt: Date.now(), bytes: 0 };
    connections.push(conn);
    const received: Buffer[] = [];
    const page = (p: Page): void => {
      const file = path.join(opts.outDir, `page-${String(pages.length + 1).padStart(4, '0')}.png`);
      save(file, bitmapToPng(p.bitmap));
      pages.push({ ...p, file, job });
      for (const w of waiters) w();
    };
    const realtime = (n: number, paperOut = false): number => {
      const s = encodeStatus({ ...state, paperEnd: state.paperEnd || paperOut });
      return n === 1 ? s.printer : n === 2 ? s.offline : n === 3 ? s.error : s.paper;
    };
    const paperSensor = (): number => (state.paperEnd ? 0x0c : 0) | (state.nearEnd ? 0x03 : 0);
    const reply = (b: Uint8Array): void => {
      if (!socket.destroyed) socket.write(b);
    };
    const mech = opts.mechanism
      ? new PrinterMechanism({ ...opts.mechanism }, realtime, paperSensor)
      : undefined;
    // With a mechanism the interpreter only draws what the head has reached; every reply comes from
    // the mechanism at its time. Without one it runs each command as it arrives and answers at once.
    const it = new Interpreter(
      dots,
      mech
        ? { status: () => 0, page }
        : {
            status: (n) => realtime(n),
            reply,
            paperStatus: paperSensor,
            canPrint: () => !(state.paperEnd || state.coverOpen || state.offline),
            page,
          },
    );
    let fedCommands = 0;
    let timer: { clear(): void } | undefined;
    let ended = false;
    let paused = false;
    const finish = (): void => {
      if (ended) return;
      ended = true;
      running.delete(pump);
      if (state.silent) return;
      it.end();
      if (opts.saveBytes && received.length) {
        save(path.join(opts.outDir, `job-${String(job).padStart(4, '0')}.bin`), Buffer.concat(received));
      }
    };
    // Runs the mechanism up to now: draws what the head has printed, sends the replies that are due,
    // notices the paper running out, lets the link go on when the buffer has room, and sets a timer
    // for the next thing that will happen.
    function pump(): void {
      if (!mech || ended) return;
      timer?.clear();
      timer = undefined;
      const now = clock.now();
      while (fedCommands < mech.commands.length) {
        const c = mech.commands[fedCommands]!;
        if (mech.processedAt(c.end - 1) > now) break;
        it.feed(mech.slice(c.start, c.end));
        fedCommands++;
      }
      // Drawn commands are forgotten, so a long job holds only what the head has not reached.
      if (fedCommands >= 1024) {
        mech.commands.splice(0, fedCommands);
        fedCommands = 0;
      }
      const out = mech.takeDue(now);
      if (out.length) reply(Uint8Array.from(out));
      if (mech.paperOutAt() <= now && !state.paperEnd) {
        // The roll ran out under this job: the printer says so, and every head stops.
        state.paperEnd = true;
        for (const [, m] of running) if (m !== mech) m.halt(now);
      }
      const backlog = mech.length - mech.printedBytes(now);
      if (paused && backlog <= mech.o.bufferBytes) {
        paused = false;
        socket.resume();
      }
      const next = Math.min(
        mech.nextReplyAt(),
        fedCommands < mech.commands.length ? mech.processedAt(mech.commands[fedCommands]!.end - 1) : Infinity,
      );
      if (next !== Infinity) timer = clock.setTimer(pump, Math.max(0, next - now));
      // Done when the sender has gone and the head has printed all of it; a stopped head keeps its
      // job (it goes on once paper is loaded), up to 16 such jobs.
      else if (conn.closedAt !== undefined && fedCommands === mech.commands.length) finish();
      else if (conn.closedAt !== undefined && running.size > 16) finish();
    }
    if (mech) running.set(pump, mech);
    socket.on('data', (chunk: Buffer) => {
      let d = chunk;
      if (state.silent) return;
      if (state.dropAfterBytes !== null) {
        if (d.length >= state.dropAfterBytes) {
          d = d.subarray(0, state.dropAfterBytes);
          state.dropAfterBytes = null;
          socket.resetAndDestroy();
        } else state.dropAfterBytes -= d.length;
      }
      // Kept for saving only up to the job limit: a flood costs no more memory than one large job.
      if (conn.bytes < DEFAULT_LIMITS.maxJobBytes) received.push(d);
      conn.bytes += d.length;
      conn.firstDataAt ??= Date.now();
      conn.lastDataAt = Date.now();
      if (mech) {
        // Beyond the job limit the interpreter would drop it anyway: the mechanism holds no more.
        if (mech.length >= DEFAULT_LIMITS.maxJobBytes) return;
        d = d.subarray(0, DEFAULT_LIMITS.maxJobBytes - mech.length);
        if (state.paperEndAfterBytes !== null) {
          mech.o.paperBytes = mech.length + state.paperEndAfterBytes;
          state.paperEndAfterBytes = null;
        }
        if (state.paperEnd || state.coverOpen || state.offline) mech.halt(clock.now());
        mech.receive(d, clock.now());
        // The buffer is full: stop reading, so the sender's writes wait as they would on a real link.
        if (mech.length - mech.printedBytes(clock.now()) > mech.o.bufferBytes + 65_536) {
          paused = true;
          socket.pause();
        }
        pump();
        return;
      }
      if (state.paperEndAfterBytes !== null) {
        // Split the data where the paper runs out, so what follows is not printed.
        const left = state.paperEndAfterBytes;
        if (d.length >= left) {
          it.feed(d.subarray(0, left));
          state.paperEndAfterBytes = null;
          state.paperEnd = true;
          it.feed(d.subarray(left));
          return;
        }
        state.paperEndAfterBytes = left - d.length;
      }
      it.feed(d);
    });
    const done = (): void => {
      sockets.delete(socket);
      conn.closedAt = Date.now();
      // The head goes on with what is in its buffer after the sender hung up.
      if (mech) pump();
      else finish();
    };
    socket.on('close', done);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;

  let control: http.Server | undefined;
  let controlPort: number | undefined;
  if (opts.controlPort !== undefined) {
    control = http.createServer((req, res) => {
      const send = (code: number, body: unknown): void => {
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      // Only this machine's tools may switch faults: the Host must name the endpoint itself (no DNS
      // rebinding) and a browser's Origin, when sent, must be the endpoint's own (no web page's POST).
      const own = [
        `${host}:${controlPort}`,
        `[${host}]:${controlPort}`,
        `127.0.0.1:${controlPort}`,
        `localhost:${controlPort}`,
      ];
      const origin = req.headers.origin;
      if (
        !own.includes(req.headers.host ?? '') ||
        (origin !== undefined && !own.some((h) => origin === `http://${h}`))
      )
        return send(403, { error: 'control is for local tools: Host or Origin is not this endpoint' });
      if (req.url !== '/state') return send(404, { error: 'GET or POST /state' });
      if (req.method === 'GET') return send(200, state);
      if (req.method !== 'POST') return send(405, { error: 'GET or POST /state' });
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString('utf8');
        if (body.length > 4096) req.destroy();
      });
      req.on('end', () => {
        try {
          set(JSON.parse(body) as Partial<VirtualState>);
          send(200, state);
        } catch (e) {
          send(400, { error: (e as Error).message });
        }
      });
    });
    await new Promise<void>((resolve) => control!.listen(opts.controlPort, host, () => resolve()));
    controlPort = (control.address() as net.AddressInfo).port;
  }

  // Polled rather than watched: fs.watch misses editors' rename-writes and watchFile misses a change made
  // before its first stat. A file whose text did not change is not applied again.
  let lastControl: string | undefined;
  const readControlFile = (): void => {
    let text: string;
    try {
      text = readFileSync(opts.controlFile!, 'utf8');
    } catch {
      return; // missing: keep the current state
    }
    if (text === lastControl) return;
    try {
      set(JSON.parse(text) as Partial<VirtualState>);
      lastControl = text;
    } catch {
      // Half-written or invalid: try again on the next poll.
    }
  };
  let controlTimer: NodeJS.Timeout | undefined;
  if (opts.controlFile) {
    readControlFile();
    controlTimer = setInterval(readControlFile, 200);
    controlTimer.unref();
  }

  return {
    port,
    url: `tcp://${host}:${port}`,
    ...(controlPort !== undefined ? { controlPort, controlUrl: `http://${host}:${controlPort}/state` } : {}),
    state,
    set,
    pages,
    connections,
    waitForPages(n, timeoutMs = 10_000) {
      if (pages.length >= n) return Promise.resolve(pages);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`virtual printer: ${pages.length} of ${n} pages after ${timeoutMs} ms`));
        }, timeoutMs);
        const check = (): void => {
          if (pages.length < n) return;
          clearTimeout(t);
          waiters.delete(check);
          resolve(pages);
        };
        waiters.add(check);
      });
    },
    async close() {
      closed = true;
      running.clear();
      if (controlTimer) clearInterval(controlTimer);
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      if (control) await new Promise<void>((r) => control!.close(() => r()));
    },
  };
}
