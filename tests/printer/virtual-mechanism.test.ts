// The demo's virtual printer takes jobs in time by the same model as the tests' fake printers
// (printer/mechanism.ts, after the Epson ESC/POS reference): over a real TCP connection, on a manual
// clock, DLE EOT is answered on arrival while the head is still printing, GS r only when the head
// reaches it, the paper runs out mid-job and the rest prints once paper is loaded; the replies come at
// the very times the fake printer gives for the same bytes. Then the kiosk's driver against it on the
// wall clock: a roll that ends mid-bill is not a printed bill.
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createKioskPrinting } from '../../main/printing/printing.ts';
import * as cmd from '../../printer/commands.ts';
import { encodeBill } from '../../printer/documents/index.ts';
import { profiles, withOverrides } from '../../printer/profiles.ts';
import { decodeQrFromPng } from '../../printer/qr-decode.ts';
import {
  mechanismFor,
  startVirtualPrinter,
  type PrinterClock,
  type VirtualPrinter,
} from '../../printer/virtual/server.ts';
import { fixture, type Fixture } from '../kiosk/helpers.ts';
import { FakePrinter } from './fake-printer.ts';
import { signedBill } from './fixtures.ts';
import { RED_LIGHT } from './helpers.ts';

/** A clock whose timers run only when the test advances it; says when a timer is set. */
class ManualTimers implements PrinterClock {
  t = 0;
  private timers: { at: number; fn: () => void; live: boolean }[] = [];
  private onSet: (() => void)[] = [];
  now = (): number => this.t;
  setTimer(fn: () => void, ms: number): { clear(): void } {
    const timer = { at: this.t + ms, fn, live: true };
    this.timers.push(timer);
    for (const w of this.onSet.splice(0)) w();
    return { clear: () => void (timer.live = false) };
  }
  /** Resolves the next time the printer sets a timer (it has taken data and has something to do). */
  nextSet(): Promise<void> {
    return new Promise((r) => this.onSet.push(r));
  }
  /** Moves time to t, running every timer due on the way in order. */
  advanceTo(t: number): void {
    for (;;) {
      this.timers = this.timers.filter((x) => x.live);
      const due = this.timers.filter((x) => x.at <= t).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      due.live = false;
      this.t = Math.max(this.t, due.at);
      due.fn();
    }
    this.t = t;
  }
}

/** A raw client: what it sends and every byte the printer answers. */
async function client(port: number): Promise<{ s: net.Socket; got: number[]; next: () => Promise<void> }> {
  const s = net.connect(port, '127.0.0.1');
  await new Promise<void>((r) => s.once('connect', () => r()));
  const got: number[] = [];
  let waiting: (() => void)[] = [];
  s.on('data', (d: Buffer) => {
    got.push(...d);
    for (const w of waiting) w();
    waiting = [];
  });
  return { s, got, next: () => new Promise((r) => waiting.push(r)) };
}

