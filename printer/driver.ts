// Talking to one printer: DLE EOT status before and after each job, the job in paced chunks, a timeout on
// every step, and one job at a time (a second caller waits its turn instead of interleaving bytes).
import { failure, ok, type Result } from '../protocol/result.ts';
import * as cmd from './commands.ts';
import { decodeStatus, errorCodeFor, isHealthy, type PrinterStatus } from './status.ts';
import { TransportError, type Transport } from './transports/types.ts';

export interface DriverOptions {
  connectTimeoutMs?: number;
  /** Per status reply byte. */
  statusTimeoutMs?: number;
  /** Per chunk written. */
  writeTimeoutMs?: number;
  /** The status after a job may wait for the printer to finish printing it. */
  finishTimeoutMs?: number;
  /** Pause between chunks (on top of each write's drain), for printers with small buffers. */
  paceMs?: number;
}

const DEFAULTS: Required<DriverOptions> = {
  connectTimeoutMs: 3000,
  statusTimeoutMs: 2000,
  writeTimeoutMs: 5000,
  finishTimeoutMs: 15000,
  paceMs: 0,
};

export interface JobReport {
  before: PrinterStatus;
  after: PrinterStatus;
  bytes: number;
  ms: number;
}

function statusOfError(e: unknown): PrinterStatus {
  if (e instanceof TransportError) {
    return e.kind === 'timeout'
      ? { state: 'timeout', detail: e.message }
      : { state: 'unreachable', detail: e.message };
  }
  // Anything else (a driver library that fails to load, a device that throws) still means no printer.
  return { state: 'unreachable', detail: (e as Error).message };
}
/** DLE EOT 1..4 on an open transport. */
export async function queryStatus(t: Transport, timeoutMs: number): Promise<PrinterStatus> {
  const replies: number[] = [];
  for (const n of [1, 2, 3, 4] as const) {
    await t.write(cmd.statusRequest(n), timeoutMs);
    const b = await t.read(1, timeoutMs);
    replies.push(b[0]!);
  }
  return decodeStatus({ printer: replies[0]!, offline: replies[1]!, error: replies[2]!, paper: replies[3]! });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const queues = new Map<string, Promise<void>>();

export class Printer {
  private readonly o: Required<DriverOptions>;

  constructor(
    readonly url: string,
    private readonly makeTransport: () => Transport,
    opts: DriverOptions = {},
  ) {
    this.o = { ...DEFAULTS, ...opts };
  }

  /**
   * Runs fn after every earlier call on this printer has finished. The queue is per printer URL for
   * the whole process, so two services (kiosk screen, officer command) never interleave on one printer.
   */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const tail = queues.get(this.url) ?? Promise.resolve();
    const run = tail.then(fn, fn);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    queues.set(this.url, settled);
    // Forget an idle printer's queue so the map does not grow with every address ever used.
    void settled.then(() => {
      if (queues.get(this.url) === settled) queues.delete(this.url);
    });
    return run;
  }

  status(): Promise<PrinterStatus> {
    return this.exclusive(async () => {
      const t = this.makeTransport();
      try {
        await t.open(this.o.connectTimeoutMs);
        return await queryStatus(t, this.o.statusTimeoutMs);
      } catch (e) {
        return statusOfError(e);
      } finally {
        await t.close().catch(() => undefined);
      }
    });
  }

  /**
   * Prints one job. Refused (nothing sent) when the printer is not healthy before; failed when the
   * link breaks during it or the status after it is not healthy. ok only when it finished healthy.
   */
  print(bytes: Uint8Array, onStart?: () => void): Promise<Result<JobReport>> {
    return this.exclusive(async () => {
      onStart?.();
      const started = Date.now();
      const t = this.makeTransport();
      let stage: 'before' | 'during' | 'after' = 'before';
      try {
        await t.open(this.o.connectTimeoutMs);
        const before = await queryStatus(t, this.o.statusTimeoutMs);
        if (!isHealthy(before)) return failWith(before, 'before', 'refused: printer not ready');
        stage = 'during';
        for (let off = 0; off < bytes.length; off += t.chunkBytes) {
          await t.write(bytes.subarray(off, off + t.chunkBytes), this.o.writeTimeoutMs);
          if (this.o.paceMs > 0 && off + t.chunkBytes < bytes.length) await sleep(this.o.paceMs);
        }
        stage = 'after';
        const after = await queryStatus(t, Math.max(this.o.statusTimeoutMs, this.o.finishTimeoutMs));
        if (!isHealthy(after)) return failWith(after, 'after', 'printer stopped during the job');
        return ok({ before, after, bytes: bytes.length, ms: Date.now() - started });
      } catch (e) {
        if (!(e instanceof TransportError)) {
          return { ok: false, error: failure('PRINT_FAILED', (e as Error).message, { stage }) };
        }
        const s = statusOfError(e);
        return failWith(s, stage, stage === 'before' ? 'refused' : 'link lost during the job');
      } finally {
        await t.close().catch(() => undefined);
      }
    });
  }
}

function failWith(s: PrinterStatus, stage: 'before' | 'during' | 'after', what: string): Result<never> {
  const code = errorCodeFor(s) ?? 'PRINT_FAILED';
  const detail = 'detail' in s && s.detail ? `${what} (${s.detail})` : what;
  return { ok: false, error: failure(code, detail, { stage, status: s.state }) };
}
