// USB printers through the `usb` package's WebUSB interface: the printer class interface (7), bulk OUT
// for data, bulk IN for status replies. On Linux the kernel's usblp driver holds the interface, so it is
// detached first where the device offers that.
import { TransportError, withTimeout, type Transport } from './types.ts';

/** The few WebUSB device members this transport uses (an in-memory fake implements them in tests). */
export interface UsbEndpointLike {
  endpointNumber: number;
  direction: 'in' | 'out';
  type: 'bulk' | 'interrupt' | 'isochronous';
  packetSize?: number;
}
export interface UsbInterfaceLike {
  interfaceNumber: number;
  alternate: { interfaceClass: number; endpoints: UsbEndpointLike[] };
}
export interface UsbDeviceLike {
  vendorId: number;
  productId: number;
  opened: boolean;
  configuration: { configurationValue: number; interfaces: UsbInterfaceLike[] } | null | undefined;
  open(): Promise<void>;
  close(): Promise<void>;
  selectConfiguration(value: number): Promise<void>;
  claimInterface(n: number): Promise<void>;
  releaseInterface(n: number): Promise<void>;
  transferOut(ep: number, data: Uint8Array): Promise<{ status: string; bytesWritten: number }>;
  transferIn(ep: number, length: number): Promise<{ status: string; data?: DataView | undefined }>;
  detachKernelDriver?(n: number): Promise<void>;
}

export const PRINTER_CLASS = 7;

/** Lists the attached USB devices; the default uses the `usb` package (loaded only when needed). */
export type UsbDeviceSource = () => Promise<UsbDeviceLike[]>;

const defaultSource: UsbDeviceSource = async () => {
  const { WebUSB } = await import('usb');
  const webusb = new WebUSB({ allowAllDevices: true });
  return (await webusb.getDevices()) as unknown as UsbDeviceLike[];
};

function hex4(n: number): string {
  return n.toString(16).padStart(4, '0');
}

export class UsbTransport implements Transport {
  readonly chunkBytes = 512;
  readonly url: string;
  private device: UsbDeviceLike | undefined;
  private iface = -1;
  private epOut = -1;
  private epIn = -1;
  private pending: number[] = [];

  constructor(
    readonly vendorId?: number,
    readonly productId?: number,
    private readonly source: UsbDeviceSource = defaultSource,
  ) {
    this.url = vendorId === undefined ? 'usb://auto' : `usb://${hex4(vendorId)}:${hex4(productId ?? 0)}`;
  }

  private static printerInterface(d: UsbDeviceLike): UsbInterfaceLike | undefined {
    return d.configuration?.interfaces.find((i) => i.alternate.interfaceClass === PRINTER_CLASS);
  }

  async open(timeoutMs: number): Promise<void> {
    await withTimeout(this.doOpen(), timeoutMs, `${this.url}: open`).catch(async (e: unknown) => {
      await this.close().catch(() => undefined);
      if (e instanceof TransportError) throw e;
      throw new TransportError('unreachable', `${this.url}: ${(e as Error).message}`);
    });
  }

  private async doOpen(): Promise<void> {
    const devices = await this.source();
    const d =
      this.vendorId === undefined
        ? devices.find((x) => UsbTransport.printerInterface(x) !== undefined)
        : devices.find((x) => x.vendorId === this.vendorId && x.productId === this.productId);
    if (!d) throw new TransportError('unreachable', `${this.url}: no such USB printer attached`);
    this.device = d;
    if (!d.opened) await d.open();
    if (!d.configuration) await d.selectConfiguration(1);
    const iface = UsbTransport.printerInterface(d);
    if (!iface) throw new TransportError('unreachable', `${this.url}: device has no printer-class interface`);
    const out = iface.alternate.endpoints.find((e) => e.direction === 'out' && e.type === 'bulk');
    const inp = iface.alternate.endpoints.find((e) => e.direction === 'in' && e.type === 'bulk');
    if (!out)
      throw new TransportError('unreachable', `${this.url}: printer interface has no bulk OUT endpoint`);
    // usblp may hold the interface; detaching fails harmlessly when no kernel driver is attached.
    await d.detachKernelDriver?.(iface.interfaceNumber).catch(() => undefined);
    await d.claimInterface(iface.interfaceNumber);
    this.iface = iface.interfaceNumber;
    this.epOut = out.endpointNumber;
    this.epIn = inp?.endpointNumber ?? -1;
  }

  async write(data: Uint8Array, timeoutMs: number): Promise<void> {
    const d = this.device;
    if (!d || this.epOut < 0) throw new TransportError('closed', `${this.url}: not open`);
    const r = await withTimeout(d.transferOut(this.epOut, data), timeoutMs, `${this.url}: write`);
    if (r.status !== 'ok' || r.bytesWritten !== data.length) {
      throw new TransportError(
        'closed',
        `${this.url}: transfer ${r.status}, ${r.bytesWritten}/${data.length} bytes`,
      );
    }
  }

  async read(n: number, timeoutMs: number): Promise<Uint8Array> {
    const d = this.device;
    if (!d) throw new TransportError('closed', `${this.url}: not open`);
    if (this.epIn < 0) throw new TransportError('timeout', `${this.url}: no bulk IN endpoint for status`);
    const deadline = Date.now() + timeoutMs;
    while (this.pending.length < n) {
      const left = deadline - Date.now();
      if (left <= 0) throw new TransportError('timeout', `${this.url}: status: no answer in ${timeoutMs} ms`);
      const r = await withTimeout(d.transferIn(this.epIn, 64), left, `${this.url}: status`);
      if (r.status !== 'ok') throw new TransportError('closed', `${this.url}: transfer in ${r.status}`);
      const v = r.data;
      if (v) for (let i = 0; i < v.byteLength; i++) this.pending.push(v.getUint8(i));
      if (!v || v.byteLength === 0) await new Promise((res) => setTimeout(res, 10));
    }
    return Uint8Array.from(this.pending.splice(0, n));
  }

  async close(): Promise<void> {
    const d = this.device;
    this.device = undefined;
    if (!d) return;
    if (this.iface >= 0) await d.releaseInterface(this.iface).catch(() => undefined);
    if (d.opened) await d.close().catch(() => undefined);
  }
}
