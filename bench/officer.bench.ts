// Officer benchmarks: a ticket end to end (next decision number, fine, signed bill, two outbox events,
// one durable commit) interleaved with a bare durable insert and with the kiosk's own bill issue; the
// hub's block allocation beside a bare round trip to the same store; plate checks; notice encoding.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { openDatabase } from '../db/connection.ts';
import { openHubDb } from '../hub/db.ts';
import { allocateBlock } from '../hub/officer/blocks.ts';
import { noticeDocument } from '../main/officer/api.ts';
import { openKiosk } from '../main/kiosk.ts';
import { loadSampleCodeTable } from '../main/officer/codes.ts';
import { addBlocks } from '../main/officer/numbers.ts';
import { parsePlate } from '../protocol/plate.ts';
import { createTicketService } from '../main/officer/ticket.ts';
import { billDocument } from '../main/ui/printing.ts';
import { encodeBill } from '../printer/documents/index.ts';
import { encodeNotice } from '../printer/documents/notice.ts';
import { profiles } from '../printer/profiles.ts';
import { fmtMs, measure, printSection, stats, type Stats } from './lib.ts';

const TICKETS = 3000;
const WARMUP = 100;
const ms = (s: Stats): string => `p50 ${fmtMs(s.p50)}, p99 ${fmtMs(s.p99)} (n=${s.n}, max ${fmtMs(s.max)})`;

export async function run(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'finekiosk-bench-officer-'));
  try {
    const bare = openDatabase(path.join(dir, 'bare.db'));
    bare.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT NOT NULL, b INTEGER NOT NULL) STRICT');
    const ins = bare.prepare('INSERT INTO t (a, b) VALUES (?, ?)');

    const kiosk = openKiosk({ dataDir: path.join(dir, 'kiosk'), hubBase: 'https://hub.example' });
    const table = loadSampleCodeTable();
    const tickets = createTicketService(kiosk, () => table);
    addBlocks(
      kiosk.db,
      [
        {
          blockId: 'bench',
          region: '310100',
          prefix: '31010020269',
          width: 7,
          first: 1,
          last: 2 * (TICKETS + WARMUP),
        },
      ],
      Date.now(),
    );
    // The kiosk's bill issue on fines already there: the anchor for "a ticket is a bill plus a little".
    const fines = Array.from({ length: TICKETS + WARMUP }, (_, i) => ({
      decisionNo: `3101012026${String(i).padStart(6, '0')}`,
      region: '310101',
      plate: '沪A12345',
      vehicleIdLast6: 'A1B2C3',
      violationCode: '1625',
      description: '驾驶机动车违反道路交通信号灯通行',
      place: '上海市黄浦区人民大道',
      occurredAt: '2026-10-01T08:00:00+08:00',
      decidedOn: '2026-10-05',
      fineFen: 20000,
      points: 6,
      status: 'unpaid' as const,
    }));
    const imp = kiosk.fines.importRows(fines, 'bench');
    if (!imp.ok) throw new Error(imp.error.message);
    const input = { plate: '沪A12345', code: '1625', place: '人民广场', officerId: '031234' };
    const ticket = (): void => {
      const r = tickets.issue(input);
      if (!r.ok) throw new Error(r.error.message);
    };
    const bill = (i: number): void => {
      const r = kiosk.bills.issue(fines[i]!.decisionNo);
      if (!r.ok) throw new Error(r.error.message);
    };
    for (let i = 0; i < WARMUP; i++) {
      ins.run('warmup', i);
      ticket();
      bill(TICKETS + i);
    }
    const bareMs: number[] = [];
    const ticketMs: number[] = [];
    const billMs: number[] = [];
    for (let i = 0; i < TICKETS; i++) {
      let t = performance.now();
      ins.run(`row-${i}`, i);
      bareMs.push(performance.now() - t);
      t = performance.now();
      ticket();
      ticketMs.push(performance.now() - t);
      t = performance.now();
      bill(i);
      billMs.push(performance.now() - t);
    }
    bare.close();
    const [b, tk, bi] = [stats(bareMs), stats(ticketMs), stats(billMs)];
    printSection('ticket issue, end to end (number, fine, signed bill, 2 events, one durable commit)', [
      { name: 'ticket issue', value: ms(tk), anchor: `kiosk bill issue, same run: ${ms(bi)}` },
      { name: 'bare durable single-row insert', value: ms(b), anchor: 'same run, same disk' },
      {
        name: 'p99 ticket / p99 bill issue',
        value: `${(tk.p99 / bi.p99).toFixed(2)}x (p50 ${(tk.p50 / bi.p50).toFixed(2)}x)`,
        anchor: 'aim: within 1.5x (a ticket is a bill plus a fine row and one more event)',
      },
      { name: 'tickets per second (1 / mean)', value: (1000 / tk.mean).toFixed(0) },
    ]);

    // Plate checks and notice encoding.
    const plates = ['沪A12345', '京AD12345', '粤B12345D', '粤Z1234港', '京I12345', '使014578'];
    const plate = await measure(20_000, (i) => parsePlate(plates[Math.abs(i) % plates.length]!));
    const t1 = tickets.list(1)[0]!;
    const noticeEnc = await measure(300, () => encodeNotice(noticeDocument(t1), profiles['generic-58']));
    const billEnc = await measure(300, () => encodeBill(billDocument(t1.bill), profiles['generic-58']));
    printSection('plate check and notice encoding', [
      { name: 'plate check', value: ms(plate) },
      { name: 'notice encode, 58 mm', value: ms(noticeEnc), anchor: `bill encode, same run: ${ms(billEnc)}` },
    ]);
    kiosk.close();

    // Hub: one block per request on PGlite, beside a bare SELECT 1 on the same store.
    const hub = await openHubDb({ listen: false });
    try {
      const dev = { id: 'benchdevice1', region: '310100' };
      const nowS = Math.floor(Date.now() / 1000);
      const alloc = await measure(
        300,
        async () => {
          const r = await allocateBlock(hub, dev, crypto.randomUUID(), nowS, 500);
          if (!r.ok) throw new Error(r.error.message);
        },
        20,
      );
      const select = await measure(300, () => hub.query('SELECT 1'), 20);
      printSection('hub block allocation (PGlite, in process)', [
        { name: 'allocate one block', value: ms(alloc), anchor: `bare SELECT 1, same store: ${ms(select)}` },
      ]);
    } finally {
      await hub.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
