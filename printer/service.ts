// The print service: one queue per printer URL (the driver's Printer runs one job at a time), a record of
// every job in SQLite (state queued → printing → printed | unverified | failed, how it was proved,
// attempts, error, hash of the bytes), a `print.job` outbox event when a job ends, reprint of a failed or
// unverified job to the printer and profile named now, and a person's confirmation that the paper of an
// unverified job came out (or did not).
import { createHash, randomUUID } from 'node:crypto';
import type { Database } from '../db/connection.ts';
import type { ErrorCode } from '../protocol/errors.ts';
import { fail, ok, type Result } from '../protocol/result.ts';
import type { Clock } from '../protocol/time.ts';
import { planFor, Printer, type DriverOptions, type JobReport } from './driver.ts';
import type { PrinterProfile, StatusKind } from './profiles.ts';
import type { PrinterStatus } from './status.ts';
import { parsePrinterUrl, transportFor, type TransportOptions } from './transports/index.ts';

export type JobState = 'queued' | 'printing' | 'printed' | 'unverified' | 'failed';
/** How a printed job is known to be on paper ('realtime': judged by DLE EOT only, before migration 7). */
export type JobProof = 'process-id' | 'gs-r' | 'confirmed' | 'realtime';

export interface PrintJob {
  id: string;
  kind: string;
  ref: string;
  printer: string;
  profile?: string;
  state: JobState;
  proof?: JobProof;
  attempts: number;
  errorCode?: ErrorCode;
  error?: string;
  bytesSha256: string;
  size: number;
  createdAt: number;
  updatedAt: number;
  printedAt?: number;
}

interface JobRow {
  id: string;
  kind: string;
  ref: string;
  printer: string;
  profile: string | null;
  state: JobState;
  proof: JobProof | null;
  attempts: number;
  error_code: string | null;
  error: string | null;
  bytes_sha256: string;
  size: number;
  created_at: number;
  updated_at: number;
  printed_at: number | null;
}

const COLS =
  'id, kind, ref, printer, profile, state, proof, attempts, error_code, error, bytes_sha256, length(bytes) AS size, created_at, updated_at, printed_at';

