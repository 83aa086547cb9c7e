// Serial ports and Bluetooth SPP (/dev/rfcomm*, /dev/ttyUSB*) through serialport. Each chunk waits for
// drain, so a 9,600-baud link is paced by the port itself rather than overrunning the printer's buffer.
import { ByteQueue, TransportError, withTimeout, type Transport } from './types.ts';

export interface PortLike {
  open(cb: (err: Error | null) => void): void;
  write(data: Uint8Array, cb: (err: Error | null | undefined) => void): boolean;
  drain(cb: (err: Error | null) => void): void;
  close(cb: (err: Error | null) => void): void;
  on(ev: 'data', cb: (d: Buffer) => void): void;
  on(ev: 'close' | 'error', cb: (e?: Error) => void): void;
  readonly isOpen: boolean;
}

export class SerialTransport implements Transport {
  readonly url: string;
  readonly chunkBytes: number;
  private port: PortLike | undefined;
  private incoming = new ByteQueue();

  constructor(
    readonly path: string,
    readonly baudRate: number,
    private readonly makePort?: (path: string, baudRate: number) => PortLike,
  ) {
    this.url = `serial://${path}?baud=${baudRate}`;
    // About 50 ms of line time per chunk, at least 64 bytes.
    this.chunkBytes = Math.max(64, Math.floor(baudRate / 10 / 20));
  }

  async open(timeoutMs: number): Promise<void> {
    const port = this.makePort
      ? this.makePort(this.path, this.baudRate)
      : (new (await import('serialport')).SerialPort({
          path: this.path,
          baudRate: this.baudRate,
          autoOpen: false,
        }) as unknown as PortLike);
    this.port = port;
    port.on('data', (d: Buffer) => this.incoming.push(d));
    port.on('error', () => undefined);
    port.on('close', () => this.incoming.fail(new TransportError('closed', `${this.url}: port closed`)));
    await withTimeout(
      new Promise<void>((resolve, reject) =>
        port.open((e) =>
          e ? reject(new TransportError('unreachable', `${this.url}: ${e.message}`)) : resolve(),
        ),
      ),
      timeoutMs,
      `${this.url}: open`,
    );
  }

  async write(data: Uint8Array, timeoutMs: number): Promise<void> {
    const port = this.port;
    if (!port) throw new TransportError('closed', `${this.url}: not open`);
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        port.write(data, (e) => {
          if (e) return reject(new TransportError('closed', `${this.url}: ${e.message}`));
          port.drain((e2) =>
            e2 ? reject(new TransportError('closed', `${this.url}: ${e2.message}`)) : resolve(),
          );
        });
      }),
      timeoutMs,
      `${this.url}: write`,
    );
  }

  read(n: number, timeoutMs: number): Promise<Uint8Array> {
    return this.incoming.read(n, timeoutMs, `${this.url}: status`);
  }

  async close(): Promise<void> {
    const port = this.port;
    this.port = undefined;
    if (!port?.isOpen) return;
    await withTimeout(new Promise<void>((r) => port.close(() => r())), 2000, `${this.url}: close`).catch(
      () => undefined,
    );
  }
}
