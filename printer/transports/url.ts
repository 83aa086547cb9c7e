// Printer addresses as URLs:
//   tcp://host:9100                      raw TCP (port defaults to 9100)
//   usb://VID:PID  or  usb://auto        USB printer class device (hex ids), through WebUSB
//   file:///dev/usb/lp0                  Linux printer device file
//   serial:///dev/rfcomm0?baud=115200    serial or Bluetooth SPP (baud defaults to 115200)
import { z } from 'zod';
import { fail, ok, type Result } from '../../protocol/result.ts';

export type PrinterAddress =
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'usb'; vendorId?: number; productId?: number }
  | { kind: 'file'; path: string }
  | { kind: 'serial'; path: string; baudRate: number };

const hex16 = z
  .string()
  .regex(/^[0-9a-fA-F]{1,4}$/)
  .transform((s) => parseInt(s, 16));
const port = z.coerce.number().int().min(1).max(65535);
const baud = z.coerce.number().int().min(300).max(4_000_000);

export function parsePrinterUrl(text: string): Result<PrinterAddress> {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return fail(
      'MALFORMED',
      `not a printer URL: ${text} (tcp://host:9100, usb://VID:PID, file:///dev/usb/lp0, serial:///dev/rfcomm0)`,
    );
  }
  switch (u.protocol) {
    case 'tcp:': {
      const p = port.safeParse(u.port || '9100');
      if (!u.hostname || !p.success) return fail('MALFORMED', `bad TCP printer address: ${text}`);
      return ok({ kind: 'tcp', host: u.hostname.replace(/^\[|\]$/g, ''), port: p.data });
    }
    case 'usb:': {
      const id = `${u.hostname}${u.port ? ':' + u.port : ''}`;
      if (id === 'auto' || id === '') return ok({ kind: 'usb' });
      const m = /^([0-9a-fA-F]{1,4}):([0-9a-fA-F]{1,4})$/.exec(id);
      if (!m)
        return fail('MALFORMED', `bad USB printer address (usb://VID:PID in hex, or usb://auto): ${text}`);
      return ok({ kind: 'usb', vendorId: hex16.parse(m[1]), productId: hex16.parse(m[2]) });
    }
    case 'file:': {
      const path = decodeURIComponent(u.pathname);
      if (!path.startsWith('/')) return fail('MALFORMED', `bad device file: ${text}`);
      return ok({ kind: 'file', path });
    }
    case 'serial:': {
      const path = decodeURIComponent(u.pathname);
      const b = baud.safeParse(u.searchParams.get('baud') ?? '115200');
      if (!path.startsWith('/') || !b.success)
        return fail('MALFORMED', `bad serial printer address: ${text}`);
      return ok({ kind: 'serial', path, baudRate: b.data });
    }
    default:
      return fail('MALFORMED', `unknown printer URL scheme ${u.protocol} in ${text}`);
  }
}
