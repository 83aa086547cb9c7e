// An officer's ticket, end to end across real parts: written offline on the officer device (one number
// from the device's own stand-alone sequence, one from a hub block), its notice printed and its QR read
// back from the printed page (jsQR and zbarimg), pushed to the hub when the device is back online, then
// found at a second kiosk by the typed number and by the notice's QR (and by a third kiosk that never
// pulled, through the hub's lookup), billed and paid there on the channel simulator. The second kiosk
// learns of the payment by sync and prints the receipt; the hub and the officer device see the fine paid.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSimulatorKeys, type SimulatorKeys } from '../../hub/channels/simulator.ts';
import { officerBlocksPlugin } from '../../hub/officer/blocks.ts';
import { createApi, type BillDto, type FineDto, type ScanDto } from '../../main/api.ts';
import { createOfficerApi, type TicketDto } from '../../main/officer/api.ts';
import { openOfficerMode } from '../../main/officer/officer.ts';
import { createReceiptsService } from '../../main/payments/receipts.ts';
import { createShiftService } from '../../main/shift/shift.ts';
import { createStaffService } from '../../main/staff/staff.ts';
import { enroll, SyncEngine } from '../../main/sync/engine.ts';
import { kioskPort, MemoryPrinter } from '../../main/ui/backend.ts';
import { profiles } from '../../printer/profiles.ts';
import { decodeQrFromPng } from '../../printer/qr-decode.ts';
import { interpretBytes } from '../../printer/virtual/interpreter.ts';
import { bitmapToPng } from '../../printer/virtual/png.ts';
import { isStandaloneDecisionNo } from '../../protocol/decision.ts';
import { ok, type Result } from '../../protocol/result.ts';
import { ManualClock } from '../../protocol/time.ts';
import { STORAGES } from '../hub/helpers.ts';
import { ALIPAY_UA, openPayPage, startPayHub, type PayHubFixture } from '../payments/helpers.ts';
import { openDevice, removeDir, T0, tempDir, type Device } from './helpers.ts';

const REGION = '310100';
const value = <T>(r: Result<T>): T => {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
};

