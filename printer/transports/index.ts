// Opens a transport for a printer URL.
import { ok, type Result } from '../../protocol/result.ts';
import { FileTransport } from './file.ts';
import { SerialTransport } from './serial.ts';
import { TcpTransport } from './tcp.ts';
import type { Transport } from './types.ts';
import { parsePrinterUrl, type PrinterAddress } from './url.ts';
import { UsbTransport, type UsbDeviceSource } from './usb.ts';

export * from './types.ts';
export * from './url.ts';
export { TcpTransport, FileTransport, SerialTransport, UsbTransport };

export interface TransportOptions {
  usbSource?: UsbDeviceSource;
}

export function transportFor(a: PrinterAddress, o: TransportOptions = {}): Transport {
  switch (a.kind) {
    case 'tcp':
      return new TcpTransport(a.host, a.port);
    case 'usb':
      return new UsbTransport(a.vendorId, a.productId, o.usbSource);
    case 'file':
      return new FileTransport(a.path);
    case 'serial':
      return new SerialTransport(a.path, a.baudRate);
  }
}

export function transportForUrl(url: string, o: TransportOptions = {}): Result<Transport> {
  const a = parsePrinterUrl(url);
  return a.ok ? ok(transportFor(a.value, o)) : a;
}
