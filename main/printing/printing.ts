// Printing wired to the kiosk: bill and receipt documents from the kiosk's bills, the print service on
// the kiosk's database with its outbox, and the API's PrinterPort on top.
import path from 'node:path';
import { maskPlate } from '../../protocol/fines.ts';
import { fail, ok, type Result } from '../../protocol/result.ts';
import { shanghaiDateTime, unixSeconds } from '../../protocol/time.ts';
import {
  encodeShiftReport,
  encodeBill,
  encodeReceipt,
  encodeTestPage,
  type BillDocument,
  type ReceiptDocument,
} from '../../printer/documents/index.ts';
import { resolveProfileRef, type PrinterProfile } from '../../printer/profiles.ts';
import { SETTING } from '../settings/settings.ts';
import { PrintService, type PrintJob, type PrintServiceOptions } from '../../printer/service.ts';
import type { PrinterStatus } from '../../printer/status.ts';
import type { BillView, Kiosk } from '../kiosk.ts';
import type { PrintDoc, PrinterPort, PrinterState } from '../api.ts';

/** Where jobs go when nothing is configured: the virtual printer `npm start` runs. */
export const DEFAULT_PRINTER_URL = 'tcp://127.0.0.1:9100';

type BillLike = Pick<
  BillView,
  'billNo' | 'decisionNo' | 'fineFen' | 'lateFeeFen' | 'amountFen' | 'expiresAt' | 'url' | 'deviceId' | 'fine'
>;

export function billDocument(b: BillLike, copy = false): BillDocument {
  const d: BillDocument = {
    billNo: b.billNo,
    decisionNo: b.decisionNo,
    plateMasked: maskPlate(b.fine.plate),
    violation: b.fine.description,
    place: b.fine.place,
    occurredAt: b.fine.occurredAt,
    fineFen: b.fineFen,
    lateFeeFen: b.lateFeeFen,
    amountFen: b.amountFen,
    points: b.fine.points,
    url: b.url,
    expiresAt: b.expiresAt,
    deviceId: b.deviceId,
  };
  if (b.fine.descriptionEn) d.violationEn = b.fine.descriptionEn;
  if (copy) d.copy = true;
  return d;
}

export function receiptDocument(
  b: Pick<BillView, 'billNo' | 'decisionNo' | 'deviceId' | 'payment'> &
    Partial<Pick<BillView, 'fineFen' | 'lateFeeFen' | 'fine'>>,
): Result<ReceiptDocument> {
  if (!b.payment) return fail('FINE_NOT_PAYABLE', `bill ${b.billNo} has no payment to print a receipt for`);
  return ok({
    billNo: b.billNo,
    decisionNo: b.decisionNo,
    amountFen: b.payment.amountFen,
    ...(b.fineFen !== undefined ? { fineFen: b.fineFen } : {}),
    ...(b.lateFeeFen !== undefined ? { lateFeeFen: b.lateFeeFen } : {}),
    ...(b.fine ? { points: b.fine.points } : {}),
    channel: b.payment.channel,
    txnId: b.payment.txnId,
    paidAt: b.payment.paidAt,
    deviceId: b.deviceId,
  });
}

export interface KioskPrintingOptions {
  printerUrl?: string;
  profile?: PrinterProfile | string;
  driver?: PrintServiceOptions['driver'];
  printerFor?: PrintServiceOptions['printerFor'];
}

export interface KioskPrinting {
  service: PrintService;
  url: string;
  profile: PrinterProfile;
  status(): Promise<PrinterStatus>;
  /** Prints a bill; a bill whose last job failed is reprinted from that job's bytes (same QR). */
  printBill(billNo: string): Promise<Result<PrintJob>>;
  printReceipt(billNo: string): Promise<Result<PrintJob>>;
  printTest(): Promise<Result<PrintJob>>;
  /** The API's printer port. */
  port(): PrinterPort;
}

/** A profile by shipped id, by JSON file path, or given; default generic-80 (printer/profiles.ts). */
export function resolveProfile(p: PrinterProfile | string | undefined): Result<PrinterProfile> {
  return resolveProfileRef(p);
}

/** The profile named now: the one asked for, else the kiosk setting `printerProfile`, else the default. */
export function kioskProfile(
  kiosk: Pick<Kiosk, 'settings'>,
  asked?: PrinterProfile | string,
): Result<PrinterProfile> {
  return resolveProfileRef(asked ?? kiosk.settings.get(SETTING.printerProfile));
}

