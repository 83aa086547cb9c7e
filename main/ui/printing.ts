// The UI's printer port on top of the print service: documents built from bills, jobs recorded in SQLite.
import { encodeBill, encodeReceipt, encodeTestPage } from '../../printer/documents/index.ts';
import { renderDocument } from '../../printer/layout.ts';
import type { PrinterProfile } from '../../printer/profiles.ts';
import type { PrintService } from '../../printer/service.ts';
import { maskPlate } from '../../protocol/fines.ts';
import { ok, type Result } from '../../protocol/result.ts';
import { shanghaiDateTime, unixSeconds, type Clock } from '../../protocol/time.ts';
import type { BillViewLike, PrintDoc, PrinterPort, PrinterState } from '../api.ts';
import { shiftReportBlocks } from '../shift/document.ts';

export function billDocument(b: BillViewLike, copy = false) {
  return {
    billNo: b.billNo,
    decisionNo: b.decisionNo,
    plateMasked: maskPlate(b.fine.plate),
    violation: b.fine.description,
    ...(b.fine.descriptionEn ? { violationEn: b.fine.descriptionEn } : {}),
    place: b.fine.place,
    occurredAt: b.fine.occurredAt,
    fineFen: b.fineFen,
    lateFeeFen: b.lateFeeFen,
    amountFen: b.amountFen,
    points: b.fine.points,
    url: b.url,
    expiresAt: b.expiresAt,
    deviceId: b.deviceId,
    ...(copy ? { copy } : {}),
  };
}

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
          const p = doc.bill.payment!;
          bytes = encodeReceipt(
            {
              billNo: doc.bill.billNo,
              decisionNo: doc.bill.decisionNo,
              amountFen: p.amountFen,
              channel: p.channel as 'alipay' | 'wechat',
              txnId: p.txnId,
              paidAt: p.paidAt,
              deviceId: doc.bill.deviceId,
            },
            profile,
          );
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
