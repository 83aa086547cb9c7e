// Talking to one printer, one connection per job: real-time health (DLE EOT 1..4) before the job, the
// job in paced chunks, then PROOF that it printed: a command the printer processes in order after the
// job's last byte (Epson GS ( H fn 48 process id, answered "when printing is completed"; else GS r 1, the
// paper sensor status processed after the data before it). DLE EOT is answered on receipt, even while the
// buffer is still printing (Epson ESC/POS reference, DLE EOT), so it never proves a job. Printers without
// in-order status get the job "sent, not verified". Every wait has a time-out derived from the job's size,
// the link's speed and the print head's speed (profile), and one job runs at a time per printer.
import { randomInt } from 'node:crypto';
import { failure, ok, type Result } from '../protocol/result.ts';
import * as cmd from './commands.ts';
import { jobDotRows } from './jobsize.ts';
import type { PrinterProfile, StatusKind } from './profiles.ts';
import { decodeStatus, errorCodeFor, isHealthy, type PrinterStatus } from './status.ts';
import { TransportError, type Transport } from './transports/types.ts';

export interface DriverOptions {
  connectTimeoutMs?: number;
  /** Per real-time status reply byte. */
  statusTimeoutMs?: number;
  /** Added to every derived time-out (latency, a printer waking up). */
  marginMs?: number;
  /** Time source and sleep (tests drive a fake printer's clock through them). */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** How one job is sent and proved: from the profile the job is printed with. */
export interface JobPlan {
  status: StatusKind;
  inOrder?: 'process-id' | 'gs-r';
  bytesPerSecond: number;
  chunkBytes?: number;
  paceMs: number;
  lineDotsPerSecond: number;
}

export function planFor(p: PrinterProfile): JobPlan {
  return {
    status: p.status,
    ...(p.inOrderStatus ? { inOrder: p.inOrderStatus } : {}),
    bytesPerSecond: p.link.bytesPerSecond,
    chunkBytes: p.link.chunkBytes,
    paceMs: p.link.paceMs,
    lineDotsPerSecond: p.printer.lineDotsPerSecond,
  };
}

/** A job printed without a profile (tests, old callers): real-time health only, a fast link. */
const LEGACY_PLAN: JobPlan = {
  status: 'realtime',
  bytesPerSecond: 11_520,
  paceMs: 0,
  lineDotsPerSecond: 1200,
};

const DEFAULTS = { connectTimeoutMs: 3000, statusTimeoutMs: 2000, marginMs: 2000 };

/** How a job's printing is known: an in-order reply, or not at all (sent, not verified). */
export type Proof = 'process-id' | 'gs-r' | 'none';

export interface JobReport {
  /** Real-time health before the job (absent for a printer without status). */
  before?: PrinterStatus;
  /** Real-time health after the job, when it was asked (no proof came, or a real-time-only printer). */
  after?: PrinterStatus;
  proof: Proof;
  /** True only when an in-order reply after the job's last byte said it printed. */
  verified: boolean;
  /** Why it is not verified (no status, or the proof did not come in time). */
  unverifiedReason?: 'no-status' | 'realtime-only' | 'no-proof';
  bytes: number;
  ms: number;
  /** The derived time-outs used (ms). */
  timeouts: { chunk: number; proof: number };
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

/**
 * Reads one reply byte, skipping XON (0x11) and XOFF (0x13): serial flow control, never a reply. No
 * reply this driver asks for can be either (DLE EOT replies have bit 4 set and bits 0, 7 clear; GS r
 * replies have bit 4 clear; a process-id reply is 0x37 0x22, digits, NUL).
 */
async function readReplyByte(t: Transport, timeoutMs: number, now: () => number): Promise<number> {
  const deadline = now() + timeoutMs;
  for (;;) {
    const left = deadline - now();
    if (left <= 0) throw new TransportError('timeout', `${t.url}: no reply in ${timeoutMs} ms`);
    const b = (await t.read(1, left))[0]!;
    if (b !== cmd.XON && b !== cmd.XOFF) return b;
  }
}

/** DLE EOT 1..4 on an open transport (real-time: the printer's state now, not a job's). */
export async function queryStatus(
  t: Transport,
  timeoutMs: number,
  now: () => number = Date.now,
): Promise<PrinterStatus> {
  const replies: number[] = [];
  for (const n of [1, 2, 3, 4] as const) {
    await t.write(cmd.statusRequest(n), timeoutMs);
    replies.push(await readReplyByte(t, timeoutMs, now));
  }
  return decodeStatus({ printer: replies[0]!, offline: replies[1]!, error: replies[2]!, paper: replies[3]! });
}

/** GS r 1 reply: bits 2-3 roll paper end (printing stopped), bits 0-1 near end (Epson ESC/POS reference). */
export function decodePaperReply(b: number): PrinterStatus {
  if ((b & 0x90) !== 0) return { state: 'offline', detail: `unexpected GS r reply 0x${b.toString(16)}` };
  if ((b & 0x0c) !== 0) return { state: 'paper-end' };
  if ((b & 0x03) !== 0) return { state: 'near-end' };
  return { state: 'ok' };
}

/** Waits for the process-id reply 37 22 d1 d2 d3 d4 00 with our id; other bytes before it are skipped. */
async function awaitProcessId(t: Transport, id: string, timeoutMs: number, now: () => number): Promise<void> {
  const want = [0x37, 0x22, ...[...id].map((c) => c.charCodeAt(0)), 0x00];
  const deadline = now() + timeoutMs;
  let got = 0;
  while (got < want.length) {
    const b = await readReplyByte(t, Math.max(1, deadline - now()), now);
    if (b === want[got]) got++;
    else got = b === want[0] ? 1 : 0;
  }
}

const sleepReal = (ms: number): Promise<void> =>
  new Promise((r) => {
    const timer = setTimeout(r, ms);
    timer.unref?.();
  });

const queues = new Map<string, Promise<void>>();

export class Printer {
  private readonly o: typeof DEFAULTS & { now: () => number; sleep: (ms: number) => Promise<void> };

