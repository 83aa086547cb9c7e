// A receipt on a printer that cannot prove printing (no status, a portable Bluetooth printer faked below
// the driver) is "sent, not verified": never counted printed until a person says the paper came out;
// "no" prints it again at once; a reprint that fails leaves the receipt failed for staff to reprint.
import { afterEach, describe, expect, it } from 'vitest';
import { createApi, type BillDto, type ScanDto } from '../../main/api.ts';
import { createReceiptsService } from '../../main/payments/receipts.ts';
import { createKioskPrinting } from '../../main/printing/printing.ts';
import { createShiftService } from '../../main/shift/shift.ts';
import { createStaffService } from '../../main/staff/staff.ts';
import { kioskPort } from '../../main/ui/backend.ts';
import { Printer } from '../../printer/driver.ts';
import { profiles } from '../../printer/profiles.ts';
import type { Transport } from '../../printer/transports/types.ts';
import { ok, type Result } from '../../protocol/result.ts';
import { fixture, type Fixture } from '../kiosk/helpers.ts';
import { FakePrinter } from './fake-printer.ts';
import { RED_LIGHT } from './helpers.ts';

let f: Fixture | undefined;
afterEach(() => {
  f?.cleanup();
  f = undefined;
});

const value = <T>(r: Result<T>): T => {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
};

function setup() {
  f = fixture();
  const fx = f;
  const fp = new FakePrinter({
    linkBytesPerSecond: 11_520,
    printBytesPerSecond: 2_000,
    bufferBytes: 4096,
    status: 'none',
  });
  // The printer can be unplugged: every open then fails, as a lost Bluetooth link does.
  const link = { unplugged: false };
  const transport = (): Transport => {
    const t = fp.transport();
    return {
      ...t,
      open: async (timeoutMs: number) => {
        if (link.unplugged) throw new Error('no such device');
        await t.open(timeoutMs);
      },
    };
  };
  const printing = value(
    createKioskPrinting(fx.kiosk, {
      printerUrl: 'serial://bt',
      profile: profiles['bt58'],
      printerFor: (u) => ok(new Printer(u, transport, { now: fp.now, sleep: fp.sleep })),
    }),
  );
  const port = printing.port();
  const k = fx.kiosk;
  const receipts = createReceiptsService(k.db, k.clock, async (billNo, copy) => {
    const b = k.bills.get(billNo);
    if (!b.ok) return b;
    return port.print({ kind: 'receipt', bill: b.value, ...(copy ? { copy } : {}) });
  });
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
  return { fx, fp, link, printing, receipts, api, billNo: b.billNo, pay };
}

describe('a receipt on a printer without status', () => {
  it('is unverified, not printed, until a person says the paper came out; "no" prints it again', async () => {
    const s = setup();
    const bill = await s.pay();
    expect(bill.status).toBe('paid');
    expect(bill.receipt).toMatchObject({ state: 'unverified' });
    const jobId = bill.receipt!.jobId!;
    expect(s.printing.service.get(jobId)).toMatchObject({ kind: 'receipt', state: 'unverified' });
    const sent = s.fp.receivedBytes();
    expect(sent).toBeGreaterThan(0);
    // The page asking about "its" receipt hears: sent, not verified, and which job to ask about.
    expect(value(await s.api.handlers.printReceipt({ billNo: s.billNo }))).toMatchObject({
      jobId,
      verified: false,
    });
    // More drains print nothing more, and nothing counts it printed.
    await s.receipts.drain();
    expect(s.fp.receivedBytes()).toBe(sent);
    expect(s.receipts.get(s.billNo)?.state).toBe('unverified');

    // "No, print it again": the receipt goes out again at once and is asked about again.
    const again = value(await s.api.handlers.printConfirm({ jobId, cameOut: false }));
    expect(again).toMatchObject({ verified: false });
    expect(s.fp.receivedBytes()).toBeGreaterThan(sent);
    const r2 = s.receipts.get(s.billNo)!;
    expect(r2).toMatchObject({ state: 'unverified', jobId: again.jobId });

    // "Yes, it came out": printed, by a person's word.
    expect(value(await s.api.handlers.printConfirm({ jobId: again.jobId!, cameOut: true }))).toMatchObject({
      verified: true,
    });
    expect(s.receipts.get(s.billNo)).toMatchObject({ state: 'printed' });
    expect(s.printing.service.get(again.jobId!)).toMatchObject({ state: 'printed', proof: 'confirmed' });
    const dto = value(await s.api.handlers.billStatus({ billNo: s.billNo }));
    expect(dto.receipt).toEqual({ state: 'printed' });
    // A second answer for the same job changes nothing.
    expect((await s.api.handlers.printConfirm({ jobId: again.jobId!, cameOut: false })).ok).toBe(false);
    expect(s.receipts.get(s.billNo)).toMatchObject({ state: 'printed' });
  });

  it('"no" with the printer gone: the receipt is failed, listed for staff, and a staff reprint asks again', async () => {
    const s = setup();
    const bill = await s.pay();
    const jobId = bill.receipt!.jobId!;
    s.link.unplugged = true;
    const r = await s.api.handlers.printConfirm({ jobId, cameOut: false });
    expect(r.ok).toBe(false);
    expect(s.receipts.get(s.billNo)).toMatchObject({ state: 'failed' });
    expect(s.receipts.failed().map((x) => x.billNo)).toEqual([s.billNo]);
    s.link.unplugged = false;
    const copy = value(await s.receipts.reprint(s.billNo));
    expect(copy.verified).toBe(false);
    expect(s.receipts.get(s.billNo)).toMatchObject({ state: 'unverified', jobId: copy.jobId });
  });

  it('an unverified job that is no receipt (a bill) leaves every receipt alone', async () => {
    const s = setup();
    const p = value(await s.api.handlers.printBill({ billNo: s.billNo }));
    expect(p).toMatchObject({ verified: false });
    expect(s.receipts.settle(p.jobId!, ok({ jobId: p.jobId!, verified: true }))).toBeUndefined();
  });
});
