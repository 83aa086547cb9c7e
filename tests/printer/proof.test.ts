// Proof of printing against fake printers below the driver that follow the Epson reference
// (fake-printer.ts): a buffer, a print speed, real-time DLE EOT answered at once, GS ( H and GS r in order.
import { afterEach, describe, expect, it } from 'vitest';
import { createKioskPrinting, type KioskPrinting } from '../../main/printing/printing.ts';
import { Printer } from '../../printer/driver.ts';
import { profiles, withOverrides, type PrinterProfile } from '../../printer/profiles.ts';
import { interpretBytes } from '../../printer/virtual/interpreter.ts';
import { ok } from '../../protocol/result.ts';
import { fixture, type Fixture } from '../kiosk/helpers.ts';
import { FakePrinter, type FakePrinterOptions } from './fake-printer.ts';
import { RED_LIGHT } from './helpers.ts';

let f: Fixture | undefined;
afterEach(() => {
  f?.cleanup();
  f = undefined;
});

function setup(
  profile: PrinterProfile,
  printers: Record<string, FakePrinter>,
  url = Object.keys(printers)[0]!,
): { f: Fixture; printing: KioskPrinting; billNo: string; billUrl: string } {
  f = fixture();
  const fx = f;
  const p = createKioskPrinting(fx.kiosk, {
    printerUrl: url,
    profile,
    printerFor: (u) => {
      const fp = printers[u]!;
      return ok(new Printer(u, () => fp.transport(), { now: fp.now, sleep: fp.sleep }));
    },
  });
  if (!p.ok) throw new Error(p.error.message);
  const b = fx.kiosk.bills.issue(RED_LIGHT);
  if (!b.ok) throw new Error(b.error.message);
  return { f: fx, printing: p.value, billNo: b.value.billNo, billUrl: b.value.url };
}

const fake = (o: Partial<FakePrinterOptions> = {}): FakePrinter =>
  new FakePrinter({
    linkBytesPerSecond: 11_520,
    printBytesPerSecond: 2_000,
    bufferBytes: 4096,
    status: 'realtime+inorder',
    ...o,
  });

const gsR = withOverrides(profiles['cn80'], { inOrderStatus: 'gs-r' });
const processId = withOverrides(profiles['cn80'], { inOrderStatus: 'process-id' });

