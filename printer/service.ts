// The print service: one queue per printer URL (the driver's Printer runs one job at a time), a record of
// every job in SQLite (state queued → printing → printed | failed, attempts, error, hash of the bytes),
// a `print.job` outbox event when a job ends, and reprint of a failed job with the very same bytes.
import { createHash, randomUUID } from 'node:crypto';
import type { Database } from '../db/connection.ts';
import type { ErrorCode } from '../protocol/errors.ts';
import { fail, ok, type Result } from '../protocol/result.ts';
import type { Clock } from '../protocol/time.ts';
import { Printer, type DriverOptions, type JobReport } from './driver.ts';
import type { PrinterStatus } from './status.ts';
import { parsePrinterUrl, transportFor, type TransportOptions } from './transports/index.ts';

export type JobState = 'queued' | 'printing' | 'printed' | 'failed';

export interface PrintJob {
  id: string;
  kind: string;
  ref: string;
  printer: string;
  state: JobState;
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
  state: JobState;
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
  'id, kind, ref, printer, state, attempts, error_code, error, bytes_sha256, length(bytes) AS size, created_at, updated_at, printed_at';

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

  async status(url: string): Promise<Result<PrinterStatus>> {
    const p = this.printer(url);
    if (!p.ok) return p;
    return ok(await p.value.status());
  }

  /** Records a job and prints it (waiting its turn behind jobs already on this printer). */
  async print(kind: string, ref: string, url: string, bytes: Uint8Array): Promise<Result<PrintJob>> {
    const p = this.printer(url);
    if (!p.ok) return p;
    const now = this.o.clock.now();
    const id = randomUUID();
    this.o.db
      .prepare(
        `INSERT INTO print_jobs (id, kind, ref, printer, state, attempts, bytes, bytes_sha256, created_at, updated_at)
         VALUES (?, ?, ?, ?, 'queued', 0, ?, ?, ?, ?)`,
      )
      .run(
        id,
        kind,
        ref,
        url,
        Buffer.from(bytes),
        createHash('sha256').update(bytes).digest('hex'),
        now,
        now,
      );
    return this.run(id, p.value, bytes);
  }

  /**
   * Marks jobs left queued or printing by a process that stopped as failed, so they can be reprinted.
   * Call once at start-up, when no other process prints with this database.
   */
  recoverInterrupted(): number {
    return this.o.db
      .prepare(
        `UPDATE print_jobs SET state = 'failed', error_code = 'PRINT_FAILED', error = 'interrupted: the kiosk stopped during the job', updated_at = ? WHERE state IN ('queued', 'printing')`,
      )
      .run(this.o.clock.now()).changes;
  }

  /** Prints a failed job again with the bytes stored for it (same QR, same token). */
  async reprint(jobId: string): Promise<Result<PrintJob>> {
    const row = this.o.db.prepare('SELECT printer, state, bytes FROM print_jobs WHERE id = ?').get(jobId) as
      { printer: string; state: JobState; bytes: Buffer } | undefined;
    if (!row) return fail('NOT_FOUND', `print job ${jobId}`);
    if (row.state !== 'failed')
      return fail('PRINT_FAILED', `job ${jobId} is ${row.state}, only a failed job is reprinted`);
    const p = this.printer(row.printer);
    if (!p.ok) return p;
    this.o.db
      .prepare(`UPDATE print_jobs SET state = 'queued', updated_at = ? WHERE id = ?`)
      .run(this.o.clock.now(), jobId);
    return this.run(jobId, p.value, new Uint8Array(row.bytes));
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

  private async run(id: string, printer: Printer, bytes: Uint8Array): Promise<Result<PrintJob>> {
    const r: Result<JobReport> = await printer.print(bytes, () => {
      this.o.db
        .prepare(
          `UPDATE print_jobs SET state = 'printing', attempts = attempts + 1, updated_at = ? WHERE id = ?`,
        )
        .run(this.o.clock.now(), id);
    });
    const now = this.o.clock.now();
    const finish = this.o.db.transaction(() => {
      if (r.ok) {
        this.o.db
          .prepare(
            `UPDATE print_jobs SET state = 'printed', error_code = NULL, error = NULL, updated_at = ?, printed_at = ? WHERE id = ?`,
          )
          .run(now, now, id);
      } else {
        this.o.db
          .prepare(
            `UPDATE print_jobs SET state = 'failed', error_code = ?, error = ?, updated_at = ? WHERE id = ?`,
          )
          .run(r.error.code, r.error.message.slice(0, 200), now, id);
      }
      const job = this.get(id)!;
      this.o.appendEvent?.(
        'print.job',
        {
          jobId: id,
          kind: job.kind.slice(0, 32),
          ref: job.ref.slice(0, 64),
          state: r.ok ? 'printed' : 'failed',
          ...(r.ok ? {} : { error: `${r.error.code}: ${r.error.message}`.slice(0, 200) }),
        },
        now,
      );
    });
    finish();
    if (!r.ok) return { ok: false, error: { ...r.error, details: { ...r.error.details, jobId: id } } };
    return ok(this.get(id)!);
  }
}
