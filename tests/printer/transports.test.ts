// Printer URLs, the device-file transport on a plain file, the serial transport on a fake port.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Printer } from '../../printer/driver.ts';
import { parsePrinterUrl, transportFor, transportForUrl } from '../../printer/transports/index.ts';
import { SerialTransport, type PortLike } from '../../printer/transports/serial.ts';
import { encodeStatus } from '../../printer/status.ts';
import { tempDir } from '../kiosk/helpers.ts';

describe('printer URLs', () => {
  it('parses each kind', () => {
    expect(parsePrinterUrl('tcp://192.168.1.50:9100')).toEqual({
      ok: true,
      value: { kind: 'tcp', host: '192.168.1.50', port: 9100 },
    });
    expect(parsePrinterUrl('tcp://printer.local')).toEqual({
      ok: true,
      value: { kind: 'tcp', host: 'printer.local', port: 9100 },
    });
    expect(parsePrinterUrl('file:///dev/usb/lp0')).toEqual({
      ok: true,
      value: { kind: 'file', path: '/dev/usb/lp0' },
    });
    expect(parsePrinterUrl('serial:///dev/rfcomm0?baud=9600')).toEqual({
      ok: true,
      value: { kind: 'serial', path: '/dev/rfcomm0', baudRate: 9600 },
    });
    expect(parsePrinterUrl('serial:///dev/ttyUSB0')).toMatchObject({ ok: true, value: { baudRate: 115200 } });
  });

  it('refuses what is not a printer address', () => {
    for (const bad of ['', 'lp0', 'http://x', 'tcp://:0', 'tcp://h:99999', 'serial:///dev/rfcomm0?baud=fast'])
      expect(parsePrinterUrl(bad)).toMatchObject({ ok: false, error: { code: 'MALFORMED' } });
  });
});

describe('device file transport', () => {
  it('writes the job to a character device; a status nobody answers times out', async () => {
    // /dev/null is a character device that takes every byte and never answers.
    const t = transportForUrl('file:///dev/null');
    if (!t.ok) throw new Error();
    await t.value.open(500);
    await t.value.write(Uint8Array.of(0x1b, 0x40, 0x41, 0x0a), 500);
    await expect(t.value.read(1, 200)).rejects.toMatchObject({ kind: 'timeout' });
    await t.value.close();
  });

  it('refuses a regular file, a folder and a symlink to a file, and leaves them as they were', async () => {
    const dir = tempDir();
    const f = path.join(dir, 'passwd');
    writeFileSync(f, 'root:x:0:0\n');
    const { symlinkSync } = await import('node:fs');
    symlinkSync(f, path.join(dir, 'lp0'));
    for (const target of [f, dir, path.join(dir, 'lp0')]) {
      const a = parsePrinterUrl(`file://${target}`);
      if (!a.ok) throw new Error();
      const p = new Printer(`file://${target}`, () => transportFor(a.value));
      const s = await p.status();
      expect(s).toMatchObject({ state: 'unreachable' });
      if (s.state === 'unreachable' && target !== dir) expect(s.detail).toContain('not a character device');
    }
    expect(readFileSync(f, 'utf8')).toBe('root:x:0:0\n');
    rmSync(dir, { recursive: true, force: true });
  });

  it('a missing device is unreachable', async () => {
    const a = parsePrinterUrl('file:///nonexistent/lp9');
    if (!a.ok) throw new Error();
    const p = new Printer('file:///nonexistent/lp9', () => transportFor(a.value));
    expect(await p.status()).toMatchObject({ state: 'unreachable' });
  });
});

describe('serial transport', () => {
  it('writes in chunks sized to the baud rate, each drained before the next; reads status replies', async () => {
    const writes: number[] = [];
    let drains = 0;
    let onData: (d: Buffer) => void = () => undefined;
    const port = {
      isOpen: false,
      open(cb: (e: Error | null) => void) {
        this.isOpen = true;
        cb(null);
      },
      write(d: Uint8Array, cb: (e?: Error | null) => void) {
        writes.push(d.length);
        // The fake printer answers DLE EOT n at once, healthy.
        if (d.length === 3 && d[0] === 0x10 && d[1] === 0x04) {
          const s = encodeStatus({ nearEnd: true });
          setImmediate(() => onData(Buffer.of([s.printer, s.offline, s.error, s.paper][d[2]! - 1]!)));
        }
        cb(null);
        return true;
      },
      drain(cb: (e: Error | null) => void) {
        drains++;
        cb(null);
      },
      close(cb: (e: Error | null) => void) {
        this.isOpen = false;
        cb(null);
      },
      on(ev: string, cb: (d: Buffer) => void) {
        if (ev === 'data') onData = cb;
      },
    };
    const t = () => new SerialTransport('/dev/rfcomm0', 9600, () => port as unknown as PortLike);
    expect(t().chunkBytes).toBe(64);
    expect(new SerialTransport('/dev/rfcomm0', 115200).chunkBytes).toBe(576);
    const r = await new Printer('serial:///dev/rfcomm0?baud=9600', t).print(new Uint8Array(200));
    expect(r).toMatchObject({
      ok: true,
      value: { before: { state: 'near-end' }, after: { state: 'near-end' } },
    });
    expect(writes).toEqual([3, 3, 3, 3, 64, 64, 64, 8, 3, 3, 3, 3]);
    expect(drains).toBe(writes.length);
    expect(port.isOpen).toBe(false);
  });
});
