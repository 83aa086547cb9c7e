// The UI's printer port on top of the print service: documents built from bills, jobs recorded in SQLite.
import { encodeBill, encodeReceipt, encodeTestPage } from '../../printer/documents/index.ts';
import { renderDocument } from '../../printer/layout.ts';
import type { PrinterProfile } from '../../printer/profiles.ts';
import type { PrintService } from '../../printer/service.ts';
import { ok, type Result } from '../../protocol/result.ts';
import { shanghaiDateTime, unixSeconds, type Clock } from '../../protocol/time.ts';
import type { PrintDoc, PrinterPort, PrinterState } from '../api.ts';
import { shiftReportBlocks } from '../shift/document.ts';
import type { BillView } from '../bills/bills.ts';
import { billDocument, receiptDocument } from '../printing/printing.ts';

export { billDocument };

export function servicePrinter(opts: {
  service: PrintService;
  url: string;
  profile: PrinterProfile;
  clock: Clock;
}): PrinterPort {
  const { service, url, profile } = opts;
  const printed = new Set<string>();
  return {
    describe: () => url,
    async status(): Promise<PrinterState> {
      const r = await service.status(url);
      return r.ok ? r.value.state : 'unreachable';
    },
    async print(doc: PrintDoc): Promise<Result<{ jobId: string }>> {
      let bytes: Uint8Array;
      let ref: string;
      switch (doc.kind) {
        case 'bill':
          // A second print of one bill is marked as a copy.
          bytes = encodeBill(billDocument(doc.bill, printed.has(doc.bill.billNo)), profile);
          ref = doc.bill.billNo;
          break;
        case 'receipt': {
          const d = receiptDocument({ ...doc.bill, payment: doc.bill.payment as BillView['payment'] });
          if (!d.ok) return d;
          bytes = encodeReceipt({ ...d.value, ...(doc.copy ? { copy: true } : {}) }, profile);
          ref = doc.bill.billNo;
          break;
        }
        case 'test':
          bytes = encodeTestPage({ profile, url, at: shanghaiDateTime(unixSeconds(opts.clock)) });
          ref = 'test';
          break;
        case 'shift':
          bytes = renderDocument(shiftReportBlocks(doc.report), profile);
          ref = doc.report.shiftId;
          break;
      }
      const r = await service.print(doc.kind, ref, url, bytes);
      if (!r.ok) return r;
      if (doc.kind === 'bill') printed.add(doc.bill.billNo);
      return ok({ jobId: r.value.id });
    },
  };
}
