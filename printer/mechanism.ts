// How a printer takes a job in time, as the Epson ESC/POS reference describes it: the one model behind
// the fake printers of the tests (tests/printer/fake-printer.ts, on a virtual clock) and the virtual
// printer of the demo (virtual/server.ts, on the wall clock), so the demo shows what the tests prove.
// - Bytes cross the link at `linkBytesPerSecond`; the printer holds at most `bufferBytes` not yet
//   processed, and the link stalls while the buffer is full (BUSY, or XOFF with XON/XOFF flow control:
//   XOFF when it fills, XON when it has room).
// - The head processes bytes in order: `printBytesPerSecond` per byte, and each command that moves the
//   paper also takes its dot rows at `lineDotsPerSecond` (a line of text 30 rows, an image its height).
// - After `paperBytes` processed bytes the paper is out: processing stops until paper is loaded.
// - DLE EOT n is real-time: answered when it arrives, whatever is still in the buffer. GS ( H fn 48
//   and GS r 1 are processed in order: answered when the head reaches them, never once it stopped.
// - `status`: a status-less printer answers nothing; a real-time-only one ignores GS ( H and GS r.
// Times are milliseconds on whatever clock the caller uses; nothing here reads a clock or sleeps.
import type { StatusKind } from './profiles.ts';
import { qrVersionForBytes } from './qr.ts';
import { encodeStatus } from './status.ts';

export interface MechanismOptions {
  linkBytesPerSecond: number;
  bufferBytes: number;
  /** Head speed per byte processed (commands, text, image data). */
  printBytesPerSecond: number;
  /** Paper feed speed, dot rows a second: the time a line takes to print. Undefined: no line time. */
  lineDotsPerSecond?: number;
  /** Paper runs out after this many bytes are processed (a roll ending mid-job). */
  paperBytes?: number;
  status: StatusKind;
  xonXoff?: boolean;
}

export interface MechanismReply {
  /** When the byte leaves the printer (Infinity: never, the head stopped before it). */
  at: number;
  byte: number;
  /** An in-order reply (GS r, GS ( H): it waits for the head. */
  inOrder?: boolean;
}

export type CommandKind = 'dle-eot' | 'gs-r' | 'process-id' | 'data';

/** One command of the stream: bytes [start, end), its kind and the dot rows it feeds. */
export interface MechanismCommand {
  start: number;
  end: number;
  kind: CommandKind;
  rows: number;
}

const LINE_DOTS = 30;

/**
 * Splits an ESC/POS stream into commands (Epson ESC/POS reference: the lengths of the commands a
 * receipt uses; any other ESC or GS command counts as three bytes, as the interpreter consumes them).
 * Returns undefined while the command at `i` is incomplete. `height` is the GS ! height multiplier in
 * force, for the rows a line feed takes.
 */
export function commandAt(
  b: ArrayLike<number>,
  i: number,
  len: number,
  st: { height: number; qrModule: number; qrSide: number },
): MechanismCommand | undefined {
  const c = b[i]!;
  const need = (n: number): boolean => i + n <= len;
  const cmd = (n: number, kind: CommandKind = 'data', rows = 0): MechanismCommand => ({
    start: i,
    end: i + n,
    kind,
    rows,
  });
  if (c === 0x0a) return cmd(1, 'data', LINE_DOTS + 24 * (st.height - 1));
  if (c === 0x10) return need(3) ? cmd(3, b[i + 1] === 0x04 ? 'dle-eot' : 'data') : undefined;
  if (c === 0x1b) {
    if (!need(2)) return undefined;
    const f = b[i + 1]!;
    if (f === 0x40) return cmd(2);
    if (f === 0x2a) {
      // ESC * m nL nH d1..dk: a bit image in the line; m 0/1 8 dots tall (nL + nH·256 bytes), 32/33 24.
      if (!need(5)) return undefined;
      const cols = b[i + 3]! | (b[i + 4]! << 8);
      const n = 5 + cols * (b[i + 2]! >= 32 ? 3 : 1);
      return need(n) ? cmd(n) : undefined;
    }
    const n = f === 0x42 ? 4 : 3;
    if (!need(n)) return undefined;
    if (f === 0x64) return cmd(n, 'data', b[i + 2]! * LINE_DOTS);
    if (f === 0x4a) return cmd(n, 'data', b[i + 2]!);
    return cmd(n);
  }
  if (c === 0x1c) return need(2) ? cmd(2) : undefined;
  if (c === 0x1d) {
    if (!need(3)) return undefined;
    const f = b[i + 1]!;
    if (f === 0x72) return cmd(3, 'gs-r');
    if (f === 0x21) {
      st.height = (b[i + 2]! & 0x0f) + 1;
      return cmd(3);
    }
    if (f === 0x76) {
      if (!need(8)) return undefined;
      const y = b[i + 6]! | (b[i + 7]! << 8);
      const n = 8 + (b[i + 4]! | (b[i + 5]! << 8)) * y;
      return need(n) ? cmd(n, 'data', y * (b[i + 3]! & 2 ? 2 : 1)) : undefined;
    }
    if (f === 0x28) {
      if (!need(5)) return undefined;
      const n = 5 + (b[i + 3]! | (b[i + 4]! << 8));
      if (!need(n)) return undefined;
      if (b[i + 2] === 0x48 && b[i + 5] === 48) return cmd(n, 'process-id');
      if (b[i + 2] === 0x6b && b[i + 5] === 49) {
        const fn = b[i + 6];
        if (fn === 67) st.qrModule = b[i + 7]!;
        // Store: the side of a byte-mode symbol at level M holding the data (an upper bound).
        if (fn === 80) st.qrSide = (qrVersionForBytes(Math.max(1, n - 8), 'M') ?? 40) * 4 + 17;
        if (fn === 81) return cmd(n, 'data', st.qrSide * st.qrModule);
      }
      return cmd(n);
    }
    if (f === 0x56) {
      const m = b[i + 2]!;
      const n = m === 65 || m === 66 ? 4 : 3;
      return need(n) ? cmd(n, 'data', n === 4 ? b[i + 3]! : 0) : undefined;
    }
    return cmd(3);
  }
  return cmd(1);
}

