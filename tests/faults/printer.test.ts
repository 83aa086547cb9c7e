// Printer faults against the virtual printer: paper out before and during a job, a printer gone or
// silent, and two jobs at once.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeQrFromPng } from '../../printer/qr-decode.ts';
import { outboxTypes } from '../kiosk/helpers.ts';
import { PARKING, printFixture, RED_LIGHT, type PrintFixture } from '../printer/helpers.ts';

let pf: PrintFixture | undefined;
afterEach(async () => {
  await pf?.cleanup();
  pf = undefined;
});

function issue(p: PrintFixture, decisionNo = RED_LIGHT) {
  const b = p.f.kiosk.bills.issue(decisionNo);
  if (!b.ok) throw new Error(b.error.message);
  return b.value;
}

const events = (p: PrintFixture) =>
  p.f.kiosk.outbox
    .list(0, 100)
    .filter((e) => e.type === 'print.job')
    .map((e) => JSON.parse(e.payload) as { state: string; error?: string });

describe('printer faults', () => {
  it('paper end before a job: refused with the reason, nothing printed, bill not printed', async () => {
    pf = await printFixture();
    const bill = issue(pf);
    pf.vp.set({ paperEnd: true });
    const r = await pf.printing.printBill(bill.billNo);
    expect(r).toMatchObject({
      ok: false,
      error: { code: 'PRINTER_PAPER_END', details: { stage: 'before' } },
    });
    const job = pf.printing.service.latest('bill', bill.billNo)!;
    expect(job).toMatchObject({ state: 'failed', errorCode: 'PRINTER_PAPER_END', attempts: 1 });
    // Only the status requests went over the wire: 4 × DLE EOT n.
    expect(pf.vp.connections.map((c) => c.bytes)).toEqual([12]);
    expect(pf.vp.pages).toHaveLength(0);
    expect(events(pf)).toEqual([expect.objectContaining({ state: 'failed' })]);
  });

  for (const [fault, code] of [
    [{ coverOpen: true }, 'PRINTER_COVER_OPEN'],
    [{ offline: true }, 'PRINTER_OFFLINE'],
    [{ cutterError: true }, 'PRINTER_CUTTER_ERROR'],
  ] as const) {
    it(`refuses a job with ${code}`, async () => {
      pf = await printFixture();
      const bill = issue(pf);
      pf.vp.set(fault);
      expect(await pf.printing.printBill(bill.billNo)).toMatchObject({ ok: false, error: { code } });
      expect(pf.vp.pages).toHaveLength(0);
    });
  }

  it('paper end in the middle of a job: failed; after new paper the reprint carries the same QR', async () => {
    pf = await printFixture();
    const bill = issue(pf);
    pf.vp.set({ paperEndAfterBytes: 400 });
    const r = await pf.printing.printBill(bill.billNo);
    expect(r).toMatchObject({ ok: false, error: { code: 'PRINTER_PAPER_END', details: { stage: 'after' } } });
    const failed = pf.printing.service.latest('bill', bill.billNo)!;
    expect(failed).toMatchObject({ state: 'failed', attempts: 1 });
    // The page that came out is cut short: no QR on it.
    const [short] = await pf.vp.waitForPages(1);
    expect(short!.qrData).toEqual([]);
    expect(decodeQrFromPng(readFileSync(short!.file))).toBeUndefined();

    pf.vp.set({ paperEnd: false });
    const again = await pf.printing.printBill(bill.billNo);
    expect(again).toMatchObject({ ok: true, value: { id: failed.id, state: 'printed', attempts: 2 } });
    expect(pf.printing.service.get(failed.id)!.bytesSha256).toBe(failed.bytesSha256);
    const pages = await pf.vp.waitForPages(2);
    expect(decodeQrFromPng(readFileSync(pages[1]!.file))).toBe(bill.url);
    expect(events(pf).map((e) => e.state)).toEqual(['failed', 'printed']);
    expect(outboxTypes(pf.f.kiosk).filter((t) => t === 'print.job')).toHaveLength(2);
  });

  it('a printer that is gone: a clear error within a few seconds', async () => {
    pf = await printFixture();
    const bill = issue(pf);
    await pf.vp.close();
    // No hang: the answer comes from the connection refused, not from a time-out (the test's timeout bounds it).
    const r = await pf.printing.printBill(bill.billNo);
    expect(r).toMatchObject({ ok: false, error: { code: 'PRINTER_UNREACHABLE' } });
    expect(await pf.printing.status()).toMatchObject({ state: 'unreachable' });
    expect(pf.printing.service.latest('bill', bill.billNo)).toMatchObject({ state: 'failed' });
  });

  it('a silent printer (connects, never answers): times out with the default timeouts, no hang', async () => {
    pf = await printFixture();
    const bill = issue(pf);
    pf.vp.set({ silent: true });
    const r = await pf.printing.printBill(bill.billNo);
    expect(r).toMatchObject({ ok: false, error: { code: 'PRINTER_TIMEOUT' } });
    expect(pf.vp.pages).toHaveLength(0);
  });

  it('a second job while one prints waits its turn: queued, not interleaved', async () => {
    pf = await printFixture();
    const a = issue(pf, RED_LIGHT);
    const b = issue(pf, PARKING);
    const p1 = pf.printing.printBill(a.billNo);
    const p2 = pf.printing.printBill(b.billNo);
    // Both are recorded at once; the second is still queued while the first is on the printer.
    const second = pf.printing.service.latest('bill', b.billNo)!;
    expect(second.state).toBe('queued');
    const [r1, r2] = await Promise.all([p1, p2]);
    expect(r1.ok && r2.ok).toBe(true);
    const [c1, c2] = pf.vp.connections;
    // The second job's bytes start only after the first job's last byte (its final status request).
    expect(c2!.firstDataAt!).toBeGreaterThanOrEqual(c1!.lastDataAt!);
    // One connection per job: 4 × DLE EOT before (12 bytes), the job, GS r 1 after it (3 bytes).
    expect(c1!.bytes).toBe(pf.printing.service.latest('bill', a.billNo)!.size + 15);
    const pages = await pf.vp.waitForPages(2);
    expect(pages.map((p) => p.job)).toEqual([1, 2]);
    expect(pages.map((p) => p.qrData)).toEqual([[a.url], [b.url]]);
  });

  it('a bill that can no longer be paid is not printed: expired, paid', async () => {
    pf = await printFixture();
    const bill = issue(pf);
    pf.f.clock.advance(4 * 3600 * 1000 + 1000);
    expect(await pf.printing.printBill(bill.billNo)).toMatchObject({
      ok: false,
      error: { code: 'BILL_EXPIRED' },
    });
    const fresh = issue(pf, PARKING);
    const c = pf.f.kiosk.payments.confirm(
      pf.f.hub.confirm({ billNo: fresh.billNo, amountFen: fresh.amountFen }),
    );
    expect(c.ok).toBe(true);
    expect(await pf.printing.printBill(fresh.billNo)).toMatchObject({
      ok: false,
      error: { code: 'BILL_PAID' },
    });
    expect(pf.vp.connections).toEqual([]);
  });

  it('a job cut off by a stopped kiosk is marked unverified at start-up and reprints on request', async () => {
    pf = await printFixture();
    const bill = issue(pf);
    expect((await pf.printing.printBill(bill.billNo)).ok).toBe(true);
    const job = pf.printing.service.latest('bill', bill.billNo)!;
    pf.f.kiosk.db.prepare(`UPDATE print_jobs SET state = 'printing' WHERE id = ?`).run(job.id);
    expect(pf.printing.service.recoverInterrupted()).toBe(1);
    // It may have printed: unverified (a person checks), not failed (which would reprint unasked).
    expect(pf.printing.service.get(job.id)).toMatchObject({ state: 'unverified' });
    expect(await pf.printing.printBill(bill.billNo)).toMatchObject({
      ok: true,
      value: { id: job.id, attempts: 2 },
    });
  });

  it('the link drops in the middle of a job: failed with the reason, reprint succeeds', async () => {
    pf = await printFixture();
    const bill = issue(pf);
    pf.vp.set({ dropAfterBytes: 300 });
    const r = await pf.printing.printBill(bill.billNo);
    expect(r).toMatchObject({ ok: false, error: { code: 'PRINTER_UNREACHABLE' } });
    if (r.ok) throw new Error('printed on a dropped link');
    expect(['during', 'after']).toContain(r.error.details?.stage);
    const again = await pf.printing.printBill(bill.billNo);
    expect(again).toMatchObject({ ok: true, value: { state: 'printed', attempts: 2 } });
    const pages = await pf.vp.waitForPages(2);
    expect(decodeQrFromPng(readFileSync(pages.at(-1)!.file))).toBe(bill.url);
  });
});

describe('one printer, two services', () => {
  it('jobs from two print services on the same printer URL do not overlap', async () => {
    const { PrintService } = await import('../../printer/service.ts');
    const { encodeTestPage } = await import('../../printer/documents/index.ts');
    const { profiles } = await import('../../printer/profiles.ts');
    pf = await printFixture();
    const other = new PrintService({ db: pf.f.kiosk.db, clock: pf.f.clock });
    const bytes = encodeTestPage({ profile: profiles['generic-80'] });
    const [r1, r2] = await Promise.all([
      pf.printing.service.print('test', 'a', pf.vp.url, bytes),
      other.print('test', 'b', pf.vp.url, bytes),
    ]);
    expect(r1.ok && r2.ok).toBe(true);
    const [c1, c2] = pf.vp.connections;
    expect(c2!.firstDataAt!).toBeGreaterThanOrEqual(c1!.lastDataAt!);
  });
});
