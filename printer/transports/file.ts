// The Linux printer device file (/dev/usb/lp0, usblp). Opened non-blocking so a status read that the
// printer never answers cannot tie up a thread: reads poll until their deadline. Only a character device
// is accepted: checked on the opened descriptor (no race with a rename), before a byte is written, so
// `file:///etc/passwd` is refused and left as it was. Never created, never appended to.
import { constants, promises as fsp } from 'node:fs';
import { TransportError, withTimeout, type Transport } from './types.ts';

export class FileTransport implements Transport {
  readonly chunkBytes = 1024;
  readonly url: string;
  private fh: fsp.FileHandle | undefined;

  constructor(readonly path: string) {
    this.url = `file://${path}`;
  }

  async open(timeoutMs: number): Promise<void> {
    try {
      const fh = await withTimeout(
        fsp.open(this.path, constants.O_RDWR | constants.O_NONBLOCK | constants.O_NOCTTY),
        timeoutMs,
        `${this.url}: open`,
      );
      const st = await fh.stat().catch(() => undefined);
      if (!st?.isCharacterDevice()) {
        await fh.close().catch(() => undefined);
        throw new TransportError(
          'unreachable',
          `${this.url}: not a character device; a file:// printer is a device such as /dev/usb/lp0`,
        );
      }
      this.fh = fh;
    } catch (e) {
      if (e instanceof TransportError) throw e;
      throw new TransportError('unreachable', `${this.url}: ${(e as Error).message}`);
    }
  }

  async write(data: Uint8Array, timeoutMs: number): Promise<void> {
    if (!this.fh) throw new TransportError('closed', `${this.url}: not open`);
    let off = 0;
    const deadline = Date.now() + timeoutMs;
    while (off < data.length) {
      try {
        const { bytesWritten } = await this.fh.write(data, off, data.length - off);
        off += bytesWritten;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') {
          throw new TransportError('closed', `${this.url}: ${(e as Error).message}`);
        }
        if (Date.now() > deadline)
          throw new TransportError('timeout', `${this.url}: write: printer not taking data`);
        await delay(10);
      }
    }
  }

  async read(n: number, timeoutMs: number): Promise<Uint8Array> {
    if (!this.fh) throw new TransportError('closed', `${this.url}: not open`);
    const out = new Uint8Array(n);
    let got = 0;
    const deadline = Date.now() + timeoutMs;
    while (got < n) {
      try {
        const { bytesRead } = await this.fh.read(out, got, n - got, null);
        got += bytesRead;
        if (bytesRead > 0) continue;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') {
          throw new TransportError('closed', `${this.url}: ${(e as Error).message}`);
        }
      }
      if (Date.now() >= deadline)
        throw new TransportError('timeout', `${this.url}: status: no answer in ${timeoutMs} ms`);
      await delay(10);
    }
    return out;
  }

  async close(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close();
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