  constructor(
    readonly url: string,
    private readonly makeTransport: () => Transport,
    opts: DriverOptions = {},
  ) {
    this.o = {
      connectTimeoutMs: opts.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
      statusTimeoutMs: opts.statusTimeoutMs ?? DEFAULTS.statusTimeoutMs,
      marginMs: opts.marginMs ?? DEFAULTS.marginMs,
      now: opts.now ?? Date.now,
      sleep: opts.sleep ?? sleepReal,
    };
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

  /** Real-time status (DLE EOT) on its own connection; `none` for a printer that never answers. */
  status(kind: StatusKind = 'realtime'): Promise<PrinterStatus> {
    if (kind === 'none') return Promise.resolve({ state: 'ok' });
    return this.exclusive(async () => {
      const t = this.makeTransport();
      try {
        await t.open(this.o.connectTimeoutMs);
        return await queryStatus(t, this.o.statusTimeoutMs, this.o.now);
      } catch (e) {
        return statusOfError(e);
      } finally {
        await t.close().catch(() => undefined);
      }
    });
  }

  /**
   * Prints one job on one connection. Refused (nothing sent) when the printer is not healthy before;
   * failed when the link breaks or the printer stops (paper end, cover open ...) during it. ok with
   * verified = true only when the in-order reply after the last byte came; ok with verified = false when
   * every byte was sent but the printer cannot prove (or did not prove in time) that it printed — a
   * reprint of such a job might print twice, so the caller asks a person.
   */
  print(bytes: Uint8Array, onStart?: () => void, plan: JobPlan = LEGACY_PLAN): Promise<Result<JobReport>> {
    return this.exclusive(async () => {
      onStart?.();
      const { now, sleep } = this.o;
      const started = now();
      const t = this.makeTransport();
      const chunkBytes = Math.max(16, Math.min(plan.chunkBytes ?? t.chunkBytes, t.chunkBytes));
      // Time-outs from the job: a chunk may wait for the link and for the head to print room in the
      // buffer; the proof waits for the whole job to go over the link and be printed, twice over.
      const rows = jobDotRows(bytes);
      const linkMs = (n: number): number => (n * 1000) / plan.bytesPerSecond;
      const printMs = (n: number): number =>
        (rows * (n / Math.max(1, bytes.length)) * 1000) / plan.lineDotsPerSecond;
      const timeouts = {
        chunk: Math.ceil(this.o.marginMs + 2 * (linkMs(chunkBytes) + printMs(chunkBytes))),
        proof: Math.ceil(this.o.marginMs + 2 * (linkMs(bytes.length) + printMs(bytes.length))),
      };
      let stage: 'before' | 'during' | 'after' = 'before';
      let before: PrinterStatus | undefined;
      try {
        await t.open(this.o.connectTimeoutMs);
        if (plan.status !== 'none') {
          before = await queryStatus(t, this.o.statusTimeoutMs, now);
          if (!isHealthy(before)) return failWith(before, 'before', 'refused: printer not ready');
        }
        stage = 'during';
        for (let off = 0; off < bytes.length; off += chunkBytes) {
          await t.write(bytes.subarray(off, off + chunkBytes), timeouts.chunk);
          if (plan.paceMs > 0 && off + chunkBytes < bytes.length) await sleep(plan.paceMs);
        }
        stage = 'after';
        const report = (r: Omit<JobReport, 'bytes' | 'ms' | 'timeouts'>): Result<JobReport> =>
          ok({ ...r, bytes: bytes.length, ms: now() - started, timeouts });
        if (plan.status === 'none') {
          return report({ proof: 'none', verified: false, unverifiedReason: 'no-status' });
        }
        if (plan.status === 'realtime' || !plan.inOrder) {
          // Nothing in order to ask: give the head the job's print time, then check it did not stop.
          await sleep(Math.ceil(linkMs(bytes.length) + printMs(bytes.length)));
          const after = await queryStatus(t, this.o.statusTimeoutMs, now);
          if (!isHealthy(after)) return failWith(after, 'after', 'printer stopped during the job');
          return report({
            ...withBefore(before),
            after,
            proof: 'none',
            verified: false,
            unverifiedReason: 'realtime-only',
          });
        }
        try {
          if (plan.inOrder === 'process-id') {
            const id = String(randomInt(0, 10_000)).padStart(4, '0');
            await t.write(cmd.processIdRequest(id), timeouts.chunk);
            await awaitProcessId(t, id, timeouts.proof, now);
            return report({ ...withBefore(before), proof: 'process-id', verified: true });
          }
          await t.write(cmd.paperStatusRequest(), timeouts.chunk);
          const paper = decodePaperReply(await readReplyByte(t, timeouts.proof, now));
          if (!isHealthy(paper)) return failWith(paper, 'after', 'printer reported after the job');
          return report({ ...withBefore(before), proof: 'gs-r', verified: true });
        } catch (e) {
          if (!(e instanceof TransportError) || e.kind !== 'timeout') throw e;
          // No proof in time: the real-time state says whether the printer stopped (not printed) or is
          // still busy or lost the reply (sent, not verified: a person checks the paper).
          const after = await queryStatus(t, this.o.statusTimeoutMs, now);
          if (!isHealthy(after)) return failWith(after, 'after', 'printer stopped during the job');
          return report({
            ...withBefore(before),
            after,
            proof: 'none',
            verified: false,
            unverifiedReason: 'no-proof',
          });
        }
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

function withBefore(before: PrinterStatus | undefined): { before?: PrinterStatus } {
  return before ? { before } : {};
}

function failWith(s: PrinterStatus, stage: 'before' | 'during' | 'after', what: string): Result<never> {
  const code = errorCodeFor(s) ?? 'PRINT_FAILED';
  const detail = 'detail' in s && s.detail ? `${what} (${s.detail})` : what;
  return { ok: false, error: failure(code, detail, { stage, status: s.state }) };
}