/** The printer's side of a job in time (see the file comment). One instance per connection or roll. */
export class PrinterMechanism {
  /** Every byte received; when it entered the buffer and when the head processed it (Infinity: never). */
  private bytes: number[] = [];
  private arrived: number[] = [];
  private processed: number[] = [];
  private parsed = 0;
  private parseState = { height: 1, qrModule: 6, qrSide: 0 };
  /** Replies not yet taken, in no particular order. */
  replies: MechanismReply[] = [];
  /** Commands parsed so far, in order (a user may drop those it is done with from the front). */
  readonly commands: MechanismCommand[] = [];
  private lastXoffAt = -1;
  /** XON/XOFF bytes sent so far. */
  flowControlBytes = 0;

  constructor(
    readonly o: MechanismOptions,
    /**
     * The reply byte to DLE EOT n arriving at `at`, with the paper already out or not (default: a
     * healthy printer, paper end as modelled).
     */
    private readonly realtime: (n: number, paperOut: boolean) => number = (n, paperOut) => {
      const s = encodeStatus({ paperEnd: paperOut });
      return [s.printer, s.offline, s.error, s.paper][n - 1] ?? 0x12;
    },
    /** The reply byte to GS r 1 once the head reaches it (default 0: paper present). */
    private readonly paperSensor: () => number = () => 0,
  ) {}

  get length(): number {
    return this.bytes.length;
  }

  arrivedAt(i: number): number {
    return this.arrived[i]!;
  }

  processedAt(i: number): number {
    return this.processed[i]!;
  }

