// A printer below the driver that behaves as the Epson ESC/POS reference says, on a virtual clock:
// - bytes cross the link at `linkBytesPerSecond`; the printer holds at most `bufferBytes` not yet
//   processed (the link stalls while the buffer is full, as BUSY / XOFF make it);
// - the head processes bytes in order at `printBytesPerSecond`; after `paperBytes` processed the paper
//   is out and processing stops;
// - DLE EOT n is real-time: answered when it arrives, whatever is still in the buffer;
// - GS ( H fn 48 and GS r 1 are processed in order: answered when the head reaches them (never, once
//   the paper is out);
// - a status-less printer answers nothing; a real-time-only one ignores GS ( H and GS r;
// - with XON/XOFF flow control it sends XOFF when its buffer fills and XON when it has room again.
// The driver's clock and sleep are this printer's, so a test runs in no real time and nothing races.
import { encodeStatus } from '../../printer/status.ts';
import { TransportError, type Transport } from '../../printer/transports/types.ts';

export interface FakePrinterOptions {
  linkBytesPerSecond: number;
  printBytesPerSecond: number;
  bufferBytes: number;
  paperBytes?: number;
  status: 'realtime+inorder' | 'realtime' | 'none';
  xonXoff?: boolean;
}

interface Reply {
  at: number;
  byte: number;
}

/** Splits a stream into commands: [start, end) of each, and its kind. */
function commandAt(
  b: number[],
  i: number,
): { end: number; kind: 'dle-eot' | 'gs-r' | 'process-id' | 'data' } | undefined {
  const c = b[i]!;
  const need = (n: number): boolean => i + n <= b.length;
  if (c === 0x10) return need(3) ? { end: i + 3, kind: b[i + 1] === 0x04 ? 'dle-eot' : 'data' } : undefined;
  if (c === 0x1b) {
    if (!need(2)) return undefined;
    const f = b[i + 1]!;
    const n = f === 0x40 ? 2 : f === 0x42 ? 4 : 3;
    return need(n) ? { end: i + n, kind: 'data' } : undefined;
  }
  if (c === 0x1c) return need(2) ? { end: i + 2, kind: 'data' } : undefined;
  if (c === 0x1d) {
    if (!need(3)) return undefined;
    const f = b[i + 1]!;
    if (f === 0x72) return { end: i + 3, kind: 'gs-r' };
    if (f === 0x76) {
      if (!need(8)) return undefined;
      const n = 8 + (b[i + 4]! | (b[i + 5]! << 8)) * (b[i + 6]! | (b[i + 7]! << 8));
      return need(n) ? { end: i + n, kind: 'data' } : undefined;
    }
    if (f === 0x28) {
      if (!need(5)) return undefined;
      const n = 5 + (b[i + 3]! | (b[i + 4]! << 8));
      if (!need(n)) return undefined;
      return { end: i + n, kind: b[i + 2] === 0x48 && b[i + 5] === 48 ? 'process-id' : 'data' };
    }
    if (f === 0x56) {
      const m = b[i + 2]!;
      const n = m === 65 || m === 66 ? 4 : 3;
      return need(n) ? { end: i + n, kind: 'data' } : undefined;
    }
    return { end: i + 3, kind: 'data' };
  }
  return { end: i + 1, kind: 'data' };
}

export class FakePrinter {
  /** Virtual time, ms. */
  t = 0;
  opens = 0;
  /** Every byte received, with when it arrived and when the head processed it (Infinity: never). */
  private bytes: number[] = [];
  private arrived: number[] = [];
  private processed: number[] = [];
  private parsed = 0;
  private replies: Reply[] = [];
  private lastXoffAt = -1;

  constructor(readonly o: FakePrinterOptions) {}

  now = (): number => this.t;
  sleep = async (ms: number): Promise<void> => {
    this.t += ms;
  };

  /** Bytes the head has printed by now. */
  printedBytes(): number {
    return this.processed.filter((p) => p <= this.t).length;
  }

  /** Bytes received over the link, whether printed yet or not. */
  receivedBytes(): number {
    return this.bytes.length;
  }

  /** XON/XOFF bytes sent so far. */
  flowControlBytes = 0;

  paperOutAt(): number {
    const n = this.o.paperBytes;
    if (n === undefined || n >= this.processed.length) return Infinity;
    return this.processed[n - 1] ?? 0;
  }

