// The receipt follows the payment, not the screen. A payment for a bill of this kiosk makes its receipt due
// (a trigger of migration 008, in the payment's own transaction); `drain` prints each due receipt once,
// whichever screen shows and whether the payment came from a scanned confirmation or from the hub.
// A receipt that failed because the printer was not ready (paper out, cover open, offline, unreachable,
// no answer) is printed again by `drain` once the printer says it is ready (paper loaded), at most
// AUTO_RETRIES times; any other failure stays `failed` until staff reprint it. A reprint is a copy, and
// every copy is recorded (receipt_copies, migration 022): a citizen scanning the confirmation again gets
// at most MAX_SCAN_COPIES copies, staff as many as they ask for, each kept with the staff id.
// A receipt sent to a printer that cannot prove printing (no status) is `unverified`, never `printed`,
// until a person says the paper came out (`settle`, from the API's printConfirm).
import type { Database } from '../../db/connection.ts';
import { fail, ok, type Failure, type Result } from '../../protocol/result.ts';
import { MAX_SCAN_COPIES, PRINTER_NOT_READY } from '../../protocol/receipts.ts';
import { unixSeconds, type Clock } from '../../protocol/time.ts';

export type ReceiptState = 'due' | 'printing' | 'printed' | 'unverified' | 'failed';

export interface ReceiptInfo {
  billNo: string;
  state: ReceiptState;
  dueAt: number;
  errorCode?: string;
  /** The print job of an `unverified` receipt: the one a person confirms (printConfirm). */
  jobId?: string;
}

/**
 * A print's answer: `verified` false means every byte was sent but the printer cannot prove the paper came
 * out (printer/driver.ts); absent means verified.
 */
export interface ReceiptPrint {
  jobId: string;
  verified?: boolean;
}

/** Prints one receipt of a paid bill; `copy` marks a reprint on the paper. */
export type PrintReceipt = (billNo: string, copy: boolean) => Promise<Result<ReceiptPrint>>;

/** Who asked for a copy: the citizen (a confirmation scanned again) or a member of staff. */
export type CopyAsker = { by: 'scan' } | { by: 'staff'; staffId: string };

export { MAX_SCAN_COPIES };
/** Times a receipt failed for want of a ready printer is printed again by itself. */
export const AUTO_RETRIES = 3;
/** How often, at most, the printer is asked whether it is ready again (ms of the kiosk clock). */
export const READY_CHECK_MS = 3000;

/** Failures that mean the printer was not ready, not that the receipt cannot be printed. */
const NOT_READY = new Set(PRINTER_NOT_READY);

export interface ReceiptsOptions {
  /**
   * Whether the printer can print now (its real-time status). With it, receipts that failed because the
   * printer was not ready are printed again once it is; without it, they wait for staff.
   */
  printerReady?: () => Promise<boolean>;
  /** Copies a citizen may get by scanning again (default MAX_SCAN_COPIES). */
  maxScanCopies?: number;
}

/** One copy of a receipt, as recorded. */
export interface ReceiptCopy {
  billNo: string;
  by: 'scan' | 'staff';
  staffId?: string;
  /** Unix seconds. */
  at: number;
  outcome: 'printing' | 'printed' | 'unverified' | 'failed';
  errorCode?: string;
}

export interface ReceiptsService {
  /**
   * Prints every due receipt, oldest first, each once; then, when the printer is ready again, the
   * receipts that failed because it was not (oldest first). Resolves to how many were tried.
   */
  drain(): Promise<number>;
  /** The receipt of a bill, when its payment made one due here. */
  get(billNo: string): ReceiptInfo | undefined;
  /**
   * Prints a receipt again, marked as a copy, and records who asked. A citizen's scan is refused
   * RECEIPT_COPY_LIMIT once MAX_SCAN_COPIES copies were printed (or are printing) for the bill; staff
   * are never refused. BILL_NOT_FOUND, NOT_PAID_YET, or the printer's failure otherwise.
   */
  reprint(billNo: string, asker?: CopyAsker): Promise<Result<ReceiptPrint>>;
  /** Copies printed since `since` (unix seconds), oldest first: for the shift report. */
  copiesSince(since: number, until?: number): ReceiptCopy[];
  /**
   * A person answered "did the paper come out?" for job `jobId`, and `answer` is what the printer side made
   * of it (came out: that job printed; not: a new job printed again). The receipt whose unverified job
   * that was becomes `printed` (proof by the person or the printer), `unverified` again with the new job,
   * or `failed` with the new print's code. Resolves to the receipt changed, undefined when no unverified
   * receipt has that job (a bill or test page).
   */
  settle(jobId: string, answer: Result<ReceiptPrint>): ReceiptInfo | undefined;
  /** Receipts that failed to print, for the staff console. */
  failed(): ReceiptInfo[];
}

