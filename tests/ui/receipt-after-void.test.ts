// A citizen who paid on the phone for a bill voided here meanwhile (reissued) still gets the receipt:
// the hub's payment makes it due (migration 016) and the citizen's receipt request reports it printed.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApi } from '../../main/api.ts';
import { createReceiptsService, type ReceiptsService } from '../../main/payments/receipts.ts';
import { createShiftService } from '../../main/shift/shift.ts';
import { createStaffService } from '../../main/staff/staff.ts';
import { kioskPort, MemoryPrinter } from '../../main/ui/backend.ts';
import type { Result } from '../../protocol/result.ts';
import { fixture, type Fixture } from '../kiosk/helpers.ts';

const DN = '4403052026005943';

describe('receipt after a void here', () => {
  let f: Fixture;
  let printer: MemoryPrinter;
  let receipts: ReceiptsService;
  let api: ReturnType<typeof createApi>;
  const make = () => {
    const k = f.kiosk;
    receipts = createReceiptsService(k.db, k.clock, async (billNo, copy) => {
      const b = k.bills.get(billNo);
      if (!b.ok) return b;
      return printer.print({ kind: 'receipt', bill: b.value, ...(copy ? { copy } : {}) });
    });
    const port = kioskPort(k);
    api = createApi({
      clock: k.clock,
      kiosk: port,
      printer,
      receipts,
      sync: { status: () => ({ online: false, queued: 0 }) },
      staff: createStaffService(k.db, k.clock, { N: 1024, r: 8, p: 1 }),
      shifts: createShiftService({ db: k.db, clock: k.clock, deviceId: 'x', source: port }),
    });
  };
  beforeEach(() => {
    f = fixture();
    printer = new MemoryPrinter();
    make();
  });
  afterEach(() => f.cleanup());
  const value = <T>(r: Result<T>): T => {
    if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
    return r.value;
  };
  const receiptsPrinted = () => printer.jobs.filter((j) => j.kind === 'receipt');

  it('a paid bill that was reissued (voided here) while the citizen paid on the phone prints its receipt when the hub reports the payment', async () => {
    const a = value(f.kiosk.bills.issue(DN));
    // The citizen (or the next one) asks for the same fine again: bill A is voided 'reissued'.
    f.clock.advance(60_000);
    value(f.kiosk.bills.issue(DN));
    // The money for bill A arrives through the hub: it is accepted (heldByHub), the bill becomes paid...
    value(
      f.kiosk.payments.recordFromHub({
        billNo: a.billNo,
        amountFen: a.amountFen,
        channel: 'alipay',
        txnId: 'AP1',
        paidAt: a.issuedAt + 90,
        keyId: f.hub.keyId,
      }),
    );
    expect(
      f.kiosk.bills.get(a.billNo).ok &&
        (f.kiosk.bills.get(a.billNo) as { value: { status: string } }).value.status,
    ).toBe('paid');
    await receipts.drain();
    expect(receipts.get(a.billNo)?.state).toBe('printed');
    expect(receiptsPrinted()).toHaveLength(1);
    // The citizen's request answers from that print, never a second original.
    expect(value(await api.handlers.printReceipt({ billNo: a.billNo }))).toMatchObject({ printed: true });
    expect(receiptsPrinted()).toHaveLength(1);
  });
});
