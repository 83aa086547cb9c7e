// The typed API the renderer calls over the loopback server (POST /api/<method>). Each method takes one
// object, checked here with zod, and answers a Result. The renderer imports only `type Api`.
//
// The API sits on small ports (kiosk, printer, sync, staff) so it is tested without hardware and wired to
// the real services in main/ui/backend.ts.
import type { BillStatus, BillView } from './bills/bills.ts';
import QRCode from 'qrcode';
import { z } from 'zod';
import type { Fine } from '../protocol/fines.ts';
import { maskPlate } from '../protocol/fines.ts';
import { fail, ok, type Result } from '../protocol/result.ts';
import type { ErrorCode } from '../protocol/errors.ts';
import { DEFAULT_DECISION_PATTERN } from '../protocol/ids.ts';
import { unixSeconds, type Clock } from '../protocol/time.ts';
import { parseConfirmationToken, tokenFromBillUrl } from '../protocol/tokens.ts';
import { normalizeDecisionNo } from '../protocol/decision.ts';
import { normalizePlate, normalizeVin6 } from '../protocol/plate.ts';
import type { CopyAsker, ReceiptInfo, ReceiptsService } from './payments/receipts.ts';
import type { StaffService } from './staff/staff.ts';
import type { ShiftReport, ShiftService } from './shift/shift.ts';

// ---------------------------------------------------------------------------------------------------------
// Ports

export interface FineViewLike extends Fine {
  lateFeeFenToday: number;
  totalFenToday: number;
}

export type { BillStatus };
/** A bill as the backend sees it (main/bills); the screen gets a BillDto made from it. */
export type BillViewLike = BillView;

export interface KioskPort {
  deviceId(): string;
  findByDecisionNo(decisionNo: string): Result<FineViewLike>;
  findByPlate(plate: string, vin6: string): Result<FineViewLike[]>;
  issueBill(decisionNo: string): Result<BillViewLike>;
  getBill(billNo: string): Result<BillViewLike>;
  /** Voids a bill at the counter; the reason is kept for the shift report. */
  voidBill(billNo: string, reason?: string, staffId?: string): Result<BillViewLike>;
  confirm(token: string): Result<{ billNo: string }>;
  /**
   * The bill a confirmation already recorded here paid, when `token` verifies and its transaction is the
   * one recorded for that bill: scanning it again asks for a copy of the receipt, not a second payment.
   */
  paidBy?(token: string): string | undefined;
  /** Unpaid fines of the same vehicle (plate and vehicle id) as this fine, itself excluded. */
  sameVehicleUnpaid?(decisionNo: string): FineViewLike[];
  /** The regional decision number pattern (its source), for the screen's checks before a lookup. */
  decisionPattern?(): string;
  billsSince(unix: number): BillViewLike[];
  paymentsSince(unix: number): { billNo: string; channel: string; amountFen: number; paidAt: number }[];
  enrollment(): { enrolled: boolean; hubBase?: string };
}

export type PrinterState =
  | 'ok'
  | 'near-end'
  | 'offline'
  | 'cover-open'
  | 'paper-end'
  | 'cutter-error'
  | 'unreachable'
  | 'timeout'
  | 'none';

export type PrintDoc =
  | { kind: 'bill'; bill: BillViewLike }
  | { kind: 'receipt'; bill: BillViewLike; copy?: boolean }
  | { kind: 'test' }
  | { kind: 'shift'; report: ShiftReport };

/**
 * A print call's answer. `verified` false ("sent, not verified"): the printer cannot prove the paper came
 * out; the screen asks the person to confirm (printConfirm), with reprint one tap away.
 */
export interface PrintResult {
  jobId: string;
  verified?: boolean;
}

export interface PrinterPort {
  status(): Promise<PrinterState>;
  print(doc: PrintDoc): Promise<Result<PrintResult>>;
  /** A person's answer for an unverified job: came out (printed) or not (printed again now). */
  confirm?(jobId: string, cameOut: boolean): Promise<Result<PrintResult>>;
  /** Where the printer is, for the staff console (e.g. tcp://127.0.0.1:9100). */
  describe(): string;
}

