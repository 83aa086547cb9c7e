// The receipt follows the payment, not the screen. A payment for a bill of this kiosk makes its receipt due
// (a trigger of migration 008, in the payment's own transaction); `drain` prints each due receipt once,
// whichever screen shows and whether the payment came from a scanned confirmation or from the hub.
// A receipt that failed to print (paper out) stays `failed` until staff reprint it; a reprint is a copy.
import type { Database } from '../../db/connection.ts';
import { fail, ok, type Failure, type Result } from '../../protocol/result.ts';
import { unixSeconds, type Clock } from '../../protocol/time.ts';

export type ReceiptState = 'due' | 'printing' | 'printed' | 'failed';

export interface ReceiptInfo {
  billNo: string;
  state: ReceiptState;
  dueAt: number;
  errorCode?: string;
}

/** Prints one receipt of a paid bill; `copy` marks a reprint on the paper. */
export type PrintReceipt = (billNo: string, copy: boolean) => Promise<Result<{ jobId: string }>>;

export interface ReceiptsService {
  /** Prints every due receipt, oldest first, each once; resolves to how many were tried. */
  drain(): Promise<number>;
  /** The receipt of a bill, when its payment made one due here. */
  get(billNo: string): ReceiptInfo | undefined;
  /** Prints a receipt again, marked as a copy (staff reprint, a confirmation scanned again). */
  reprint(billNo: string): Promise<Result<{ jobId: string }>>;
  /** Receipts that failed to print, for the staff console. */
  failed(): ReceiptInfo[];
}

interface Row {
  bill_no: string;
  state: ReceiptState;
  due_at: number;
  error_code: string | null;
}

const info = (r: Row): ReceiptInfo => ({
  billNo: r.bill_no,
  state: r.state,
  dueAt: r.due_at,
  ...(r.error_code ? { errorCode: r.error_code } : {}),
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

  // One drain at a time: a call during a drain runs after it and looks again.
  let chain: Promise<unknown> = Promise.resolve();
  const drainOnce = async (): Promise<number> => {
    let n = 0;
    for (const r of due.all()) {
      if (claim.run(unixSeconds(clock), r.bill_no).changes !== 1) continue;
      n++;
      let p: Result<{ jobId: string }>;
      try {
        p = await print(r.bill_no, false);
      } catch (e) {
        p = fail('PRINT_FAILED', (e as Error).message);
      }
      const err: Failure | undefined = p.ok ? undefined : p.error;
      finish.run(
        p.ok ? 'printed' : 'failed',
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
      if (p.ok && one.get(billNo)?.state === 'failed') {
        finish.run('printed', p.value.jobId, null, unixSeconds(clock), billNo);
      }
      return p.ok ? ok(p.value) : p;
    },
  };
}
