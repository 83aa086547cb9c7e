// Raw TCP (port 9100, "JetDirect"): the usual network thermal printer. Status replies come back on the
// same connection.
import net from 'node:net';
import { ByteQueue, TransportError, withTimeout, type Transport } from './types.ts';

export class TcpTransport implements Transport {
  readonly chunkBytes = 4096;
  readonly url: string;
  private socket: net.Socket | undefined;
  private incoming = new ByteQueue();

  constructor(
    readonly host: string,
    readonly port: number,
  ) {
    this.url = `tcp://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  async open(timeoutMs: number): Promise<void> {
    const s = new net.Socket();
    this.socket = s;
    s.setNoDelay(true);
    s.on('data', (d: Buffer) => this.incoming.push(d));
    s.on('error', () => undefined);
    s.on('close', () => this.incoming.fail(new TransportError('closed', `${this.url}: connection closed`)));
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        s.once('connect', resolve);
        s.once('error', (e) => reject(new TransportError('unreachable', `${this.url}: ${e.message}`)));
        s.connect(this.port, this.host);
      }),
      timeoutMs,
      `${this.url}: connect`,
    ).catch((e: unknown) => {
      s.destroy();
      throw e;
    });
  }

  async write(data: Uint8Array, timeoutMs: number): Promise<void> {
    const s = this.socket;
    if (!s || s.destroyed) throw new TransportError('closed', `${this.url}: not open`);
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        s.write(data, (e) =>
          e ? reject(new TransportError('closed', `${this.url}: ${e.message}`)) : resolve(),
        );
      }),
      timeoutMs,
      `${this.url}: write`,
    );
  }

  read(n: number, timeoutMs: number): Promise<Uint8Array> {
    return this.incoming.read(n, timeoutMs, `${this.url}: status`);
  }

  async close(): Promise<void> {
    const s = this.socket;
    this.socket = undefined;
    if (!s || s.destroyed) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        s.destroy();
        resolve();
      }, 1000);
      t.unref();
      s.end(() => {
        clearTimeout(t);
        s.destroy();
        resolve();
      });
    });
  }
}