export function createKioskPrinting(kiosk: Kiosk, o: KioskPrintingOptions = {}): Result<KioskPrinting> {
  const prof = kioskProfile(kiosk, o.profile);
  if (!prof.ok) return prof;
  const profile = prof.value;
  const url = o.printerUrl ?? DEFAULT_PRINTER_URL;
  const service = new PrintService({
    db: kiosk.db,
    clock: kiosk.clock,
    appendEvent: (type, payload, at) => kiosk.outbox.append(type, payload, at),
    ...(o.driver ? { driver: o.driver } : {}),
    ...(o.printerFor ? { printerFor: o.printerFor } : {}),
  });
  const check = service.printer(url);
  if (!check.ok) return check;

  const printBillView = async (b: BillLike & { status?: string }): Promise<Result<PrintJob>> => {
    // A bill's QR must be payable when it leaves the printer.
    if (b.status === 'paid') return fail('BILL_PAID', b.billNo);
    if (b.status === 'voided') return fail('BILL_VOIDED', b.billNo);
    if (b.status === 'expired' || b.expiresAt <= unixSeconds(kiosk.clock))
      return fail('BILL_EXPIRED', b.billNo);
    const last = service.latest('bill', b.billNo);
    if (last?.state === 'failed') return service.reprint(last.id);
    return service.print(
      'bill',
      b.billNo,
      url,
      encodeBill(billDocument(b, last?.state === 'printed'), profile),
    );
  };
  const printReceiptView = async (b: BillView): Promise<Result<PrintJob>> => {
    const d = receiptDocument(b);
    if (!d.ok) return d;
    const last = service.latest('receipt', b.billNo);
    if (last?.state === 'failed') return service.reprint(last.id);
    return service.print(
      'receipt',
      b.billNo,
      url,
      encodeReceipt({ ...d.value, ...(last ? { copy: true } : {}) }, profile),
    );
  };
  const printTest = (): Promise<Result<PrintJob>> =>
    service.print(
      'test',
      profile.id,
      url,
      encodeTestPage({ profile, url, at: shanghaiDateTime(unixSeconds(kiosk.clock)) }),
    );

  return ok({
    service,
    url,
    profile,
    status: async () => {
      const s = await service.status(url);
      return s.ok ? s.value : { state: 'unreachable', detail: s.error.message };
    },
    printBill: async (billNo) => {
      const b = kiosk.bills.get(billNo);
      return b.ok ? printBillView(b.value) : b;
    },
    printReceipt: async (billNo) => {
      const b = kiosk.bills.get(billNo);
      return b.ok ? printReceiptView(b.value) : b;
    },
    printTest,
    port(): PrinterPort {
      return {
        describe: () => url,
        status: async (): Promise<PrinterState> => {
          const s = await service.status(url);
          return s.ok ? s.value.state : 'unreachable';
        },
        print: async (doc: PrintDoc): Promise<Result<{ jobId: string }>> => {
          let r: Result<PrintJob>;
          if (doc.kind === 'bill') r = await printBillView(doc.bill);
          else if (doc.kind === 'receipt') {
            const b = kiosk.bills.get(doc.bill.billNo);
            r = b.ok ? await printReceiptView(b.value) : b;
          } else if (doc.kind === 'test') r = await printTest();
          else if (doc.kind === 'shift')
            r = await service.print(
              'shift',
              doc.report.shiftId.slice(0, 64),
              url,
              encodeShiftReport(doc.report, profile),
            );
          else return fail('PRINT_FAILED', 'no printed layout for this document');
          return r.ok ? ok({ jobId: r.value.id }) : r;
        },
      };
    },
  });
}

export interface KioskVirtualPrinter {
  url: string;
  controlUrl?: string;
  outDir: string;
  close(): Promise<void>;
}

/**
 * Starts the virtual printer in this process for `npm start`: on 127.0.0.1:9100 when free (else any free
 * port), pages as PNG in <dataDir>/printed, status control over HTTP. Point createKioskPrinting at `url`.
 */
export async function startKioskVirtualPrinter(o: {
  dataDir: string;
  port?: number;
  controlPort?: number;
  profile?: PrinterProfile | string;
}): Promise<KioskVirtualPrinter> {
  const { startVirtualPrinter } = await import('../../printer/virtual/server.ts');
  const prof = resolveProfile(o.profile);
  const dots = prof.ok ? prof.value.dots : 576;
  const outDir = path.join(o.dataDir, 'printed');
  const start = (port: number) =>
    startVirtualPrinter({ port, outDir, dots, controlPort: o.controlPort ?? 0, saveBytes: true });
  let vp;
  try {
    vp = await start(o.port ?? 9100);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
    vp = await start(0);
  }
  return {
    url: vp.url,
    ...(vp.controlUrl ? { controlUrl: vp.controlUrl } : {}),
    outDir,
    close: () => vp.close(),
  };
}
