// A printer transport moves bytes; the driver (../driver.ts) does chunking, status and timeouts above it.
// Every method either settles within its timeout or throws a TransportError: nothing may hang the kiosk.

export type TransportErrorKind = 'unreachable' | 'timeout' | 'closed';

export class TransportError extends Error {
  constructor(
    readonly kind: TransportErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export interface Transport {
  /** The printer address, as a URL (no secrets in it). */
  readonly url: string;
  /** Bytes per write the link takes comfortably; the driver paces chunks of this size. */
  readonly chunkBytes: number;
  open(timeoutMs: number): Promise<void>;
  /** Writes one chunk; resolves when the link has taken it (drained). */
  write(data: Uint8Array, timeoutMs: number): Promise<void>;
  /** Reads exactly n bytes, or throws TransportError('timeout'). */
  read(n: number, timeoutMs: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** Races a promise against a timer; the timer never keeps the process alive. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TransportError('timeout', `${what}: no answer in ${ms} ms`)), ms);
    timer.unref?.();
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/**
 * Incoming bytes buffered for read(n): links deliver status replies as events (TCP, serial), and read
 * takes them in order.
 */
export class ByteQueue {
  private buf: number[] = [];
  private waiter: (() => void) | undefined;
  private failed: TransportError | undefined;

  push(data: Uint8Array): void {
    for (const b of data) this.buf.push(b);
    this.waiter?.();
  }

  fail(err: TransportError): void {
    this.failed = err;
    this.waiter?.();
  }

  clear(): void {
    this.buf = [];
  }

  async read(n: number, timeoutMs: number, what: string): Promise<Uint8Array> {
    const deadline = Date.now() + timeoutMs;
    while (this.buf.length < n) {
      if (this.failed) throw this.failed;
      const left = deadline - Date.now();
      if (left <= 0) throw new TransportError('timeout', `${what}: no answer in ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        timer.unref?.();
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = undefined;
    }
    return Uint8Array.from(this.buf.splice(0, n));
  }
}