const profile = profiles['cn80'];
let vp: VirtualPrinter | undefined;
let f: Fixture | undefined;
afterEach(async () => {
  await vp?.close();
  vp = undefined;
  f?.cleanup();
  f = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const dirs: string[] = [];

async function demoPrinter(clock?: ManualTimers, over: Partial<ReturnType<typeof mechanismFor>> = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vp-mech-'));
  dirs.push(dir);
  vp = await startVirtualPrinter({
    outDir: dir,
    dots: profile.dots,
    mechanism: { ...mechanismFor(profile), ...over },
    ...(clock ? { clock } : {}),
  });
  return vp;
}

/** Sends bytes and waits until the printer has taken all of them (it sets a timer for each chunk). */
async function sendAll(v: VirtualPrinter, clock: ManualTimers, c: net.Socket, bytes: Uint8Array) {
  const before = v.connections.reduce((a, x) => a + x.bytes, 0);
  c.write(bytes);
  while (v.connections.reduce((a, x) => a + x.bytes, 0) < before + bytes.length) await clock.nextSet();
}

describe('virtual printer mechanism (the demo printer)', () => {
  const { doc } = signedBill();
  const job = encodeBill(doc, profile);
  const tail = Uint8Array.of(...cmd.statusRequest(1), ...cmd.paperStatusRequest());
  const stream = Uint8Array.from([...job, ...tail]);

  it('DLE EOT answered on arrival while the head still prints; GS r when the head gets there; same times as the fake printer', async () => {
    const clock = new ManualTimers();
    const v = await demoPrinter(clock);
    const c = await client(v.port);
    await sendAll(v, clock, c.s, stream);

    // The fake printer of the tests, same model and options, same bytes at time 0.
    const fp = new FakePrinter(mechanismFor(profile));
    fp.m.receive(stream, 0);
    const times = fp.m.replies.map((r) => r.at).sort((a, b) => a - b);
    expect(times).toHaveLength(2);
    const [realtimeAt, inOrderAt] = times as [number, number];
    // The link takes the job in well before the head has printed it (line speed).
    expect(inOrderAt).toBeGreaterThan(realtimeAt + 500);

    clock.advanceTo(realtimeAt - 0.01);
    expect(c.got).toEqual([]);
    let more = c.next();
    clock.advanceTo(realtimeAt);
    await more;
    expect(c.got).toEqual([0x12]); // DLE EOT 1: online, nothing printed yet
    expect(v.pages).toHaveLength(0);

    clock.advanceTo(inOrderAt - 0.01);
    expect(c.got).toEqual([0x12]); // GS r not answered before the head reaches it
    more = c.next();
    clock.advanceTo(inOrderAt);
    await more;
    expect(c.got).toEqual([0x12, 0x00]);

    const page = v.waitForPages(1);
    c.s.end();
    const pages = await page;
    expect(decodeQrFromPng(pages[0]!.file)).toBe(doc.url);
  });

  it('paper runs out mid-job: DLE EOT says paper end, GS r never comes, the rest prints once paper is loaded', async () => {
    const clock = new ManualTimers();
    const v = await demoPrinter(clock);
    v.set({ paperEndAfterBytes: 600 });
    const c = await client(v.port);
    await sendAll(v, clock, c.s, job);
    clock.advanceTo(60_000);
    expect(v.state.paperEnd).toBe(true);
    const more = c.next();
    await sendAll(v, clock, c.s, Uint8Array.of(...cmd.statusRequest(4), ...cmd.paperStatusRequest()));
    clock.advanceTo(61_000);
    await more;
    expect(c.got).toHaveLength(1); // only DLE EOT 4 answered
    expect(c.got[0]! & 0x60).toBe(0x60); // roll paper end
    expect(v.pages).toHaveLength(0);

    const page = v.waitForPages(1);
    c.s.end();
    await new Promise((r) => c.s.once('close', r));
    v.set({ paperEnd: false });
    clock.advanceTo(120_000);
    const pages = await page;
    expect(decodeQrFromPng(pages[0]!.file)).toBe(doc.url);
  });

  it('the kiosk driver against it (wall clock): a roll that ends mid-bill is not printed; loading paper prints the rest of the buffer', async () => {
    // A quick printer, so the wall-clock test is short: same model, faster link and head.
    const fast = withOverrides(profile, {
      link: { bytesPerSecond: 200_000, chunkBytes: 1024, paceMs: 0 },
      printer: { bufferBytes: 4096, lineDotsPerSecond: 10_000 },
    });
    f = fixture();
    vp = await startVirtualPrinter({
      outDir: path.join(f.dir, 'printed'),
      dots: fast.dots,
      mechanism: mechanismFor(fast),
    });
    vp.set({ paperEndAfterBytes: 600 });
    const p = createKioskPrinting(f.kiosk, { printerUrl: vp.url, profile: fast });
    if (!p.ok) throw new Error(p.error.message);
    const b = f.kiosk.bills.issue(RED_LIGHT);
    if (!b.ok) throw new Error(b.error.message);
    const r = await p.value.printBill(b.value.billNo);
    expect(r).toMatchObject({ ok: false, error: { code: 'PRINTER_PAPER_END' } });
    expect(p.value.service.latest('bill', b.value.billNo)).toMatchObject({ state: 'failed' });
    // The bytes the head had not reached are still in its buffer: loading paper prints them, as a real
    // printer does (why a failed bill is reprinted only by a person who looked at the paper).
    const page = vp.waitForPages(1);
    vp.set({ paperEnd: false });
    expect(decodeQrFromPng((await page)[0]!.file)).toBe(b.value.url);
  });
});