interface Row {
  bill_no: string;
  state: ReceiptState;
  due_at: number;
  job_id: string | null;
  error_code: string | null;
  auto_retries: number;
}

interface CopyRow {
  bill_no: string;
  asked_by: 'scan' | 'staff';
  staff_id: string | null;
  at: number;
  outcome: ReceiptCopy['outcome'];
  error_code: string | null;
}

const info = (r: Row): ReceiptInfo => ({
  billNo: r.bill_no,
  state: r.state,
  dueAt: r.due_at,
  ...(r.error_code ? { errorCode: r.error_code } : {}),
  ...(r.state === 'unverified' && r.job_id ? { jobId: r.job_id } : {}),
});

/**
 * The receipts of this kiosk's database. `print` prints one receipt (the kiosk's print port); `opts`
 * says how to know the printer is ready again and how many copies a scan may get.
 */
export function createReceiptsService(
  db: Database,
  clock: Clock,
  print: PrintReceipt,
  opts: ReceiptsOptions = {},
): ReceiptsService {
  const maxScanCopies = opts.maxScanCopies ?? MAX_SCAN_COPIES;
  const due = db.prepare<[], Row>("SELECT * FROM receipts WHERE state = 'due' ORDER BY due_at, bill_no");
  const one = db.prepare<[string], Row>('SELECT * FROM receipts WHERE bill_no = ?');
  const failedRows = db.prepare<[], Row>("SELECT * FROM receipts WHERE state = 'failed' ORDER BY due_at");
  const paidBill = db.prepare<[string], { status: string }>('SELECT status FROM bills WHERE bill_no = ?');
  // Claiming a receipt is one conditional update: two drains never print the same receipt.
  const claim = db.prepare<[number, string]>(
    "UPDATE receipts SET state = 'printing', updated_at = ? WHERE bill_no = ? AND state = 'due'",
  );
  const waiting = db.prepare<[], Row>(
    `SELECT * FROM receipts WHERE state = 'failed' AND auto_retries < ${AUTO_RETRIES}
       AND error_code IN (${[...NOT_READY].map((c) => `'${c}'`).join(', ')}) ORDER BY due_at, bill_no`,
  );
  const claimRetry = db.prepare<[number, string, string]>(
    `UPDATE receipts SET state = 'printing', auto_retries = auto_retries + 1, updated_at = ?
      WHERE bill_no = ? AND state = 'failed' AND error_code = ?`,
  );
  const scanCopies = db.prepare<[string], { n: number }>(
    "SELECT count(*) AS n FROM receipt_copies WHERE bill_no = ? AND asked_by = 'scan' AND outcome <> 'failed'",
  );
  const addCopy = db.prepare<[string, string, string | null, number]>(
    "INSERT INTO receipt_copies (bill_no, asked_by, staff_id, at, outcome) VALUES (?, ?, ?, ?, 'printing')",
  );
  const endCopy = db.prepare<[string | null, string, string | null, number | bigint]>(
    'UPDATE receipt_copies SET job_id = ?, outcome = ?, error_code = ? WHERE id = ?',
  );
  const copiesIn = db.prepare<[number, number], CopyRow>(
    'SELECT * FROM receipt_copies WHERE at >= ? AND at <= ? ORDER BY at, id',
  );
  const finish = db.prepare<[string, string | null, string | null, number, string]>(
    'UPDATE receipts SET state = ?, job_id = ?, error_code = ?, updated_at = ? WHERE bill_no = ?',
  );
  // A receipt left `printing` by a crash may or may not be on paper: staff decide (reprint), never a
  // silent second original.
  db.prepare(
    "UPDATE receipts SET state = 'failed', error_code = 'PRINT_FAILED', updated_at = ? WHERE state = 'printing'",
  ).run(unixSeconds(clock));

  const byJob = db.prepare<[string], Row>("SELECT * FROM receipts WHERE job_id = ? AND state = 'unverified'");
  const stateOf = (p: Result<ReceiptPrint>): ReceiptState =>
    !p.ok ? 'failed' : p.value.verified === false ? 'unverified' : 'printed';

  const printOne = async (billNo: string): Promise<void> => {
    let p: Result<ReceiptPrint>;
    try {
      p = await print(billNo, false);
    } catch (e) {
      p = fail('PRINT_FAILED', (e as Error).message);
    }
    const err: Failure | undefined = p.ok ? undefined : p.error;
    finish.run(stateOf(p), p.ok ? p.value.jobId : null, err ? err.code : null, unixSeconds(clock), billNo);
  };

  // The printer is asked at most every READY_CHECK_MS while receipts wait for it.
  let lastReadyCheck = -Infinity;
  const retryWaiting = async (): Promise<number> => {
    if (!opts.printerReady) return 0;
    const rows = waiting.all();
    if (rows.length === 0 || clock.now() - lastReadyCheck < READY_CHECK_MS) return 0;
    lastReadyCheck = clock.now();
    if (!(await opts.printerReady().catch(() => false))) return 0;
    let n = 0;
    for (const r of rows) {
      if (claimRetry.run(unixSeconds(clock), r.bill_no, r.error_code!).changes !== 1) continue;
      n++;
      await printOne(r.bill_no);
      // Not ready again (the paper ran out once more): the rest wait for the next check.
      const after = one.get(r.bill_no);
      if (after?.state === 'failed' && NOT_READY.has(after.error_code ?? '')) break;
    }
    return n;
  };

  // One drain at a time: a call during a drain runs after it and looks again.
  let chain: Promise<unknown> = Promise.resolve();
  const drainOnce = async (): Promise<number> => {
    let n = 0;
    for (const r of due.all()) {
      if (claim.run(unixSeconds(clock), r.bill_no).changes !== 1) continue;
      n++;
      await printOne(r.bill_no);
    }
    return n + (await retryWaiting());
  };

  return {
    drain() {
      const next = chain.then(drainOnce);
      chain = next.catch(() => 0);
      return next;
    },
    get(billNo) {
      const r = one.get(billNo);
      return r ? info(r) : undefined;
    },
    failed: () => failedRows.all().map(info),
    async reprint(billNo, asker = { by: 'staff', staffId: '' }) {
      const b = paidBill.get(billNo);
      if (!b) return fail('BILL_NOT_FOUND');
      if (b.status !== 'paid') return fail('NOT_PAID_YET');
      // The cap is checked and the copy recorded in one step: two scans at once cannot both pass it.
      const copyId = db.transaction((): number | bigint | undefined => {
        if (asker.by === 'scan' && scanCopies.get(billNo)!.n >= maxScanCopies) return undefined;
        return addCopy.run(billNo, asker.by, asker.by === 'staff' ? asker.staffId : null, unixSeconds(clock))
          .lastInsertRowid;
      })();
      if (copyId === undefined) return fail('RECEIPT_COPY_LIMIT');
      let p: Result<ReceiptPrint>;
      try {
        p = await print(billNo, true);
      } catch (e) {
        p = fail('PRINT_FAILED', (e as Error).message);
      }
      endCopy.run(p.ok ? p.value.jobId : null, stateOf(p), p.ok ? null : p.error.code, copyId);
      // A failed or unverified receipt takes the copy's outcome; a printed one stays printed.
      const was = one.get(billNo)?.state;
      if (p.ok && (was === 'failed' || was === 'unverified')) {
        finish.run(stateOf(p), p.value.jobId, null, unixSeconds(clock), billNo);
      }
      return p.ok ? ok(p.value) : p;
    },
    copiesSince(since, until = Number.MAX_SAFE_INTEGER) {
      return copiesIn.all(since, until).map((r) => ({
        billNo: r.bill_no,
        by: r.asked_by,
        ...(r.staff_id ? { staffId: r.staff_id } : {}),
        at: r.at,
        outcome: r.outcome,
        ...(r.error_code ? { errorCode: r.error_code } : {}),
      }));
    },
    settle(jobId, answer) {
      const r = byJob.get(jobId);
      if (!r) return undefined;
      finish.run(
        stateOf(answer),
        answer.ok ? answer.value.jobId : jobId,
        answer.ok ? null : answer.error.code,
        unixSeconds(clock),
        r.bill_no,
      );
      return info(one.get(r.bill_no)!);
    },
  };
}
