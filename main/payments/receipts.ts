// The receipt follows the payment, not the screen. A payment for a bill of this kiosk makes its receipt due
// (a trigger of migration 008, in the payment's own transaction); `drain` prints each due receipt once,
// whichever screen shows and whether the payment came from a scanned confirmation or from the hub.
// A receipt that failed to print (paper out) stays `failed` until staff reprint it; a reprint is a copy.
// A receipt sent to a printer that cannot prove printing (no status) is `unverified`, never `printed`,
// until a person says the paper came out (`settle`, from the API's printConfirm).
import type { Database } from '../../db/connection.ts';
import { fail, ok, type Failure, type Result } from '../../protocol/result.ts';
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

export interface ReceiptsService {
  /** Prints every due receipt, oldest first, each once; resolves to how many were tried. */
  drain(): Promise<number>;
  /** The receipt of a bill, when its payment made one due here. */
  get(billNo: string): ReceiptInfo | undefined;
  /** Prints a receipt again, marked as a copy (staff reprint, a confirmation scanned again). */
  reprint(billNo: string): Promise<Result<ReceiptPrint>>;
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
}

const info = (r: Row): ReceiptInfo => ({
  billNo: r.bill_no,
  state: r.state,
  dueAt: r.due_at,
  ...(r.error_code ? { errorCode: r.error_code } : {}),
  ...(r.state === 'unverified' && r.job_id ? { jobId: r.job_id } : {}),
});

export function createReceiptsService(db: Database, clock: Clock, print: PrintReceipt): ReceiptsService {
  const due = db.prepare<[], Row>("SELECT * FROM receipts WHERE state = 'due' ORDER BY due_at, bill_no");
  const one = db.prepare<[string], Row>('SELECT * FROM receipts WHERE bill_no = ?');
  const failedRows = db.prepare<[], Row>("SELECT * FROM receipts WHERE state = 'failed' ORDER BY due_at");
  const paidBill = db.prepare<[string], { status: string }>('SELECT status FROM bills WHERE bill_no = ?');
  // Claiming a receipt is one conditional update: two drains never print the same receipt.
  const claim = db.prepare<[number, string]>(
    "UPDATE receipts SET state = 'printing', updated_at = ? WHERE bill_no = ? AND state = 'due'",
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

  // One drain at a time: a call during a drain runs after it and looks again.
  let chain: Promise<unknown> = Promise.resolve();
  const drainOnce = async (): Promise<number> => {
    let n = 0;
    for (const r of due.all()) {
      if (claim.run(unixSeconds(clock), r.bill_no).changes !== 1) continue;
      n++;
      let p: Result<ReceiptPrint>;
      try {
        p = await print(r.bill_no, false);
      } catch (e) {
        p = fail('PRINT_FAILED', (e as Error).message);
      }
      const err: Failure | undefined = p.ok ? undefined : p.error;
      finish.run(
        stateOf(p),
        p.ok ? p.value.jobId : null,
        err ? err.code : null,
        unixSeconds(clock),
        r.bill_no,
      );
    }
    return n;
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
    async reprint(billNo) {
      const b = paidBill.get(billNo);
      if (!b) return fail('BILL_NOT_FOUND');
      if (b.status !== 'paid') return fail('NOT_PAID_YET');
      const p = await print(billNo, true);
      // A failed or unverified receipt takes the copy's outcome; a printed one stays printed.
      const was = one.get(billNo)?.state;
      if (p.ok && (was === 'failed' || was === 'unverified')) {
        finish.run(stateOf(p), p.value.jobId, null, unixSeconds(clock), billNo);
      }
      return p.ok ? ok(p.value) : p;
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