export interface SyncStatusView {
  online: boolean;
  queued: number;
  lastSuccessAt?: number;
  lastError?: string;
  clockOffsetMs?: number;
  rejected?: number;
  /**
   * What the hub refused of this kiosk's events, and pulled changes this kiosk could not apply, newest
   * first: the screen shows each code's catalogue message in the chosen language (issue 10).
   */
  refused?: RefusedItemView[];
}

export interface RefusedItemView {
  /** 'event': one of our events the hub refused; 'change': a pulled change not applied here. */
  kind: 'event' | 'change';
  /** The event type and its seq, or the change kind and its cursor. */
  ref: string;
  code: string;
  /** Unix seconds. */
  at: number;
}

export interface SyncPort {
  status(): SyncStatusView;
  now?(): void;
  /** Asks the hub for fines this kiosk has not cached (and caches them); absent when not enrolled. */
  lookup?(q: { decisionNo: string } | { plate: string; vin6: string }): Promise<Result<unknown[]>>;
}

export interface ApiConfig {
  /** Seconds of no touch before the citizen screen returns to start. */
  idleSeconds: number;
  /** Seconds of warning shown before that. */
  idleWarnSeconds: number;
  /** How often the screen asks whether its bill is paid (ms). */
  pollMs: number;
  /** Largest gap between two keys of one barcode scan (ms). */
  scanGapMs: number;
}

/** The backend's receipts (main/payments/receipts.ts): printed when the payment becomes known. */
export type ReceiptsPort = Pick<ReceiptsService, 'drain' | 'get' | 'reprint' | 'failed'> &
  Partial<Pick<ReceiptsService, 'settle'>>;

export interface ApiDeps {
  clock: Clock;
  /** Absent in small tests: receipts are then printed by the API call that learns of the payment. */
  receipts?: ReceiptsPort;
  kiosk: KioskPort;
  printer: PrinterPort;
  sync: SyncPort;
  staff: StaffService;
  shifts: ShiftService;
  /**
   * Where staff PINs typed on this screen count (the kiosk's counterConsole setting); 'public' when
   * absent. Decided by the kiosk, never by the request.
   */
  staffEntry?: () => 'public' | 'counter';
  config?: Partial<ApiConfig>;
}

// ---------------------------------------------------------------------------------------------------------
// What the screen sees: no full plate, no vehicle id.

export interface FineDto {
  decisionNo: string;
  plateMasked: string;
  violation: string;
  violationEn?: string;
  place: string;
  occurredAt: number;
  fineFen: number;
  points: number;
  lateFeeFen: number;
  totalFen: number;
  status: Fine['status'];
}

export interface BillDto {
  billNo: string;
  decisionNo: string;
  fineFen: number;
  lateFeeFen: number;
  amountFen: number;
  issuedAt: number;
  expiresAt: number;
  url: string;
  qrDataUrl: string;
  status: BillStatus;
  fine: FineDto;
  payment?: { channel: string; txnId: string; paidAt: number; amountFen: number };
  /** The receipt the backend prints for this bill's payment (absent while unpaid). */
  receipt?: { state: ReceiptInfo['state']; errorCode?: string; jobId?: string };
  /** True when a confirmation scanned again printed a copy of the receipt. */
  reprinted?: boolean;
  /**
   * Why a confirmation scanned again printed no copy: RECEIPT_COPY_LIMIT (copies already printed; staff
   * can print more) or the printer's failure code.
   */
  copyError?: string;
}

/** What a scanned code turned out to be: a fine to pay, or a payment confirmation (recorded or reprinted). */
export type ScanDto = { kind: 'fine'; fine: FineDto } | { kind: 'paid'; bill: BillDto };

export interface StatusDto {
  online: boolean;
  printer: PrinterState;
  queued: number;
  deviceId: string;
  now: number;
  config: ApiConfig;
  /** Source of the regional decision number pattern. */
  decisionPattern: string;
}

function fineDto(f: Fine & Partial<Pick<FineViewLike, 'lateFeeFenToday' | 'totalFenToday'>>): FineDto {
  const dto: FineDto = {
    decisionNo: f.decisionNo,
    plateMasked: maskPlate(f.plate),
    violation: f.description,
    place: f.place,
    occurredAt: Math.floor(Date.parse(f.occurredAt) / 1000),
    fineFen: f.fineFen,
    points: f.points,
    lateFeeFen: f.lateFeeFenToday ?? 0,
    totalFen: f.totalFenToday ?? f.fineFen,
    status: f.status,
  };
  if (f.descriptionEn) dto.violationEn = f.descriptionEn;
  return dto;
}

