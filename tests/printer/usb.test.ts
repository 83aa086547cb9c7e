// The USB transport against an in-memory fake of the WebUSB device methods it uses. The fake printer
// behind the bulk endpoints is the same interpreter the virtual printer runs.
import { describe, expect, it } from 'vitest';
import { Printer } from '../../printer/driver.ts';
import { encodeBill } from '../../printer/documents/index.ts';
import { profiles } from '../../printer/profiles.ts';
import { encodeStatus } from '../../printer/status.ts';
import { parsePrinterUrl, transportFor } from '../../printer/transports/index.ts';
import { UsbTransport, type UsbDeviceLike } from '../../printer/transports/usb.ts';
import { Interpreter, type Page } from '../../printer/virtual/interpreter.ts';
import { signedBill } from './fixtures.ts';

class FakeUsbPrinter implements UsbDeviceLike {
  opened = false;
  configuration: UsbDeviceLike['configuration'] = null;
  calls: string[] = [];
  out: number[] = [];
  private replies: number[] = [];
  pages: Page[] = [];
  flags: Parameters<typeof encodeStatus>[0] = {};
  hangOut = false;
  private it = new Interpreter(576, {
    status: (n) => {
      const s = encodeStatus(this.flags);
      return [s.printer, s.offline, s.error, s.paper][n - 1]!;
    },
    reply: (b) => this.replies.push(...b),
    page: (p) => this.pages.push(p),
  });

  constructor(
    readonly vendorId = 0x0416,
    readonly productId = 0x5011,
    private readonly withIn = true,
  ) {}

  async open() {
    this.calls.push('open');
    this.opened = true;
  }
  async close() {
    this.calls.push('close');
    this.opened = false;
  }
  async selectConfiguration(v: number) {
    this.calls.push(`selectConfiguration(${v})`);
    this.configuration = {
      configurationValue: v,
      interfaces: [
        { interfaceNumber: 0, alternate: { interfaceClass: 3, endpoints: [] } },
        {
          interfaceNumber: 1,
          alternate: {
            interfaceClass: 7,
            endpoints: [
              { endpointNumber: 2, direction: 'out', type: 'bulk' },
              ...(this.withIn
                ? [{ endpointNumber: 3, direction: 'in' as const, type: 'bulk' as const }]
                : []),
            ],
          },
        },
      ],
    };
  }
  async detachKernelDriver(n: number) {
    this.calls.push(`detachKernelDriver(${n})`);
  }
  async claimInterface(n: number) {
    this.calls.push(`claimInterface(${n})`);
  }
  async releaseInterface(n: number) {
    this.calls.push(`releaseInterface(${n})`);
  }
  async transferOut(ep: number, data: Uint8Array) {
    if (ep !== 2) throw new Error(`wrong OUT endpoint ${ep}`);
    if (this.hangOut) return new Promise<never>(() => undefined);
    this.out.push(...data);
    this.it.feed(data);
    return { status: 'ok', bytesWritten: data.length };
  }
  async transferIn(ep: number, length: number) {
    if (ep !== 3) throw new Error(`wrong IN endpoint ${ep}`);
    const b = this.replies.splice(0, length);
    return { status: 'ok', data: new DataView(Uint8Array.from(b).buffer) };
  }
  finish() {
    this.it.end();
  }
}

const fast = { connectTimeoutMs: 500, statusTimeoutMs: 300, writeTimeoutMs: 300, finishTimeoutMs: 300 };

describe('USB transport (WebUSB)', () => {
  it('parses usb:// addresses', () => {
    expect(parsePrinterUrl('usb://0416:5011')).toEqual({
      ok: true,
      value: { kind: 'usb', vendorId: 0x0416, productId: 0x5011 },
    });
    expect(parsePrinterUrl('usb://auto')).toEqual({ ok: true, value: { kind: 'usb' } });
    expect(parsePrinterUrl('usb://zz:1').ok).toBe(false);
  });

  it('prints a bill: claims the printer-class interface, bulk OUT in 512-byte chunks, status over bulk IN', async () => {
    const dev = new FakeUsbPrinter();
    const other = new FakeUsbPrinter(0x1234, 0x0001);
    const a = parsePrinterUrl('usb://0416:5011');
    if (!a.ok) throw new Error();
    const printer = new Printer(
      'usb://0416:5011',
      () => transportFor(a.value, { usbSource: async () => [other, dev] }),
      fast,
    );
    const { doc } = signedBill();
    const bytes = encodeBill(doc, profiles['generic-80']);
    const r = await printer.print(bytes);
    expect(r).toMatchObject({
      ok: true,
      value: { before: { state: 'ok' }, after: { state: 'ok' }, bytes: bytes.length },
    });
    expect(dev.calls).toEqual([
      'open',
      'selectConfiguration(1)',
      'detachKernelDriver(1)',
      'claimInterface(1)',
      'releaseInterface(1)',
      'close',
    ]);
    expect(other.calls).toEqual([]);
    // 4 status requests, the job, 4 status requests.
    expect(dev.out.length).toBe(12 + bytes.length + 12);
    expect(Buffer.from(dev.out.slice(12, 12 + bytes.length)).equals(Buffer.from(bytes))).toBe(true);
    dev.finish();
    expect(dev.pages[0]!.qrData).toEqual([doc.url]);
  });

  it('usb://auto picks the first device with a printer-class interface', async () => {
    const dev = new FakeUsbPrinter();
    await dev.selectConfiguration(1);
    const t = new UsbTransport(undefined, undefined, async () => [dev]);
    await t.open(500);
    await t.write(Uint8Array.of(0x10, 0x04, 0x01), 500);
    expect(Array.from(await t.read(1, 500))).toEqual([0x12]);
    await t.close();
  });

  it('reports paper end read over bulk IN, and refuses the job', async () => {
    const dev = new FakeUsbPrinter();
    dev.flags = { paperEnd: true };
    const printer = new Printer(
      'usb://0416:5011',
      () => new UsbTransport(0x0416, 0x5011, async () => [dev]),
      fast,
    );
    const r = await printer.print(Uint8Array.of(0x1b, 0x40));
    expect(r).toMatchObject({ ok: false, error: { code: 'PRINTER_PAPER_END' } });
    expect(dev.out.length).toBe(12);
  });

  it('no such device: unreachable; a stuck transfer: timeout; no IN endpoint: timeout — never a hang', async () => {
    const none = new Printer('usb://0416:5011', () => new UsbTransport(0x0416, 0x5011, async () => []), fast);
    expect(await none.status()).toMatchObject({ state: 'unreachable' });

    const stuck = new FakeUsbPrinter();
    stuck.hangOut = true;
    await stuck.selectConfiguration(1);
    const s = await new Printer(
      'usb://auto',
      () => new UsbTransport(undefined, undefined, async () => [stuck]),
      fast,
    ).status();
    expect(s).toMatchObject({ state: 'timeout' });

    const noIn = new FakeUsbPrinter(0x0416, 0x5011, false);
    await noIn.selectConfiguration(1);
    const r = await new Printer(
      'usb://auto',
      () => new UsbTransport(undefined, undefined, async () => [noIn]),
      fast,
    ).status();
    expect(r).toMatchObject({ state: 'timeout' });
  });
});
