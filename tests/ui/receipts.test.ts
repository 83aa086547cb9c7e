// The receipt follows the payment: printed by the backend once when a payment becomes known (a scan on any
// screen, or the hub on sync), a copy when the same confirmation is scanned again or staff reprint.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApi, type BillDto, type ScanDto } from '../../main/api.ts';
import {
  createReceiptsService,
  MAX_SCAN_COPIES,
  type ReceiptsService,
} from '../../main/payments/receipts.ts';
import { createShiftService } from '../../main/shift/shift.ts';
import { createStaffService } from '../../main/staff/staff.ts';
import { kioskPort, MemoryPrinter } from '../../main/ui/backend.ts';
import type { Result } from '../../protocol/result.ts';
import { fixture, type Fixture } from '../kiosk/helpers.ts';

const DN = '4403052026005943';
const DN2 = '4403052026003040';

describe('receipts printed by the backend', () => {
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

  const issue = () => {
    const b = f.kiosk.bills.issue(DN);
    if (!b.ok) throw new Error(b.error.message);
    return b.value;
  };
  const issue2 = () => {
    const b = f.kiosk.bills.issue(DN2);
    if (!b.ok) throw new Error(b.error.message);
    return b.value;
  };
  const value = <T>(r: Result<T>): T => {
    if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
    return r.value;
  };
  const receiptsPrinted = () => printer.jobs.filter((j) => j.kind === 'receipt');

  it('prints the receipt once when a confirmation is scanned on the start screen', async () => {
    const b = issue();
    const token = f.hub.confirm({ billNo: b.billNo, amountFen: b.amountFen });
    const r = value(await api.handlers.scan({ code: ` ${token}\n` })) as ScanDto;
    expect(r.kind).toBe('paid');
    const bill = (r as { bill: BillDto }).bill;
    expect(bill.status).toBe('paid');
    expect(bill.receipt).toEqual({ state: 'printed' });
    expect(receiptsPrinted()).toHaveLength(1);
    expect(receiptsPrinted()[0]).not.toHaveProperty('copy');
    // More drains (the backend's timer) print nothing more.
    await receipts.drain();
    await receipts.drain();
    expect(receiptsPrinted()).toHaveLength(1);
    // The page asking for "its" receipt never prints a second original.
    value(await api.handlers.printReceipt({ billNo: b.billNo }));
    expect(receiptsPrinted()).toHaveLength(1);
  });

  it('prints the receipt of a payment the hub reports, with no screen waiting for it', async () => {
    const b = issue();
    // Two hours later, the hub reports the payment through sync; no screen asks.
    f.clock.advance(2 * 3600 * 1000);
    value(
      f.kiosk.payments.recordFromHub({
        billNo: b.billNo,
        amountFen: b.amountFen,
        channel: 'wechat',
        txnId: 'WX4200001',
        paidAt: b.issuedAt + 120,
        keyId: f.hub.keyId,
      }),
    );
    expect(receipts.get(b.billNo)?.state).toBe('due');
    expect(await receipts.drain()).toBe(1);
    expect(receipts.get(b.billNo)?.state).toBe('printed');
    expect(receiptsPrinted()).toHaveLength(1);
    // The hub repeating it changes nothing and prints nothing.
    f.kiosk.payments.recordFromHub({
      billNo: b.billNo,
      amountFen: b.amountFen,
      channel: 'wechat',
      txnId: 'WX4200001',
      paidAt: b.issuedAt + 120,
      keyId: f.hub.keyId,
    });
    expect(await receipts.drain()).toBe(0);
    expect(receiptsPrinted()).toHaveLength(1);
  });

  it('survives a restart: a receipt still due is printed by the next backend', async () => {
    const b = issue();
    value(f.kiosk.payments.confirm(f.hub.confirm({ billNo: b.billNo, amountFen: b.amountFen })));
    f.reopen();
    make();
    expect(await receipts.drain()).toBe(1);
    expect(receiptsPrinted()).toHaveLength(1);
  });

  it('a receipt that could not print stays failed for staff; a scan of the same confirmation prints a copy', async () => {
    const b = issue();
    printer.state = 'paper-end';
    const token = f.hub.confirm({ billNo: b.billNo, amountFen: b.amountFen });
    const first = value(await api.handlers.confirmPayment({ token }));
    // The printer's own reason (the print port refuses with what the printer said).
    expect(first.receipt).toEqual({ state: 'failed', errorCode: 'PRINTER_PAPER_END' });
    expect(receipts.failed().map((r) => r.billNo)).toEqual([b.billNo]);
    printer.state = 'ok';
    const again = value(await api.handlers.scan({ code: token }));
    expect(again.kind).toBe('paid');
    expect((again as { bill: BillDto }).bill.reprinted).toBe(true);
    expect(receiptsPrinted()).toHaveLength(1);
    expect(receiptsPrinted()[0]).toMatchObject({ kind: 'receipt', copy: true });
    expect(receipts.failed()).toEqual([]);
    // Still one payment.
    expect(f.kiosk.payments.listSince(0)).toHaveLength(1);
  });

  it('staff reprint any paid receipt as a copy; an unpaid bill has none', async () => {
    const b = issue();
    const login = value(
      await createStaffService(f.kiosk.db, f.kiosk.clock, { N: 1024, r: 8, p: 1 }).add('A', '2468'),
    );
    const s = value(await api.handlers.staffLogin({ pin: login.pin })).session;
    const unpaid = await api.handlers.staffReprintReceipt({ session: s, billNo: b.billNo });
    expect(unpaid.ok || unpaid.error.code).toBe('NOT_PAID_YET');
    value(
      await api.handlers.confirmPayment({
        token: f.hub.confirm({ billNo: b.billNo, amountFen: b.amountFen }),
      }),
    );
    value(await api.handlers.staffReprintReceipt({ session: s, billNo: b.billNo }));
    expect(receiptsPrinted().map((j) => (j as { copy?: boolean }).copy)).toEqual([undefined, true]);
  });

  it('a confirmation scanned again and again gets a bounded number of copies; staff print more, recorded', async () => {
    const b = issue();
    const token = f.hub.confirm({ billNo: b.billNo, amountFen: b.amountFen });
    value(await api.handlers.scan({ code: token }));
    const copies: (boolean | undefined)[] = [];
    const errors: (string | undefined)[] = [];
    for (let i = 0; i < MAX_SCAN_COPIES + 2; i++) {
      const r = value(await api.handlers.scan({ code: token })) as ScanDto;
      expect(r.kind).toBe('paid');
      const bill = (r as { bill: BillDto }).bill;
      copies.push(bill.reprinted);
      errors.push(bill.copyError);
    }
    expect(copies).toEqual([...Array(MAX_SCAN_COPIES).fill(true), false, false]);
    expect(errors).toEqual([
      ...Array(MAX_SCAN_COPIES).fill(undefined),
      'RECEIPT_COPY_LIMIT',
      'RECEIPT_COPY_LIMIT',
    ]);
    // The original and the capped copies only.
    expect(receiptsPrinted()).toHaveLength(1 + MAX_SCAN_COPIES);
    // Staff print more on purpose (reprint, or the same confirmation at 确认支付), each recorded as theirs.
    const member = value(
      await createStaffService(f.kiosk.db, f.kiosk.clock, { N: 1024, r: 8, p: 1 }).add('A', '2468'),
    );
    const s = value(await api.handlers.staffLogin({ pin: member.pin })).session;
    value(await api.handlers.staffReprintReceipt({ session: s, billNo: b.billNo }));
    const atCounter = value(await api.handlers.staffConfirm({ session: s, token }));
    expect(atCounter.bill.reprinted).toBe(true);
    expect(atCounter.printError).toBeUndefined();
    expect(receiptsPrinted()).toHaveLength(3 + MAX_SCAN_COPIES);
    expect(receipts.copiesSince(0).map((c) => [c.by, c.staffId ?? null, c.outcome])).toEqual([
      ...Array(MAX_SCAN_COPIES).fill(['scan', null, 'printed']),
      ['staff', member.staffId, 'printed'],
      ['staff', member.staffId, 'printed'],
    ]);
    // The shift report lists them.
    const report = value(await api.handlers.staffShiftReport({ session: s })).report;
    expect(report.reprints?.map((r) => r.by)).toEqual([
      ...Array(MAX_SCAN_COPIES).fill('scan'),
      'staff',
      'staff',
    ]);
    // A copy that could not print (paper out) does not count against the citizen.
    const other = issue2();
    const t2 = f.hub.confirm({ billNo: other.billNo, amountFen: other.amountFen });
    value(await api.handlers.scan({ code: t2 }));
    printer.state = 'paper-end';
    const failed = value(await api.handlers.scan({ code: t2 })) as ScanDto;
    expect((failed as { bill: BillDto }).bill.copyError).toBe('PRINTER_PAPER_END');
    printer.state = 'ok';
    for (let i = 0; i < MAX_SCAN_COPIES; i++) {
      const r = value(await api.handlers.scan({ code: t2 })) as ScanDto;
      expect((r as { bill: BillDto }).bill.reprinted).toBe(true);
    }
  });

  it('a bill restored already paid makes no receipt due', () => {
    const b = issue();
    f.kiosk.db.prepare("UPDATE bills SET status = 'paid' WHERE bill_no = ?").run(b.billNo);
    f.kiosk.db
      .prepare(
        "INSERT INTO payments (txn_id, bill_no, channel, amount_fen, paid_at, source, recorded_at) VALUES ('R1', ?, 'alipay', ?, 1, 'hub', 1)",
      )
      .run(b.billNo, b.amountFen);
    expect(receipts.get(b.billNo)).toBeUndefined();
  });

  it('says what a scanned code is without developer text', async () => {
    const r = await api.handlers.scan({ code: 'hello world!' });
    expect(r.ok || r.error.code).toBe('SCAN_UNKNOWN');
    const n = await api.handlers.scan({ code: '４４０３０５２０２６００５９４３' });
    expect(n.ok && n.value.kind === 'fine' && n.value.fine.decisionNo).toBe(DN);
  });
});