  /** Bytes the head has processed by time t. */
  printedBytes(t: number): number {
    // Processing times never decrease (the head works in order; a stopped head's are all Infinity).
    let lo = 0;
    let hi = this.processed.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.processed[mid]! <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** When the paper ran out (Infinity: it has not, or not yet in what was received). */
  paperOutAt(): number {
    const n = this.o.paperBytes;
    if (n === undefined || n >= this.processed.length) return Infinity;
    return this.processed[n - 1] ?? 0;
  }

  /** The received bytes [start, end). */
  slice(start: number, end: number): Uint8Array {
    return Uint8Array.from(this.bytes.slice(start, end));
  }

  /**
   * The head stops at `now` (paper taken out, cover opened, put offline): what it had not processed
   * stays in the buffer, and in-order replies it had not reached never come (until loadPaper).
   */
  halt(now: number): void {
    const done = this.printedBytes(now);
    this.o.paperBytes = done;
    for (let i = done; i < this.processed.length; i++) this.processed[i] = Infinity;
    for (const r of this.replies) if (r.inOrder && r.at > now) r.at = Infinity;
  }

  /** Takes bytes that reach the printer's end of the link from time `now`; returns when the last is in. */
  receive(data: ArrayLike<number>, now: number): number {
    for (let k = 0; k < data.length; k++) this.receiveByte(data[k]!, now);
    return this.arrived[this.arrived.length - 1] ?? now;
  }

  private receiveByte(byte: number, now: number): void {
    const i = this.bytes.length;
    const linkMs = 1000 / this.o.linkBytesPerSecond;
    const prevArrival = this.arrived[i - 1] ?? now;
    // The link stalls while the buffer is full: byte i enters once byte i - bufferBytes is processed.
    const room = i >= this.o.bufferBytes ? this.processed[i - this.o.bufferBytes]! : -Infinity;
    const at = Math.max(now, prevArrival + linkMs, room);
    if (this.o.xonXoff && room > prevArrival + linkMs && room !== Infinity && this.lastXoffAt < prevArrival) {
      this.replies.push({ at: prevArrival, byte: 0x13 }, { at: room, byte: 0x11 });
      this.flowControlBytes += 2;
      this.lastXoffAt = room;
    }
    this.bytes.push(byte);
    this.arrived.push(at);
    this.processed.push(this.headTime(i, 0));
    this.parse();
  }

  /** When the head is done with byte i, given the dot rows its command feeds. */
  private headTime(i: number, rows: number): number {
    const stopped = this.o.paperBytes !== undefined && i >= this.o.paperBytes;
    const at = this.arrived[i]!;
    if (stopped || at === Infinity) return Infinity;
    const prevDone = this.processed[i - 1] ?? -Infinity;
    const line = this.o.lineDotsPerSecond ? (rows * 1000) / this.o.lineDotsPerSecond : 0;
    return Math.max(at, prevDone) + 1000 / this.o.printBytesPerSecond + line;
  }

  private parse(): void {
    while (this.parsed < this.bytes.length) {
      const c = commandAt(this.bytes, this.parsed, this.bytes.length, this.parseState);
      if (!c) return;
      const last = c.end - 1;
      // The paper a command feeds is printed when the head finishes it: its last byte carries the time.
      if (c.rows > 0) this.processed[last] = this.headTime(last, c.rows);
      this.commands.push(c);
      if (this.o.status !== 'none') {
        if (c.kind === 'dle-eot') {
          const at = this.arrived[last]!;
          this.replies.push({ at, byte: this.realtime(this.bytes[c.start + 2]!, at >= this.paperOutAt()) });
        } else if (this.o.status === 'realtime+inorder' && c.kind === 'gs-r') {
          this.replies.push({ at: this.processed[last]!, byte: this.paperSensor(), inOrder: true });
        } else if (this.o.status === 'realtime+inorder' && c.kind === 'process-id') {
          const id = this.bytes.slice(c.start + 7, c.start + 11);
          for (const byte of [0x37, 0x22, ...id, 0x00])
            this.replies.push({ at: this.processed[last]!, byte, inOrder: true });
        }
      }
      this.parsed = c.end;
    }
  }

  /**
   * Paper loaded again at `now` after it ran out: the head goes on with the bytes it held, as an Epson
   * printer resumes its buffer once paper is in, on a roll of `more` bytes (default: enough for
   * anything). In-order replies the stopped head never reached belonged to a job whose connection has
   * closed: they are dropped.
   */
  loadPaper(now: number, more?: number): void {
    const stuck = this.processed.indexOf(Infinity);
    const from = stuck === -1 ? this.processed.length : stuck;
    this.o.paperBytes = more === undefined ? undefined : from + more;
    let prev = now;
    const rowsAt = new Map(this.commands.map((c) => [c.end - 1, c.rows]));
    for (let i = from; i < this.processed.length; i++) {
      if (this.o.paperBytes !== undefined && i >= this.o.paperBytes) break;
      const rows = rowsAt.get(i) ?? 0;
      const line = this.o.lineDotsPerSecond ? (rows * 1000) / this.o.lineDotsPerSecond : 0;
      prev = Math.max(prev, this.arrived[i]!) + 1000 / this.o.printBytesPerSecond + line;
      this.processed[i] = prev;
    }
    this.replies = this.replies.filter((r) => r.at !== Infinity);
  }

  /** Removes and returns the replies due by `t`, in the order they leave the printer. */
  takeDue(t: number): number[] {
    this.replies.sort((a, b) => a.at - b.at);
    let n = 0;
    while (n < this.replies.length && this.replies[n]!.at <= t) n++;
    return this.replies.splice(0, n).map((r) => r.byte);
  }

  /** When the next reply leaves (Infinity: none pending that ever will). */
  nextReplyAt(): number {
    let t = Infinity;
    for (const r of this.replies) t = Math.min(t, r.at);
    return t;
  }
}
