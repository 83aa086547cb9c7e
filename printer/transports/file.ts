// The Linux printer device file (/dev/usb/lp0, usblp). Opened non-blocking so a status read that the
// printer never answers cannot tie up a thread: reads poll until their deadline.
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
      this.fh = await withTimeout(
        fsp.open(this.path, constants.O_RDWR | constants.O_NONBLOCK | constants.O_APPEND),
        timeoutMs,
        `${this.url}: open`,
      );
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
