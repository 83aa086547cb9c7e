// Wires the kiosk's services to the UI API and starts the loopback server: adapters from the kiosk core,
// the print service and the sync engine to the small ports main/api.ts is written against.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ok, type Result } from '../../protocol/result.ts';
import { unixSeconds } from '../../protocol/time.ts';
import { verifyConfirmationToken } from '../../protocol/tokens.ts';
import { createReceiptsService, type ReceiptsService } from '../payments/receipts.ts';
import {
  createApi,
  printerFailure,
  type ApiConfig,
  type KioskPort,
  type PrintDoc,
  type PrinterPort,
  type PrinterState,
  type SyncPort,
} from '../api.ts';
import type { Kiosk } from '../kiosk.ts';
import { startServer, type UiServer } from '../server.ts';
import { createShiftService, type ShiftService } from '../shift/shift.ts';
import { createStaffService, DEFAULT_COST, type PinCost, type StaffService } from '../staff/staff.ts';

export const RENDERER_DIST = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'renderer',
  'dist',
);

export function kioskPort(kiosk: Kiosk): KioskPort {
  const paymentOf = kiosk.db.prepare<[string], { bill_no: string }>(
    'SELECT bill_no FROM payments WHERE txn_id = ?',
  );
  const voidReason = kiosk.db.prepare<[string, string, string, number]>(
    'INSERT INTO void_reasons (bill_no, reason, staff_id, voided_at) VALUES (?, ?, ?, ?) ON CONFLICT (bill_no) DO NOTHING',
  );
  return {
    deviceId: () => kiosk.identity.deviceId,
    findByDecisionNo: (no) => kiosk.fines.findByDecisionNo(no),
    findByPlate: (plate, vin6) => kiosk.fines.findByPlate(plate, vin6),
    issueBill: (no) => kiosk.bills.issue(no),
    getBill: (no) => {
      // A bill past its 4 hours reads as expired even before the periodic sweep marks it.
      kiosk.bills.expireDue();
      return kiosk.bills.get(no);
    },
    voidBill: (no, reason, staffId) =>
      // The void and its reason in one transaction: the shift report lists both or neither.
      kiosk.db.transaction(() => {
        const r = kiosk.bills.void(no, 'staff');
        if (r.ok && reason) {
          voidReason.run(no, reason, staffId ?? '', unixSeconds(kiosk.clock));
        }
        return r;
      })(),
    confirm: (token) => {
      const r = kiosk.payments.confirm(token);
      return r.ok ? ok({ billNo: r.value.billNo }) : r;
    },
    paidBy: (token) => {
      const v = verifyConfirmationToken(token.trim(), (id) => kiosk.trust.hubKey(id));
      if (!v.ok) return undefined;
      const row = paymentOf.get(v.value.txnId);
      return row && row.bill_no === v.value.billNo ? row.bill_no : undefined;
    },
    decisionPattern: () => kiosk.settings.decisionPattern().source,
    sameVehicleUnpaid: (dn) => {
      const f = kiosk.fines.get(dn);
      if (!f) return [];
      const r = kiosk.fines.findByPlate(f.plate, f.vehicleIdLast6);
      return r.ok ? r.value.filter((x) => x.status === 'unpaid' && x.decisionNo !== dn) : [];
    },
    billsSince: (t) => kiosk.bills.listSince(t),
    paymentsSince: (t) => kiosk.payments.listSince(t),
    enrollment: () => {
      const hubBase = kiosk.settings.hubBase();
      return { enrolled: kiosk.trust.list().length > 0, hubBase };
    },
  };
}

/** Sync status when no sync engine runs: offline, with the outbox events not yet pushed. */
export function localSync(kiosk: Kiosk): SyncPort {
  const q = kiosk.db.prepare('SELECT count(*) AS n FROM outbox WHERE pushed = 0');
  return { status: () => ({ online: false, queued: (q.get() as { n: number }).n }) };
}

/** A printer kept in memory: for tests, and for a kiosk with no printer set up. */
export class MemoryPrinter implements PrinterPort {
  state: PrinterState = 'ok';
  readonly jobs: PrintDoc[] = [];
  async status(): Promise<PrinterState> {
    return this.state;
  }
  async print(doc: PrintDoc): Promise<Result<{ jobId: string }>> {
    const refused = printerFailure(this.state);
    if (refused) return refused;
    this.jobs.push(doc);
    return ok({ jobId: `mem-${this.jobs.length}` });
  }
  describe(): string {
    return 'memory://';
  }
}

/**
 * The kiosk's receipts (main/payments/receipts.ts) on its print port: the receipt follows the payment,
 * and one that failed for want of paper (or a closed cover, a printer back online) prints by itself once
 * the printer says it is ready; a printer without status is tried again as it is.
 */
export function kioskReceipts(kiosk: Kiosk, printer: PrinterPort): ReceiptsService {
  return createReceiptsService(
    kiosk.db,
    kiosk.clock,
    async (billNo, copy) => {
      const b = kiosk.bills.get(billNo);
      if (!b.ok) return b;
      return printer.print({ kind: 'receipt', bill: b.value, ...(copy ? { copy } : {}) });
    },
    {
      printerReady: async () => {
        const st = await printer.status();
        return st === 'none' || printerFailure(st) === undefined;
      },
    },
  );
}

export interface UiOptions {
  kiosk: Kiosk;
  printer: PrinterPort;
  sync?: SyncPort;
  config?: Partial<ApiConfig>;
  staticDir?: string;
  port?: number;
  /** The session token (default: a fresh one per boot). */
  token?: string;
  pinCost?: PinCost;
  onError?(method: string, err: unknown): void;
  /** Another area's API methods (officer mode), tried before the kiosk's: undefined means not mine. */
  extraCall?(method: string, input: unknown): Promise<Result<unknown>> | undefined;
}

export interface Ui {
  server: UiServer;
  /** Prints each receipt once when its payment becomes known; call drain() when a payment may have arrived. */
  receipts: ReceiptsService;
  staff: StaffService;
  shifts: ShiftService;
  call: ReturnType<typeof createApi>['call'];
  close(): Promise<void>;
}

export async function startUi(opts: UiOptions): Promise<Ui> {
  const { kiosk } = opts;
  const staff = createStaffService(kiosk.db, kiosk.clock, opts.pinCost ?? DEFAULT_COST);
  const port = kioskPort(kiosk);
  const shifts = createShiftService({
    db: kiosk.db,
    clock: kiosk.clock,
    deviceId: kiosk.identity.deviceId,
    source: { billsSince: port.billsSince, paymentsSince: port.paymentsSince },
    appendEvent: (_db, type, payload, at) => kiosk.outbox.append(type, payload, at),
  });
  // The receipt follows the payment: printed by the backend, whichever screen shows.
  const receipts = kioskReceipts(kiosk, opts.printer);
  const api = createApi({
    clock: kiosk.clock,
    receipts,
    kiosk: port,
    printer: opts.printer,
    sync: opts.sync ?? localSync(kiosk),
    staff,
    shifts,
    staffEntry: () => kiosk.settings.staffEntry(),
    ...(opts.config ? { config: opts.config } : {}),
  });
  const server = await startServer({
    call: (method, input) => opts.extraCall?.(method, input) ?? api.call(method, input),
    staticDir: opts.staticDir ?? RENDERER_DIST,
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    ...(opts.token !== undefined ? { token: opts.token } : {}),
    ...(opts.onError ? { onError: opts.onError } : {}),
  });
  return { server, staff, shifts, receipts, call: api.call, close: () => server.close() };
}