describe('proof of printing', () => {
  for (const [name, profile] of [
    ['GS r', gsR],
    ['GS ( H process id', processId],
  ] as const) {
    it(`${name}: a printer that answers DLE EOT at once, prints 400 B/s from a 4 KB buffer and runs out of paper after 600 bytes: not printed`, async () => {
      const fp = fake({ printBytesPerSecond: 400, paperBytes: 600 });
      const s = setup(profile, { 'tcp://a': fp });
      const r = await s.printing.printBill(s.billNo);
      expect(r).toMatchObject({
        ok: false,
        error: { code: 'PRINTER_PAPER_END', details: { stage: 'after' } },
      });
      const job = s.printing.service.latest('bill', s.billNo)!;
      expect(job).toMatchObject({ state: 'failed', errorCode: 'PRINTER_PAPER_END' });
      expect(job.size).toBeGreaterThan(600);
      expect(fp.printedBytes()).toBe(600);
      expect(fp.opens).toBe(1);
    });
  }

  it('a slow link (9,600 baud) that finishes: printed once, proved, one connection; never sent twice', async () => {
    const fp = fake({ linkBytesPerSecond: 960, printBytesPerSecond: 800 });
    const s = setup(gsR, { 'tcp://a': fp });
    const r = await s.printing.printBill(s.billNo);
    expect(r).toMatchObject({ ok: true, value: { state: 'printed', proof: 'gs-r', attempts: 1 } });
    const job = s.printing.service.latest('bill', s.billNo)!;
    // The job took longer than the old fixed 15 s time-out, and still counts as printed.
    expect(fp.t).toBeGreaterThan(job.size);
    expect(fp.opens).toBe(1);
    // 4 × DLE EOT (12 bytes), the job, GS r 1 (3 bytes): the bill's bytes went out exactly once.
    expect(fp.printedBytes()).toBe(12 + job.size + 3);
  });

  it('a status-less printer prints, marked sent-not-verified; a person confirms it came out', async () => {
    const fp = fake({ status: 'none' });
    const s = setup(profiles['bt58'], { 'serial://bt': fp });
    const r = await s.printing.printBill(s.billNo);
    expect(r).toMatchObject({ ok: true, value: { state: 'unverified' } });
    const job = s.printing.service.latest('bill', s.billNo)!;
    // Nothing but the job was sent: no status request a status-less printer would print as garbage.
    expect(fp.receivedBytes()).toBe(job.size);
    expect(await s.printing.status()).toMatchObject({ state: 'ok' });
    const port = s.printing.port();
    expect(await port.status()).toBe('none');
    expect(await port.confirm!(job.id, true)).toMatchObject({ ok: true, value: { verified: true } });
    expect(s.printing.service.get(job.id)).toMatchObject({ state: 'printed', proof: 'confirmed' });
    const ev = s.f.kiosk.outbox.list(0, 100).filter((e) => e.type === 'print.job');
    expect(ev.map((e) => JSON.parse(e.payload).state)).toEqual(['unverified', 'printed']);
  });

  it('a status-less printer whose paper did not come out: the reprint is one tap (same job, same QR)', async () => {
    const fp = fake({ status: 'none' });
    const s = setup(profiles['bt58'], { 'serial://bt': fp });
    const first = await s.printing.printBill(s.billNo);
    if (!first.ok) throw new Error(first.error.message);
    const again = await s.printing.port().confirm!(first.value.id, false);
    expect(again).toMatchObject({ ok: true, value: { jobId: first.value.id, verified: false } });
    expect(s.printing.service.get(first.value.id)).toMatchObject({ state: 'unverified', attempts: 2 });
    const pages = interpretBytes(s.printing.service.bytes(first.value.id)!, 384);
    expect(pages[0]!.lines.join('\n')).not.toContain('补打');
  });

  it('a real-time-only printer: unverified when healthy after the job, failed when it stopped', async () => {
    const ok1 = fake({ status: 'realtime' });
    const s = setup(profiles['pos58'], { 'tcp://a': ok1 });
    expect(await s.printing.printBill(s.billNo)).toMatchObject({ ok: true, value: { state: 'unverified' } });
    s.f.cleanup();
    f = undefined;
    const out = fake({ status: 'realtime', printBytesPerSecond: 400, paperBytes: 300 });
    const s2 = setup(profiles['pos58'], { 'tcp://a': out });
    expect(await s2.printing.printBill(s2.billNo)).toMatchObject({
      ok: false,
      error: { code: 'PRINTER_PAPER_END' },
    });
  });

  it('XON/XOFF from a serial printer with flow control are not status', async () => {
    const fp = fake({ xonXoff: true, bufferBytes: 512, printBytesPerSecond: 300, linkBytesPerSecond: 960 });
    const s = setup(gsR, { 'serial://a': fp });
    const r = await s.printing.printBill(s.billNo);
    expect(r).toMatchObject({ ok: true, value: { state: 'printed', proof: 'gs-r' } });
    expect(fp.flowControlBytes).toBeGreaterThan(0);
  });

  it('a failed bill reprints to the printer and profile named now, with the same bill token', async () => {
    const broken = fake({ printBytesPerSecond: 400, paperBytes: 200 });
    const fresh = fake({ status: 'none' });
    const s = setup(gsR, { 'tcp://old': broken, 'serial://new': fresh }, 'tcp://old');
    expect((await s.printing.printBill(s.billNo)).ok).toBe(false);
    const failed = s.printing.service.latest('bill', s.billNo)!;
    // The printer was replaced: the kiosk now names another printer and profile.
    const now = createKioskPrinting(s.f.kiosk, {
      printerUrl: 'serial://new',
      profile: profiles['bt58'],
      printerFor: (u) => ok(new Printer(u, () => fresh.transport(), { now: fresh.now, sleep: fresh.sleep })),
    });
    if (!now.ok) throw new Error(now.error.message);
    const r = await now.value.printBill(s.billNo);
    expect(r).toMatchObject({
      ok: true,
      value: { id: failed.id, printer: 'serial://new', profile: 'bt58', attempts: 2 },
    });
    const { decodeQrFromPng } = await import('../../printer/qr-decode.ts');
    const { bitmapToPng } = await import('../../printer/virtual/png.ts');
    const page = interpretBytes(now.value.service.bytes(failed.id)!, 384)[0]!;
    expect(decodeQrFromPng(bitmapToPng(page.bitmap))).toBe(s.billUrl);
  });
});