/** zbarimg's reading of a PNG: every QR it finds, as text. */
function zbarimg(png: Uint8Array): string[] {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fk-zbar-'));
  try {
    const f = path.join(dir, 'notice.png');
    writeFileSync(f, png);
    const out = execFileSync('zbarimg', ['--quiet', '--raw', '-Sdisable', '-Sqrcode.enable', f], {
      encoding: 'utf8',
    });
    return out.split('\n').filter((l) => l !== '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let keys: SimulatorKeys;
beforeAll(() => {
  keys = generateSimulatorKeys();
});

describe.each(STORAGES)('an officer ticket paid at another kiosk (%s)', (storage) => {
  const clock = new ManualClock(T0);
  let f: PayHubFixture;
  const devices: Device[] = [];
  const device = (): Device => {
    const d = openDevice(tempDir(), clock);
    devices.push(d);
    return d;
  };
  const enrollHere = async (d: Device, name: string): Promise<void> => {
    const code = value(await f.hub.devices.add({ name, region: REGION }));
    value(await enroll(d.kiosk, { hubUrl: f.url, code: code.code }));
  };

  beforeAll(async () => {
    f = await startPayHub(storage, clock, keys, { plugins: [{ plugin: officerBlocksPlugin }] });
  });
  afterAll(async () => {
    for (const d of devices) {
      d.close();
      removeDir(d.dir);
    }
    await f?.close();
  });

  it('offline ticket → hub → found by number and by the notice QR at a second kiosk, paid, receipt printed', async () => {
    // ---- The officer device: enrolled, then out of coverage before it had any hub numbers.
    const officer = device();
    await enrollHere(officer, 'Patrol 7');
    const mode = value(openOfficerMode(officer.kiosk, { pinCost: { N: 1024, r: 8, p: 1 } }));
    value(await mode.officers.add('031234', '王警官', '135790'));
    const notices: { ref: string; bytes: Uint8Array }[] = [];
    const profile = profiles['generic-80'];
    const oapi = createOfficerApi({
      kiosk: officer.kiosk,
      officer: mode,
      refill: false,
      printer: {
        profile,
        print: async (_kind, ref, bytes) => {
          notices.push({ ref, bytes });
          return ok({ jobId: `notice-${notices.length}` });
        },
      },
    });
    const ocall = async <T>(method: string, input: object): Promise<T> =>
      value((await oapi.call(method, input)) as Result<T>);
    const session = (await ocall<{ session: string }>('officerLogin', { pin: '135790' })).session;
    // No hub numbers: the officer turns on the device's own stand-alone sequence.
    expect(mode.enableStandalone(REGION).standalone).toBe(true);
    const ticket = (plate: string, vin6: string) =>
      ocall<TicketDto>('officerIssue', {
        session,
        plate,
        vehicleKind: 'small-car',
        code: '1625',
        place: '人民广场 西藏中路口',
        vin6,
        partyName: '张三',
        licenceNo: '31010419800101123X',
      });
    const standalone = await ticket('沪A12345', '4B5C6D');
    expect(standalone.standalone).toBe(true);
    expect(isStandaloneDecisionNo(standalone.decisionNo)).toBe(true);
    // Back in coverage for a moment: a block of hub numbers, then offline again for the next ticket.
    value(await mode.refill({ force: true }));
    clock.advance(10 * 60_000);
    const fromBlock = await ticket('沪B67890', '9F8E7D');
    expect(fromBlock.standalone).toBe(false);
    expect(fromBlock.decisionNo).toMatch(/^31010020269[0-9]{7}$/);

    // ---- The notices as printed: their QR read back from the page by two decoders.
    const qrOf = async (t: TicketDto): Promise<string> => {
      await ocall('officerPrintNotice', { session, decisionNo: t.decisionNo });
      const n = notices.at(-1)!;
      expect(n.ref).toBe(t.decisionNo);
      const pages = interpretBytes(n.bytes, profile.dots);
      const png = bitmapToPng(pages[0]!.bitmap);
      const jsqr = decodeQrFromPng(png);
      expect(zbarimg(png)).toEqual([jsqr]);
      // The driver's own document: the full plate and the number to pay by.
      const text = pages.flatMap((p) => p.lines).join('\n');
      expect(text).toContain(t.decisionNo);
      return jsqr!;
    };
    const standaloneQr = await qrOf(standalone);
    const blockQr = await qrOf(fromBlock);
    expect(standaloneQr).toBe(standalone.bill.url);

    // ---- Back online: the device pushes its day.
    value(await new SyncEngine(officer.kiosk).pushAll());
    for (const t of [standalone, fromBlock]) {
      const r = await f.db.query<{ status: string }>('SELECT status FROM fines WHERE decision_no = $1', [
        t.decisionNo,
      ]);
      expect(r.rows[0]?.status).toBe('unpaid');
    }

    // ---- A second kiosk of the region, in another hall: pulls, and a citizen finds the tickets.
    const hall = device();
    await enrollHere(hall, 'Hall 2');
    const engine = new SyncEngine(hall.kiosk);
    value(await engine.pullAll());
    const printer = new MemoryPrinter();
    const k = hall.kiosk;
    const receipts = createReceiptsService(k.db, k.clock, async (billNo, copy) => {
      const b = k.bills.get(billNo);
      return b.ok ? printer.print({ kind: 'receipt', bill: b.value, ...(copy ? { copy } : {}) }) : b;
    });
    const kp = kioskPort(k);
    const kioskApi = (kk: typeof k, port: typeof kp, eng: SyncEngine) =>
      createApi({
        clock,
        kiosk: port,
        printer,
        ...(kk === k ? { receipts } : {}),
        sync: { status: () => ({ online: true, queued: 0 }), lookup: (q) => eng.lookup(q) },
        staff: createStaffService(kk.db, clock, { N: 1024, r: 8, p: 1 }),
        shifts: createShiftService({ db: kk.db, clock, deviceId: 'x', source: port }),
      });
    const api = kioskApi(k, kp, engine);
    const call = async <T>(method: string, input: object): Promise<T> =>
      value((await api.call(method, input)) as Result<T>);

    // Typed on the keypad, in whatever case and width the citizen's keyboard gives.
    const typed = standalone.decisionNo
      .toUpperCase()
      .replace(/[0-9]/g, (d) => String.fromCharCode(d.charCodeAt(0) + 0xfee0));
    const byNumber = await call<FineDto>('findByDecisionNo', { decisionNo: typed });
    expect(byNumber).toMatchObject({ decisionNo: standalone.decisionNo, status: 'unpaid', fineFen: 20000 });
    // Scanned from the notice.
    for (const [qr, t] of [
      [standaloneQr, standalone],
      [blockQr, fromBlock],
    ] as const) {
      const s = await call<ScanDto>('scan', { code: qr });
      expect(s.kind).toBe('fine');
      expect(s.kind === 'fine' && s.fine.decisionNo).toBe(t.decisionNo);
    }
    // A third kiosk that never pulled finds it through the hub's lookup.
    const other = device();
    await enrollHere(other, 'Hall 3');
    const otherApi = kioskApi(other.kiosk, kioskPort(other.kiosk), new SyncEngine(other.kiosk));
    const viaHub = value((await otherApi.call('scan', { code: standaloneQr })) as Result<ScanDto>);
    expect(viaHub.kind === 'fine' && viaHub.fine.decisionNo).toBe(standalone.decisionNo);

    // ---- Billed at the second kiosk and paid on the phone.
    const bill = await call<BillDto>('issueBill', { decisionNo: standalone.decisionNo });
    expect(bill.amountFen).toBe(20000);
    value(await engine.pushAll());
    const page = await openPayPage(bill.url, ALIPAY_UA);
    expect(page.status).toBe(200);
    const paid = await f.sim.pay('alipay', page.outTradeNo!);
    expect(paid.ok).toBe(true);
    // The kiosk learns it by sync (no screen waits for it) and prints the receipt once.
    value(await engine.pullAll());
    const after = await call<BillDto>('billStatus', { billNo: bill.billNo });
    expect(after.status).toBe('paid');
    expect(after.payment?.txnId).toBe(paid.txnId);
    expect(await receipts.drain()).toBe(1);
    expect(printer.jobs.filter((j) => j.kind === 'receipt')).toHaveLength(1);

    // ---- The hub holds the fine paid; the officer's own bill for it is void; the officer device agrees.
    const fine = await f.db.query<{ status: string }>('SELECT status FROM fines WHERE decision_no = $1', [
      standalone.decisionNo,
    ]);
    expect(fine.rows[0]?.status).toBe('paid');
    expect((await f.hub.bills.get(standalone.bill.billNo))?.status).toBe('voided');
    value(await new SyncEngine(officer.kiosk).pullAll());
    const onDevice = officer.kiosk.fines.findByDecisionNo(standalone.decisionNo);
    expect(onDevice.ok && onDevice.value.status).toBe('paid');
    const officerBill = officer.kiosk.bills.get(standalone.bill.billNo);
    expect(officerBill.ok && officerBill.value.status).toBe('voided');
    // The other ticket is still to pay, everywhere.
    const still = await call<FineDto>('findByDecisionNo', { decisionNo: fromBlock.decisionNo });
    expect(still.status).toBe('unpaid');
  });
});
