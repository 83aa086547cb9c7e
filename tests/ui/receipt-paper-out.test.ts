// A citizen's receipt is never lost to paper-out: the paper runs out in the middle of the receipt (a fake
// printer below the driver, following the Epson reference), the receipt is kept `failed` with the
// printer's reason, the backend keeps asking the printer (at most every few seconds) and prints it by
// itself once paper is loaded, as the original, on the same job, proved by the printer; whatever screen
// shows meanwhile. A printer that keeps failing is tried a bounded number of times, then left to staff.
import { afterEach, describe, expect, it } from 'vitest';
import { createApi, type BillDto, type ScanDto } from '../../main/api.ts';
import { AUTO_RETRIES, READY_CHECK_MS } from '../../main/payments/receipts.ts';
import { createKioskPrinting } from '../../main/printing/printing.ts';
import { createShiftService } from '../../main/shift/shift.ts';
import { createStaffService } from '../../main/staff/staff.ts';
import { kioskPort, kioskReceipts, MemoryPrinter } from '../../main/ui/backend.ts';
import { Printer } from '../../printer/driver.ts';
import { profiles } from '../../printer/profiles.ts';
import { interpretBytes } from '../../printer/virtual/interpreter.ts';
import { fail, ok, type Result } from '../../protocol/result.ts';
import { fixture, type Fixture } from '../kiosk/helpers.ts';
import { FakePrinter } from '../printer/fake-printer.ts';
import { RED_LIGHT } from '../printer/helpers.ts';

let f: Fixture | undefined;
afterEach(() => {
  f?.cleanup();
  f = undefined;
});

const value = <T>(r: Result<T>): T => {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
};

function setup(printer: 'fake' | 'memory', paperBytes?: number) {
  f = fixture();
  const fx = f;
  const k = fx.kiosk;
  const fp = new FakePrinter({
    linkBytesPerSecond: 11_520,
    printBytesPerSecond: 2_000,
    bufferBytes: 4096,
    status: 'realtime+inorder',
    ...(paperBytes !== undefined ? { paperBytes } : {}),
  });
  const mem = new MemoryPrinter();
  const printing = value(
    createKioskPrinting(k, {
      printerUrl: 'tcp://paper-out',
      profile: profiles['cn80'],
      printerFor: (u) => ok(new Printer(u, () => fp.transport(), { now: fp.now, sleep: fp.sleep })),
    }),
  );
  const port = printer === 'fake' ? printing.port() : mem;
  const receipts = kioskReceipts(k, port);
  const kp = kioskPort(k);
  const api = createApi({
    clock: k.clock,
    kiosk: kp,
    printer: port,
    receipts,
    sync: { status: () => ({ online: false, queued: 0 }) },
    staff: createStaffService(k.db, k.clock, { N: 1024, r: 8, p: 1 }),
    shifts: createShiftService({ db: k.db, clock: k.clock, deviceId: 'x', source: kp }),
  });
  const b = value(k.bills.issue(RED_LIGHT));
  const pay = async (): Promise<BillDto> => {
    const token = fx.hub.confirm({ billNo: b.billNo, amountFen: b.amountFen });
    const r = value(await api.handlers.scan({ code: token })) as ScanDto;
    return (r as { bill: BillDto }).bill;
  };
  /** The backend's timer: a drain, a little later on the kiosk clock. */
  const tick = async (): Promise<number> => {
    fx.clock.advance(READY_CHECK_MS);
    return receipts.drain();
  };
  return { fx, fp, mem, printing, receipts, api, billNo: b.billNo, pay, tick };
}