async function billDto(b: BillViewLike): Promise<BillDto> {
  // SVG: a tenth of the time of a PNG, and as sharp at any screen size.
  const svg = await QRCode.toString(b.url, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  const qrDataUrl = `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`;
  const dto: BillDto = {
    billNo: b.billNo,
    decisionNo: b.decisionNo,
    fineFen: b.fineFen,
    lateFeeFen: b.lateFeeFen,
    amountFen: b.amountFen,
    issuedAt: b.issuedAt,
    expiresAt: b.expiresAt,
    url: b.url,
    qrDataUrl,
    status: b.status,
    fine: { ...fineDto(b.fine), lateFeeFen: b.lateFeeFen, totalFen: b.amountFen },
  };
  if (b.payment) dto.payment = b.payment;
  return dto;
}

/** The failure a printer state stands for (undefined when it can print). */
export function printerFailure(state: PrinterState): Result<never> | undefined {
  switch (state) {
    case 'ok':
    case 'near-end':
      return undefined;
    case 'offline':
      return fail('PRINTER_OFFLINE');
    case 'cover-open':
      return fail('PRINTER_COVER_OPEN');
    case 'paper-end':
      return fail('PRINTER_PAPER_END');
    case 'cutter-error':
      return fail('PRINTER_CUTTER_ERROR');
    case 'timeout':
      return fail('PRINTER_TIMEOUT');
    default:
      return fail('PRINTER_UNREACHABLE');
  }
}

// ---------------------------------------------------------------------------------------------------------
// Input schemas

const decisionNo = z.string().regex(/^[0-9A-Za-z]{1,32}$/);
/** A decision number as typed: folded (protocol/decision.ts) before it is checked. */
const typedDecisionNo = z.string().max(64).transform(normalizeDecisionNo).pipe(decisionNo);
const billNo = z.string().regex(/^[A-Z0-9-]{1,32}$/);
const session = z.string().regex(/^[A-Za-z0-9_-]{16,64}$/);
const empty = z.object({}).strict();
const schemas = {
  status: empty,
  findByDecisionNo: z.object({ decisionNo: typedDecisionNo }).strict(),
  findByScan: z.object({ code: z.string().min(1).max(512) }).strict(),
  /** billNo: the bill on screen, if any (a confirmation of another bill that fails says so). */
  scan: z.object({ code: z.string().min(1).max(512), billNo: billNo.optional() }).strict(),
  findByPlate: z
    .object({
      plate: z.string().max(32).transform(normalizePlate).pipe(z.string().min(2).max(16)),
      vin6: z
        .string()
        .max(32)
        .transform(normalizeVin6)
        .pipe(z.string().regex(/^[0-9A-Z]{6}$/)),
    })
    .strict(),
  issueBill: z.object({ decisionNo }).strict(),
  printBill: z.object({ billNo }).strict(),
  billStatus: z.object({ billNo }).strict(),
  confirmPayment: z.object({ token: z.string().min(1).max(512), billNo: billNo.optional() }).strict(),
  printReceipt: z.object({ billNo }).strict(),
  otherUnpaid: z.object({ billNo }).strict(),
  // The citizen's or staff's answer to "did the paper come out?" for a job printed unverified.
  printConfirm: z.object({ jobId: z.string().min(1).max(64), cameOut: z.boolean() }).strict(),
  // No entry point here: the kiosk decides where a PIN was typed (its counterConsole setting), never the
  // caller, so the citizen screen cannot claim the counter's separate lockout (main/staff/pinguard.ts).
  staffLogin: z.object({ pin: z.string().regex(/^[0-9]{4,12}$/) }).strict(),
  staffLogout: z.object({ session }).strict(),
  staffToday: z.object({ session }).strict(),
  staffIssue: z.object({ session, decisionNo }).strict(),
  staffReprint: z.object({ session, billNo }).strict(),
  staffVoid: z
    .object({
      session,
      billNo,
      reason: z
        .string()
        .trim()
        .min(1)
        .max(200)
        .regex(/^[^\p{Cc}]+$/u),
    })
    .strict(),
  staffReprintReceipt: z.object({ session, billNo }).strict(),
  staffConfirm: z.object({ session, token: z.string().min(1).max(512) }).strict(),
  staffShiftReport: z.object({ session }).strict(),
  staffPrinter: z.object({ session }).strict(),
  staffTestPage: z.object({ session }).strict(),
  staffSync: z.object({ session }).strict(),
  staffDevice: z.object({ session }).strict(),
} as const;

export type ApiMethod = keyof typeof schemas;
export const apiMethods = Object.keys(schemas) as ApiMethod[];

export interface TodayDto {
  bills: {
    billNo: string;
    decisionNo: string;
    amountFen: number;
    issuedAt: number;
    status: BillStatus;
    receipt?: ReceiptInfo['state'];
  }[];
  payments: { billNo: string; channel: string; amountFen: number; paidAt: number }[];
}

export const DEFAULT_CONFIG: ApiConfig = {
  idleSeconds: 60,
  idleWarnSeconds: 15,
  pollMs: 1000,
  scanGapMs: 30,
};

/** Builds the API's handlers. Inputs arrive unchecked (`unknown`) and are parsed before use. */
export function createApi(deps: ApiDeps) {
  const config: ApiConfig = { ...DEFAULT_CONFIG, ...deps.config };
  const { kiosk, printer, sync, staff, shifts, clock, receipts } = deps;

  async function dto(b: BillViewLike): Promise<BillDto> {
    const d = await billDto(b);
    const r = receipts?.get(b.billNo);
    if (r)
      d.receipt = {
        state: r.state,
        ...(r.errorCode ? { errorCode: r.errorCode } : {}),
        ...(r.jobId ? { jobId: r.jobId } : {}),
      };
    return d;
  }

  // One connection per job: the print itself checks the printer before sending (printer/driver.ts).
  type Printed = { printed: true; jobId?: string; verified?: boolean };
  async function printDoc(doc: PrintDoc): Promise<Result<Printed>> {
    const r = await printer.print(doc);
    return r.ok ? ok({ printed: true, jobId: r.value.jobId, verified: r.value.verified ?? true }) : r;
  }

  /** A fine by decision number: from the kiosk's cache, else (online) from the hub, which caches it. */
  async function findOne(no: string): Promise<Result<FineViewLike>> {
    const f = kiosk.findByDecisionNo(no);
    if (f.ok || f.error.code !== 'FINE_NOT_FOUND' || !sync.lookup) return f;
    const l = await sync.lookup({ decisionNo: no });
    return l.ok && l.value.length > 0 ? kiosk.findByDecisionNo(no) : f;
  }

  async function withStaff<T>(s: string, fn: (staffId: string) => Promise<Result<T>>): Promise<Result<T>> {
    const who = staff.checkSession(s);
    if (!who.ok) return who;
    return fn(who.value.staffId);
  }

  async function issueAndDto(dn: string): Promise<Result<BillDto>> {
    const b = kiosk.issueBill(dn);
    if (!b.ok) return b;
    return ok(await dto(b.value));
  }

  async function printBill(no: string): Promise<Result<Printed>> {
    const b = kiosk.getBill(no);
    if (!b.ok) return b;
    if (b.value.status === 'paid') return fail('BILL_PAID');
    if (b.value.status === 'voided') return fail('BILL_VOIDED');
    if (b.value.status === 'expired' || b.value.expiresAt <= unixSeconds(clock)) return fail('BILL_EXPIRED');
    return printDoc({ kind: 'bill', bill: b.value });
  }

  /**
   * Records a scanned or typed confirmation and prints its receipt (the receipts service). The same
   * confirmation again asks for a copy of the receipt, on behalf of `asker` (a citizen's scan is capped).
   */
  async function confirmPayment(
    raw: string,
    forBill?: string,
    asker: CopyAsker = { by: 'scan' },
  ): Promise<Result<BillDto>> {
    const token = raw.trim();
    const parsed = parseConfirmationToken(token);
    if (!parsed.ok) return parsed;
    // A confirmation of another bill is still a payment the kiosk must record; it is refused only if it
    // is not a valid one. WRONG_BILL is kept for a confirmation that fails for the bill on screen.
    const r = kiosk.confirm(token);
    if (!r.ok) {
      // The same confirmation again: its bill is paid here already, the citizen wants the receipt.
      const paidBill =
        r.error.code === 'ALREADY_USED' || r.error.code === 'BILL_PAID' ? kiosk.paidBy?.(token) : undefined;
      if (!paidBill) {
        if (forBill && parsed.value.claims.billNo !== forBill) return fail('WRONG_BILL');
        return r;
      }
      const again = receipts ? await receipts.reprint(paidBill, asker) : await printDocFor(paidBill, true);
      const b = kiosk.getBill(paidBill);
      if (!b.ok) return b;
      const d = await dto(b.value);
      d.reprinted = again.ok;
      if (!again.ok) d.copyError = again.error.code;
      return ok(d);
    }
    if (receipts) await receipts.drain();
    const b = kiosk.getBill(r.value.billNo);
    return b.ok ? ok(await dto(b.value)) : b;
  }

  /** Without a receipts service (small tests): print the receipt here. */
  async function printDocFor(no: string, copy: boolean): Promise<Result<Printed>> {
    const b = kiosk.getBill(no);
    if (!b.ok) return b;
    return printDoc({ kind: 'receipt', bill: b.value, ...(copy ? { copy } : {}) });
  }

  /**
   * The receipt of a paid bill. With the receipts service the backend has printed it (or tried) when the
   * payment became known: this only reports how that went, it never prints a second original.
   */
  async function printReceipt(no: string): Promise<Result<Printed>> {
    const b = kiosk.getBill(no);
    if (!b.ok) return b;
    if (b.value.status !== 'paid') return fail('NOT_PAID_YET');
    if (!receipts) return printDoc({ kind: 'receipt', bill: b.value });
    await receipts.drain();
    const r = receipts.get(no);
    if (r?.state === 'printed') return ok({ printed: true });
    if (r?.state === 'unverified')
      return ok({ printed: true, ...(r.jobId ? { jobId: r.jobId } : {}), verified: false });
    return fail((r?.errorCode as ErrorCode | undefined) ?? 'PRINT_FAILED');
  }

  async function scanned(code: string, onScreen?: string): Promise<Result<ScanDto>> {
    const c = code.trim();
    if (c.startsWith('c1.')) {
      const b = await confirmPayment(c, onScreen);
      return b.ok ? ok({ kind: 'paid', bill: b.value }) : b;
    }
    const f = await findScanned(c);
    return f.ok ? ok({ kind: 'fine', fine: f.value }) : f;
  }

  /** A notice carries the decision number, alone or at the end of a URL; a bill's QR names it too. */
  async function findScanned(code: string): Promise<Result<FineDto>> {
    // NFKC: a scanner in a Chinese IME's full-width mode types ４４０３… for 4403….
    const c = code.normalize('NFKC').trim();
    const billToken = tokenFromBillUrl(c);
    const raw = billToken ? billToken.split('.')[2] : /([0-9A-Za-z]{1,32})\s*$/.exec(c)?.[1];
    const dn = raw === undefined ? undefined : normalizeDecisionNo(raw);
    if (!dn || !decisionNo.safeParse(dn).success) return fail('SCAN_UNKNOWN');
    const f = await findOne(dn);
    return f.ok ? ok(fineDto(f.value)) : f;
  }

  function today(): TodayDto {
    // The Shanghai calendar day: start at 00:00 +08:00.
    const now = unixSeconds(clock);
    const start = now - ((now + 8 * 3600) % 86_400);
    const bills = kiosk.billsSince(start);
    return {
      bills: bills.map((b) => ({
        billNo: b.billNo,
        decisionNo: b.decisionNo,
        amountFen: b.amountFen,
        issuedAt: b.issuedAt,
        status: b.status,
        ...(receipts?.get(b.billNo) ? { receipt: receipts.get(b.billNo)!.state } : {}),
      })),
      payments: kiosk.paymentsSince(start).map((p) => ({
        billNo: p.billNo,
        channel: p.channel,
        amountFen: p.amountFen,
        paidAt: p.paidAt,
      })),
    };
  }

  const handlers = {
    async status(_: z.infer<typeof schemas.status>): Promise<Result<StatusDto>> {
      const s = sync.status();
      return ok({
        online: s.online,
        printer: await printer.status(),
        queued: s.queued,
        deviceId: kiosk.deviceId(),
        now: unixSeconds(clock),
        config,
        decisionPattern: kiosk.decisionPattern?.() ?? DEFAULT_DECISION_PATTERN,
      });
    },
    async findByDecisionNo(i: z.infer<typeof schemas.findByDecisionNo>): Promise<Result<FineDto>> {
      const f = await findOne(i.decisionNo);
      return f.ok ? ok(fineDto(f.value)) : f;
    },
    async findByScan(i: z.infer<typeof schemas.findByScan>): Promise<Result<FineDto>> {
      return findScanned(i.code.trim());
    },
    /** Any scanned code on any citizen screen: a notice or bill (the fine) or a payment confirmation. */
    async scan(i: z.infer<typeof schemas.scan>): Promise<Result<ScanDto>> {
      return scanned(i.code, i.billNo);
    },
    async findByPlate(i: z.infer<typeof schemas.findByPlate>): Promise<Result<FineDto[]>> {
      const { plate, vin6 } = i;
      let r = kiosk.findByPlate(plate, vin6);
      // Not cached here: an online kiosk asks the hub, which caches what it finds.
      if (!r.ok && r.error.code === 'FINE_NOT_FOUND' && sync.lookup) {
        const l = await sync.lookup({ plate, vin6 });
        if (l.ok && l.value.length > 0) r = kiosk.findByPlate(plate, vin6);
      }
      if (!r.ok) return r;
      if (r.value.length === 0) return fail('FINE_NOT_FOUND');
      return ok(r.value.map(fineDto));
    },
    async issueBill(i: z.infer<typeof schemas.issueBill>): Promise<Result<BillDto>> {
      return issueAndDto(i.decisionNo);
    },
    async printBill(i: z.infer<typeof schemas.printBill>): Promise<Result<Printed>> {
      return printBill(i.billNo);
    },
    async billStatus(i: z.infer<typeof schemas.billStatus>): Promise<Result<BillDto>> {
      const b = kiosk.getBill(i.billNo);
      return b.ok ? ok(await dto(b.value)) : b;
    },
    async confirmPayment(i: z.infer<typeof schemas.confirmPayment>): Promise<Result<BillDto>> {
      return confirmPayment(i.token, i.billNo);
    },
    async printReceipt(i: z.infer<typeof schemas.printReceipt>): Promise<Result<Printed>> {
      return printReceipt(i.billNo);
    },
    /**
     * After paying: the same vehicle's other unpaid fines, to pay in turn. Only for a paid bill, so the
     * list is shown to whoever just paid a fine of that vehicle.
     */
    async otherUnpaid(i: z.infer<typeof schemas.otherUnpaid>): Promise<Result<FineDto[]>> {
      const b = kiosk.getBill(i.billNo);
      if (!b.ok) return b;
      if (b.value.status !== 'paid') return fail('NOT_PAID_YET');
      return ok((kiosk.sameVehicleUnpaid?.(b.value.decisionNo) ?? []).map(fineDto));
    },
    async staffLogin(i: z.infer<typeof schemas.staffLogin>) {
      return staff.login(i.pin, deps.staffEntry?.() ?? 'public');
    },
    async staffLogout(i: z.infer<typeof schemas.staffLogout>): Promise<Result<{ loggedOut: true }>> {
      staff.logout(i.session);
      return ok({ loggedOut: true });
    },
    async staffToday(i: z.infer<typeof schemas.staffToday>): Promise<Result<TodayDto>> {
      return withStaff(i.session, async () => ok(today()));
    },
    async staffIssue(i: z.infer<typeof schemas.staffIssue>) {
      return withStaff(i.session, async () => {
        const b = await issueAndDto(i.decisionNo);
        if (!b.ok) return b;
        const p = await printBill(b.value.billNo);
        return ok({
          bill: b.value,
          printError: p.ok ? undefined : p.error,
          printed: p.ok ? p.value : undefined,
        });
      });
    },
    async staffReprint(i: z.infer<typeof schemas.staffReprint>) {
      return withStaff(i.session, async () => printBill(i.billNo));
    },
    async staffVoid(i: z.infer<typeof schemas.staffVoid>): Promise<Result<BillDto>> {
      return withStaff(i.session, async (who) => {
        const b = kiosk.voidBill(i.billNo, i.reason, who);
        return b.ok ? ok(await dto(b.value)) : b;
      });
    },
    async staffConfirm(i: z.infer<typeof schemas.staffConfirm>) {
      return withStaff(i.session, async (staffId) => {
        const b = await confirmPayment(i.token, undefined, { by: 'staff', staffId });
        if (!b.ok) return b;
        const p: Result<Printed> = b.value.copyError
          ? fail(b.value.copyError as ErrorCode)
          : b.value.reprinted
            ? ok({ printed: true })
            : await printReceipt(b.value.billNo);
        return ok({
          bill: b.value,
          printError: p.ok ? undefined : p.error,
          printed: p.ok ? p.value : undefined,
        });
      });
    },
    /** Any paid bill's receipt again, marked as a copy. */
    async staffReprintReceipt(
      i: z.infer<typeof schemas.staffReprintReceipt>,
    ): Promise<Result<{ jobId?: string; verified?: boolean }>> {
      return withStaff(i.session, async (staffId) => {
        if (receipts) return receipts.reprint(i.billNo, { by: 'staff', staffId });
        const b = kiosk.getBill(i.billNo);
        if (!b.ok) return b;
        if (b.value.status !== 'paid') return fail('NOT_PAID_YET');
        return printDoc({ kind: 'receipt', bill: b.value, copy: true });
      });
    },
    async staffShiftReport(i: z.infer<typeof schemas.staffShiftReport>) {
      return withStaff(i.session, async (staffId) => {
        const report = shifts.close(staffId);
        if (!report.ok) return report;
        const p = await printDoc({ kind: 'shift', report: report.value });
        return ok({ report: report.value, printError: p.ok ? undefined : p.error });
      });
    },
    async staffPrinter(i: z.infer<typeof schemas.staffPrinter>) {
      return withStaff(i.session, async () =>
        ok({ state: await printer.status(), address: printer.describe() }),
      );
    },
    async printConfirm(i: z.infer<typeof schemas.printConfirm>): Promise<Result<Printed>> {
      if (!printer.confirm) return fail('NOT_FOUND', 'this printer has no unverified jobs');
      const r = await printer.confirm(i.jobId, i.cameOut);
      // A receipt waiting on this answer takes it: printed, unverified again (reprinted), or failed.
      receipts?.settle?.(i.jobId, r);
      return r.ok ? ok({ printed: true, jobId: r.value.jobId, verified: r.value.verified ?? true }) : r;
    },
    async staffTestPage(i: z.infer<typeof schemas.staffTestPage>) {
      return withStaff(i.session, async () => printDoc({ kind: 'test' }));
    },
    async staffSync(i: z.infer<typeof schemas.staffSync>): Promise<Result<SyncStatusView>> {
      return withStaff(i.session, async () => {
        sync.now?.();
        return ok(sync.status());
      });
    },
    async staffDevice(i: z.infer<typeof schemas.staffDevice>) {
      return withStaff(i.session, async () => ok({ deviceId: kiosk.deviceId(), ...kiosk.enrollment() }));
    },
  } satisfies { [K in ApiMethod]: (input: z.infer<(typeof schemas)[K]>) => Promise<Result<unknown>> };

  type Handlers = typeof handlers;

  /** Checks the input with the method's schema, then runs it. */
  async function call(method: string, input: unknown): Promise<Result<unknown>> {
    if (!Object.hasOwn(schemas, method)) {
      return fail('NOT_FOUND', `no API method ${method}`, { unknownMethod: true });
    }
    const m = method as ApiMethod;
    const parsed = schemas[m].safeParse(input);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((x) => `${x.path.join('.') || 'input'}: ${x.message}`);
      return fail('MALFORMED', issues.join('; '), { issues });
    }
    const h = handlers[m] as (i: unknown) => Promise<Result<unknown>>;
    return h(parsed.data);
  }

  return { handlers: handlers as Handlers, call, config };
}

type Handlers = ReturnType<typeof createApi>['handlers'];

/** The API as the renderer sees it: one input object per method, a Result back. */
export type Api = {
  [K in ApiMethod]: (input: z.input<(typeof schemas)[K]>) => ReturnType<Handlers[K]>;
};
