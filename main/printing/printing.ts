// Printing wired to the kiosk: bill and receipt documents from the kiosk's bills, the print service on
// the kiosk's database with its outbox, and the API's PrinterPort on top.
import path from 'node:path';
import { maskPlate } from '../../protocol/fines.ts';
import { fail, ok, type Result } from '../../protocol/result.ts';
import { shanghaiDateTime, unixSeconds } from '../../protocol/time.ts';
import {
  encodeChecked,
  encodeBill,
  encodeReceipt,
  encodeTestPage,
  type BillDocument,
  type ReceiptDocument,
} from '../../printer/documents/index.ts';
import { renderDocument } from '../../printer/layout.ts';
import { shiftReportBlocks } from '../shift/document.ts';
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
  /** An existing print service on the kiosk's database (the launcher shares one with officer mode). */
  service?: PrintService;
}

/** What a print call answers: the job, and whether its printing is proved or a person must check. */
export interface PrintOutcome {
  jobId: string;
  state: 'printed' | 'unverified';
  verified: boolean;
}

export interface KioskPrinting {
  service: PrintService;
  url: string;
  profile: PrinterProfile;
  status(): Promise<PrinterStatus>;
  /**
   * Prints a bill. A bill whose last job failed or is unverified is printed again on that job, re-encoded
   * for the printer and profile named now with the bill's own token (same QR).
   */
  printBill(billNo: string): Promise<Result<PrintJob>>;
  printReceipt(billNo: string): Promise<Result<PrintJob>>;
  printTest(): Promise<Result<PrintJob>>;
  /** A person's answer for an unverified job: the paper came out (printed) or not (failed, reprintable). */
  confirmPaper(jobId: string, cameOut: boolean): Result<PrintJob>;
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
  const service =
    o.service ??
    new PrintService({
      db: kiosk.db,
      clock: kiosk.clock,
      appendEvent: (type, payload, at) => kiosk.outbox.append(type, payload, at),
      ...(o.driver ? { driver: o.driver } : {}),
      ...(o.printerFor ? { printerFor: o.printerFor } : {}),
    });
  const check = service.printer(url);
  if (!check.ok) return check;

  /**
   * One document of (kind, ref): a first print, or — when its last job failed or is unverified — that
   * job again, re-encoded now for this printer and profile. `encode(copy)` builds the bytes.
   */
  const printOnce = async (
    kind: string,
    ref: string,
    encode: (copy: boolean) => Uint8Array,
  ): Promise<Result<PrintJob>> => {
    const last = service.latest(kind, ref);
    const again = last?.state === 'failed' || last?.state === 'unverified';
    const bytes = encodeChecked(() => encode(last?.state === 'printed'));
    if (!bytes.ok) return bytes;
    if (again) return service.reprint(last.id, { url, bytes: bytes.value, profile });
    return service.print(kind, ref, url, bytes.value, profile);
  };

  const printBillView = async (b: BillLike & { status?: string }): Promise<Result<PrintJob>> => {
    // A bill's QR must be payable when it leaves the printer.
    if (b.status === 'paid') return fail('BILL_PAID', b.billNo);
    if (b.status === 'voided') return fail('BILL_VOIDED', b.billNo);
    if (b.status === 'expired' || b.expiresAt <= unixSeconds(kiosk.clock))
      return fail('BILL_EXPIRED', b.billNo);
    return printOnce('bill', b.billNo, (copy) => encodeBill(billDocument(b, copy), profile));
  };
  const printReceiptView = async (
    b: Pick<BillView, 'billNo' | 'decisionNo' | 'deviceId' | 'payment'>,
    asCopy = false,
  ): Promise<Result<PrintJob>> => {
    const d = receiptDocument(b);
    if (!d.ok) return d;
    return printOnce('receipt', b.billNo, (copy) =>
      encodeReceipt({ ...d.value, ...(copy || asCopy ? { copy: true } : {}) }, profile),
    );
  };
  const printTest = (): Promise<Result<PrintJob>> =>
    service.print(
      'test',
      profile.id,
      url,
      encodeTestPage({ profile, url, at: shanghaiDateTime(unixSeconds(kiosk.clock)) }),
      profile,
    );
  const outcome = (j: PrintJob): Result<PrintOutcome> =>
    j.state === 'printed' || j.state === 'unverified'
      ? ok({ jobId: j.id, state: j.state, verified: j.state === 'printed' })
      : fail('PRINT_FAILED', `job ${j.id} is ${j.state}`);

  return ok({
    service,
    url,
    profile,
    status: async () => {
      const s = await service.status(url, profile.status);
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
    confirmPaper: (jobId, cameOut) => service.confirm(jobId, cameOut),
    port(): PrinterPort {
      return {
        describe: () => url,
        status: async (): Promise<PrinterState> => {
          // A printer that never answers is not asked: its state is unknown, not a fault.
          if (profile.status === 'none') return 'none';
          const s = await service.status(url, profile.status);
          return s.ok ? s.value.state : 'unreachable';
        },
        print: async (doc: PrintDoc): Promise<Result<PrintOutcome>> => {
          let r: Result<PrintJob>;
          if (doc.kind === 'bill') r = await printBillView(doc.bill);
          else if (doc.kind === 'receipt') {
            const b = kiosk.bills.get(doc.bill.billNo);
            r = b.ok ? await printReceiptView(b.value, doc.copy === true) : b;
          } else if (doc.kind === 'test') r = await printTest();
          else if (doc.kind === 'shift') {
            const report = doc.report;
            r = await printOnce('shift', report.shiftId.slice(0, 64), () =>
              renderDocument(shiftReportBlocks(report), profile),
            );
          } else return fail('PRINT_FAILED', 'no printed layout for this document');
          return r.ok ? outcome(r.value) : r;
        },
        confirm: async (jobId: string, cameOut: boolean): Promise<Result<PrintOutcome>> => {
          const r = service.confirm(jobId, cameOut);
          if (!r.ok) return r;
          if (cameOut) return outcome(r.value);
          // The paper did not come out: print it again now, on the printer and profile named now.
          const j = r.value;
          if (j.kind === 'bill') {
            const b = kiosk.bills.get(j.ref);
            const p = b.ok ? await printBillView(b.value) : b;
            return p.ok ? outcome(p.value) : p;
          }
          if (j.kind === 'receipt') {
            const b = kiosk.bills.get(j.ref);
            const p = b.ok ? await printReceiptView(b.value) : b;
            return p.ok ? outcome(p.value) : p;
          }
          const p = await service.reprint(j.id);
          return p.ok ? outcome(p.value) : p;
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
  const { mechanismFor, startVirtualPrinter } = await import('../../printer/virtual/server.ts');
  const prof = resolveProfile(o.profile);
  const dots = prof.ok ? prof.value.dots : 576;
  const outDir = path.join(o.dataDir, 'printed');
  // In time as the profile's printer (buffer, line speed, status), the model the tests' fakes follow.
  const start = (port: number) =>
    startVirtualPrinter({
      port,
      outDir,
      dots,
      controlPort: o.controlPort ?? 0,
      saveBytes: true,
      ...(prof.ok ? { mechanism: mechanismFor(prof.value) } : {}),
    });
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