describe('a receipt when the paper runs out', () => {
  it('runs out mid-receipt: kept failed, then printed by itself once paper is loaded', async () => {
    const s = setup('fake', 400);
    const bill = await s.pay();
    expect(bill.status).toBe('paid');
    // The printer stopped in the middle of the receipt: only part of it is on paper.
    expect(bill.receipt).toEqual({ state: 'failed', errorCode: 'PRINTER_PAPER_END' });
    const job = s.printing.service.latest('receipt', s.billNo)!;
    expect(job).toMatchObject({ state: 'failed', errorCode: 'PRINTER_PAPER_END' });
    expect(job.size).toBeGreaterThan(400);
    expect(s.fp.printedBytes()).toBe(400);

    // The citizen's screen went back to the start meanwhile; the backend keeps the receipt and keeps
    // asking the printer (its real-time status), which still has no paper: no job is sent.
    const opened = s.fp.opens;
    for (let i = 0; i < 5; i++) expect(await s.tick()).toBe(0);
    expect(s.fp.opens).toBe(opened + 5);
    expect(s.printing.service.latest('receipt', s.billNo)).toMatchObject({ id: job.id, attempts: 1 });
    expect(s.receipts.get(s.billNo)).toMatchObject({ state: 'failed', errorCode: 'PRINTER_PAPER_END' });
    // Asked at most every READY_CHECK_MS: a drain right after another asks nothing.
    const opens = s.fp.opens;
    await s.receipts.drain();
    expect(s.fp.opens).toBe(opens);

    // Paper loaded: the next look prints the receipt, on the same job, proved by the printer.
    s.fp.loadPaper();
    expect(await s.tick()).toBe(1);
    expect(s.receipts.get(s.billNo)).toEqual({
      billNo: s.billNo,
      state: 'printed',
      dueAt: expect.any(Number),
    });
    const again = s.printing.service.latest('receipt', s.billNo)!;
    expect(again).toMatchObject({ id: job.id, state: 'printed', proof: 'gs-r', attempts: 2 });
    // The original (no copy mark): no complete receipt had come out before.
    const text = interpretBytes(s.printing.service.bytes(job.id)!, profiles['cn80'].dots)
      .flatMap((p) => p.lines)
      .join('\n');
    expect(text).toContain(s.billNo);
    expect(text).not.toContain('Reprint');
    // The screen asking about it now hears it printed; nothing more is printed.
    expect(value(await s.api.handlers.billStatus({ billNo: s.billNo })).receipt).toEqual({
      state: 'printed',
    });
    const opens2 = s.fp.opens;
    expect(await s.tick()).toBe(0);
    expect(s.fp.opens).toBe(opens2);
  });

  it('a printer that says ready but keeps failing is tried a bounded number of times, then left to staff', async () => {
    const s = setup('memory');
    s.mem.state = 'paper-end';
    const bill = await s.pay();
    expect(bill.receipt).toEqual({ state: 'failed', errorCode: 'PRINTER_PAPER_END' });
    // Ready by its status, but every job fails (a sensor that lies).
    s.mem.state = 'ok';
    s.mem.print = async () => fail('PRINTER_PAPER_END', 'out');
    let tried = 0;
    for (let i = 0; i < AUTO_RETRIES + 3; i++) tried += await s.tick();
    expect(tried).toBe(AUTO_RETRIES);
    expect(s.receipts.failed().map((r) => r.billNo)).toEqual([s.billNo]);
    // Staff reprint it (a copy), and it is recorded with who asked.
    const login = value(
      await createStaffService(s.fx.kiosk.db, s.fx.kiosk.clock, { N: 1024, r: 8, p: 1 }).add('A', '2468'),
    );
    const session = value(await s.api.handlers.staffLogin({ pin: login.pin })).session;
    s.mem.print = MemoryPrinter.prototype.print.bind(s.mem);
    value(await s.api.handlers.staffReprintReceipt({ session, billNo: s.billNo }));
    expect(s.receipts.get(s.billNo)?.state).toBe('printed');
    expect(s.receipts.copiesSince(0)).toEqual([
      expect.objectContaining({ billNo: s.billNo, by: 'staff', staffId: login.staffId, outcome: 'printed' }),
    ]);
  });

  it('a failure that is not the printer being unready (a crash mid-print) waits for staff', async () => {
    const s = setup('memory');
    s.mem.print = async () => fail('PRINT_FAILED', 'broken');
    const bill = await s.pay();
    expect(bill.receipt).toEqual({ state: 'failed', errorCode: 'PRINT_FAILED' });
    s.mem.print = MemoryPrinter.prototype.print.bind(s.mem);
    expect(await s.tick()).toBe(0);
    expect(s.mem.jobs).toHaveLength(0);
  });
});
