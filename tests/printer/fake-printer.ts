// A printer below the driver that behaves as the Epson ESC/POS reference says, on a virtual clock. What
// it does with bytes in time (link, finite buffer, head and line speed, paper running out, real-time
// DLE EOT answered at once, GS ( H and GS r in order, XON/XOFF) is printer/mechanism.ts, the same model
// the demo's virtual printer runs on the wall clock. This file adds the virtual clock and a transport.
// The driver's clock and sleep are this printer's, so a test runs in no real time and nothing races.
import { PrinterMechanism, type MechanismOptions } from '../../printer/mechanism.ts';
import { TransportError, type Transport } from '../../printer/transports/types.ts';

export type FakePrinterOptions = MechanismOptions;

export class FakePrinter {
  /** Virtual time, ms. */
  t = 0;
  opens = 0;
  readonly m: PrinterMechanism;

  constructor(readonly o: FakePrinterOptions) {
    this.m = new PrinterMechanism(o);
  }

  now = (): number => this.t;
  sleep = async (ms: number): Promise<void> => {
    this.t += ms;
  };

  /** Bytes the head has printed by now. */
  printedBytes(): number {
    return this.m.printedBytes(this.t);
  }

  /** Bytes received over the link, whether printed yet or not. */
  receivedBytes(): number {
    return this.m.length;
  }

  /** XON/XOFF bytes sent so far. */
  get flowControlBytes(): number {
    return this.m.flowControlBytes;
  }

  paperOutAt(): number {
    return this.m.paperOutAt();
  }

  /** Paper loaded again now (see PrinterMechanism.loadPaper). */
  loadPaper(more?: number): void {
    this.m.loadPaper(this.t, more);
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
        const done = this.m.receive(data, this.t);
        if (done > deadline) {
          this.t = deadline;
          throw new TransportError('timeout', 'fake: write not taken in time');
        }
        this.t = Math.max(this.t, done);
      },
      read: async (n: number, timeoutMs: number) => {
        const deadline = this.t + timeoutMs;
        const r = this.m.replies.sort((a, b) => a.at - b.at);
        const ready = r.slice(0, n);
        if (ready.length < n || ready[n - 1]!.at > deadline) {
          this.t = deadline;
          throw new TransportError('timeout', 'fake: no reply in time');
        }
        r.splice(0, n);
        this.t = Math.max(this.t, ready[n - 1]!.at);
        return Uint8Array.from(ready.map((x) => x.byte));
      },
      close: async () => {},
    };
  }
}