  private receive(byte: number): void {
    const i = this.bytes.length;
    const linkMs = 1000 / this.o.linkBytesPerSecond;
    const prevArrival = this.arrived[i - 1] ?? this.t;
    // The link stalls while the buffer is full: byte i enters once byte i - bufferBytes is processed.
    const room = i >= this.o.bufferBytes ? this.processed[i - this.o.bufferBytes]! : -Infinity;
    const at = Math.max(this.t, prevArrival + linkMs, room);
    if (this.o.xonXoff && room > prevArrival + linkMs && room !== Infinity && this.lastXoffAt < prevArrival) {
      this.replies.push({ at: prevArrival, byte: 0x13 }, { at: room, byte: 0x11 });
      this.flowControlBytes += 2;
      this.lastXoffAt = room;
    }
    this.bytes.push(byte);
    this.arrived.push(at);
    const stopped = this.o.paperBytes !== undefined && i >= this.o.paperBytes;
    const prevDone = this.processed[i - 1] ?? -Infinity;
    this.processed.push(
      stopped || at === Infinity ? Infinity : Math.max(at, prevDone) + 1000 / this.o.printBytesPerSecond,
    );
    this.parse();
  }

  private parse(): void {
    while (this.parsed < this.bytes.length) {
      const c = commandAt(this.bytes, this.parsed);
      if (!c) return;
      const last = c.end - 1;
      if (this.o.status !== 'none') {
        if (c.kind === 'dle-eot') {
          const n = this.bytes[this.parsed + 2]!;
          const out = this.arrived[last]! >= this.paperOutAt();
          const s = encodeStatus({ paperEnd: out });
          const reply = [s.printer, s.offline, s.error, s.paper][n - 1] ?? 0x12;
          this.replies.push({ at: this.arrived[last]!, byte: reply });
        } else if (this.o.status === 'realtime+inorder' && c.kind === 'gs-r') {
          this.replies.push({ at: this.processed[last]!, byte: 0x00 });
        } else if (this.o.status === 'realtime+inorder' && c.kind === 'process-id') {
          const id = this.bytes.slice(this.parsed + 7, this.parsed + 11);
          for (const byte of [0x37, 0x22, ...id, 0x00])
            this.replies.push({ at: this.processed[last]!, byte });
        }
      }
      this.parsed = c.end;
    }
  }

  /**
   * Paper loaded again after it ran out: the head goes on with the bytes it held, as an Epson printer
   * resumes its buffer once paper is in, on a roll of `more` bytes (default: enough for anything).
   * In-order replies the stopped head never reached belonged to a job whose connection has closed:
   * they are dropped.
   */
  loadPaper(more?: number): void {
    const stuck = this.processed.indexOf(Infinity);
    const from = stuck === -1 ? this.processed.length : stuck;
    this.o.paperBytes = more === undefined ? undefined : from + more;
    let prev = this.t;
    for (let i = from; i < this.processed.length; i++) {
      if (this.o.paperBytes !== undefined && i >= this.o.paperBytes) break;
      prev = Math.max(prev, this.arrived[i]!) + 1000 / this.o.printBytesPerSecond;
      this.processed[i] = prev;
    }
    this.replies = this.replies.filter((r) => r.at !== Infinity);
  }

  transport(): Transport {
    return {
      url: 'fake://printer',
      chunkBytes: 256,
      open: async () => {
        this.opens++;
      },
      write: async (data: Uint8Array, timeoutMs: number) => {
        const deadline = this.t + timeoutMs;
        for (const b of data) this.receive(b);
        const done = this.arrived[this.arrived.length - 1]!;
        if (done > deadline) {
          this.t = deadline;
          throw new TransportError('timeout', 'fake: write not taken in time');
        }
        this.t = Math.max(this.t, done);
      },
      read: async (n: number, timeoutMs: number) => {
        const deadline = this.t + timeoutMs;
        this.replies.sort((a, b) => a.at - b.at);
        const ready = this.replies.slice(0, n);
        if (ready.length < n || ready[n - 1]!.at > deadline) {
          this.t = deadline;
          throw new TransportError('timeout', 'fake: no reply in time');
        }
        this.replies.splice(0, n);
        this.t = Math.max(this.t, ready[n - 1]!.at);
        return Uint8Array.from(ready.map((r) => r.byte));
      },
      close: async () => {},
    };
  }
}