function toJob(r: JobRow): PrintJob {
  const j: PrintJob = {
    id: r.id,
    kind: r.kind,
    ref: r.ref,
    printer: r.printer,
    state: r.state,
    attempts: r.attempts,
    bytesSha256: r.bytes_sha256,
    size: r.size,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
  if (r.profile) j.profile = r.profile;
  if (r.proof) j.proof = r.proof;
  if (r.error_code) j.errorCode = r.error_code as ErrorCode;
  if (r.error) j.error = r.error;
  if (r.printed_at !== null) j.printedAt = r.printed_at;
  return j;
}

export interface PrintServiceOptions {
  db: Database;
  clock: Clock;
  /** Records an outbox event inside the job's transaction (main/outbox appendEvent). */
  appendEvent?: (type: 'print.job', payload: object, at: number) => void;
  /** Driver options (time-outs; tests pass a fake printer's clock). */
  driver?: DriverOptions;
  transport?: TransportOptions;
  /** Builds the printer for a URL (tests inject fakes); default: transport from the URL. */
  printerFor?: (url: string) => Result<Printer>;
}

export class PrintService {
  private printers = new Map<string, Printer>();

  constructor(private readonly o: PrintServiceOptions) {}

  printer(url: string): Result<Printer> {
    const hit = this.printers.get(url);
    if (hit) return ok(hit);
    let p: Result<Printer>;
    if (this.o.printerFor) p = this.o.printerFor(url);
    else {
      const a = parsePrinterUrl(url);
      if (!a.ok) return a;
      const address = a.value;
      p = ok(new Printer(url, () => transportFor(address, this.o.transport), this.o.driver));
    }
    if (p.ok) this.printers.set(url, p.value);
    return p;
  }

  /** Real-time status; a printer whose profile says it never answers is not asked. */
  async status(url: string, kind: StatusKind = 'realtime'): Promise<Result<PrinterStatus>> {
    const p = this.printer(url);
    if (!p.ok) return p;
    return ok(await p.value.status(kind));
  }

  /**
   * Records a job and prints it (waiting its turn behind jobs already on this printer). With a profile,
   * the job is sent and proved as the profile says (driver planFor); without one, real-time status only.
   */
  async print(
    kind: string,
    ref: string,
    url: string,
    bytes: Uint8Array,
    profile?: PrinterProfile,
  ): Promise<Result<PrintJob>> {
    const p = this.printer(url);
    if (!p.ok) return p;
    const now = this.o.clock.now();
    const id = randomUUID();
    this.o.db
      .prepare(
        `INSERT INTO print_jobs (id, kind, ref, printer, profile, state, attempts, bytes, bytes_sha256, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, 'queued', 0, ?, ?, ?, ?)`,
      )
      .run(
        id,
        kind,
        ref,
        url,
        profile?.id ?? null,
        Buffer.from(bytes),
        createHash('sha256').update(bytes).digest('hex'),
        now,
        now,
      );
    return this.run(id, p.value, bytes, profile);
  }

  /**
   * Jobs left by a process that stopped: a queued one never reached the printer (failed); one that was
   * printing may have printed all or part of its bytes (unverified: a person checks the paper, so a
   * reprint is not printed twice unasked). Call once at start-up, when no other process prints with
   * this database. Returns how many jobs it changed.
   */
  recoverInterrupted(): number {
    const now = this.o.clock.now();
    const q = this.o.db
      .prepare(
        `UPDATE print_jobs SET state = 'failed', error_code = 'PRINT_FAILED', error = 'interrupted: the kiosk stopped before the job was sent', updated_at = ? WHERE state = 'queued'`,
      )
      .run(now).changes;
    const p = this.o.db
      .prepare(
        `UPDATE print_jobs SET state = 'unverified', error_code = NULL, error = 'interrupted: the kiosk stopped while sending; check that the paper came out', updated_at = ? WHERE state = 'printing'`,
      )
      .run(now).changes;
    return q + p;
  }

  /**
   * Prints a failed or unverified job again. With `to`, on the printer and profile named now, with the
   * bytes re-encoded for them by the caller (the same document: a bill keeps its token, so its QR);
   * without, with the bytes stored for it on its own printer.
   */
  async reprint(
    jobId: string,
    to?: { url: string; bytes: Uint8Array; profile?: PrinterProfile },
  ): Promise<Result<PrintJob>> {
    const row = this.o.db.prepare('SELECT printer, state, bytes FROM print_jobs WHERE id = ?').get(jobId) as
      { printer: string; state: JobState; bytes: Buffer } | undefined;
    if (!row) return fail('NOT_FOUND', `print job ${jobId}`);
    if (row.state !== 'failed' && row.state !== 'unverified')
      return fail(
        'PRINT_FAILED',
        `job ${jobId} is ${row.state}; only a failed or unverified job is reprinted`,
      );
    const url = to?.url ?? row.printer;
    const bytes = to?.bytes ?? new Uint8Array(row.bytes);
    const p = this.printer(url);
    if (!p.ok) return p;
    this.o.db
      .prepare(
        `UPDATE print_jobs SET state = 'queued', printer = ?, profile = COALESCE(?, profile), bytes = ?,
           bytes_sha256 = ?, updated_at = ? WHERE id = ?`,
      )
      .run(
        url,
        to?.profile?.id ?? null,
        Buffer.from(bytes),
        createHash('sha256').update(bytes).digest('hex'),
        this.o.clock.now(),
        jobId,
      );
    return this.run(jobId, p.value, bytes, to?.profile);
  }

  /**
   * A person says whether the paper of an unverified job came out: yes → printed (proof 'confirmed');
   * no → failed, so it can be reprinted. Refused for a job in any other state.
   */
  confirm(jobId: string, cameOut: boolean): Result<PrintJob> {
    const now = this.o.clock.now();
    const done = this.o.db.transaction((): Result<PrintJob> => {
      const job = this.get(jobId);
      if (!job) return fail('NOT_FOUND', `print job ${jobId}`);
      if (job.state !== 'unverified')
        return fail('PRINT_FAILED', `job ${jobId} is ${job.state}; only an unverified job is confirmed`);
      if (cameOut)
        this.o.db
          .prepare(
            `UPDATE print_jobs SET state = 'printed', proof = 'confirmed', error_code = NULL, error = NULL, updated_at = ?, printed_at = ? WHERE id = ?`,
          )
          .run(now, now, jobId);
      else
        this.o.db
          .prepare(
            `UPDATE print_jobs SET state = 'failed', error_code = 'PRINT_FAILED', error = 'the paper did not come out (said at the kiosk)', updated_at = ? WHERE id = ?`,
          )
          .run(now, jobId);
      const after = this.get(jobId)!;
      this.event(after, now);
      return ok(after);
    });
    return done();
  }

  get(jobId: string): PrintJob | undefined {
    const r = this.o.db.prepare(`SELECT ${COLS} FROM print_jobs WHERE id = ?`).get(jobId) as
      JobRow | undefined;
    return r && toJob(r);
  }

  /** The most recent job of a document (e.g. kind 'bill', ref the bill number). */
  latest(kind: string, ref: string): PrintJob | undefined {
    const r = this.o.db
      .prepare(
        `SELECT ${COLS} FROM print_jobs WHERE kind = ? AND ref = ? ORDER BY created_at DESC, rowid DESC LIMIT 1`,
      )
      .get(kind, ref) as JobRow | undefined;
    return r && toJob(r);
  }

  /** The bytes sent for a job (to compare a reprint, or to save). */
  bytes(jobId: string): Uint8Array | undefined {
    const r = this.o.db.prepare('SELECT bytes FROM print_jobs WHERE id = ?').get(jobId) as
      { bytes: Buffer } | undefined;
    return r && new Uint8Array(r.bytes);
  }

  list(limit = 50): PrintJob[] {
    const rows = this.o.db
      .prepare(`SELECT ${COLS} FROM print_jobs ORDER BY created_at DESC, rowid DESC LIMIT ?`)
      .all(limit) as JobRow[];
    return rows.map(toJob);
  }

  private event(job: PrintJob, now: number): void {
    this.o.appendEvent?.(
      'print.job',
      {
        jobId: job.id,
        kind: job.kind.slice(0, 32),
        ref: job.ref.slice(0, 64),
        state: job.state,
        ...(job.proof && job.proof !== 'realtime' ? { proof: job.proof } : {}),
        ...(job.state === 'failed' && job.error
          ? { error: `${job.errorCode ?? 'PRINT_FAILED'}: ${job.error}`.slice(0, 200) }
          : {}),
      },
      now,
    );
  }

  private async run(
    id: string,
    printer: Printer,
    bytes: Uint8Array,
    profile?: PrinterProfile,
  ): Promise<Result<PrintJob>> {
    const r: Result<JobReport> = await printer.print(
      bytes,
      () => {
        this.o.db
          .prepare(
            `UPDATE print_jobs SET state = 'printing', attempts = attempts + 1, updated_at = ? WHERE id = ?`,
          )
          .run(this.o.clock.now(), id);
      },
      profile ? planFor(profile) : undefined,
    );
    const now = this.o.clock.now();
    const finish = this.o.db.transaction(() => {
      if (r.ok && r.value.verified) {
        this.o.db
          .prepare(
            `UPDATE print_jobs SET state = 'printed', proof = ?, error_code = NULL, error = NULL, updated_at = ?, printed_at = ? WHERE id = ?`,
          )
          .run(r.value.proof, now, now, id);
      } else if (r.ok) {
        const why = {
          'no-status': 'sent; the printer gives no status: check that the paper came out',
          'realtime-only': 'sent; the printer cannot prove printing: check that the paper came out',
          'no-proof': 'sent; no proof of printing came in time: check that the paper came out',
        }[r.value.unverifiedReason ?? 'no-status'];
        this.o.db
          .prepare(
            `UPDATE print_jobs SET state = 'unverified', proof = NULL, error_code = NULL, error = ?, updated_at = ? WHERE id = ?`,
          )
          .run(why, now, id);
      } else {
        this.o.db
          .prepare(
            `UPDATE print_jobs SET state = 'failed', error_code = ?, error = ?, updated_at = ? WHERE id = ?`,
          )
          .run(r.error.code, r.error.message.slice(0, 200), now, id);
      }
      this.event(this.get(id)!, now);
    });
    finish();
    if (!r.ok) return { ok: false, error: { ...r.error, details: { ...r.error.details, jobId: id } } };
    return ok(this.get(id)!);
  }
}
