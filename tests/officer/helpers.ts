// Shared set-up for the officer tests: a kiosk in a temp folder with a manual clock and a code table.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openKiosk, type Kiosk } from '../../main/kiosk.ts';
import { loadSampleCodeTable } from '../../main/officer/codes.ts';
import { createTicketService, type TicketService } from '../../main/officer/ticket.ts';
import { ManualClock } from '../../protocol/time.ts';

/** 2026-05-01 10:00 Asia/Shanghai. */
export const T0 = Date.parse('2026-05-01T02:00:00Z');

export interface Device {
  dir: string;
  kiosk: Kiosk;
  clock: ManualClock;
  tickets: TicketService;
  close(): void;
}

export function tempDir(prefix = 'fk-officer-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function openDevice(dir = tempDir(), clock = new ManualClock(T0)): Device {
  const kiosk = openKiosk({ dataDir: dir, clock });
  const table = loadSampleCodeTable();
  const tickets = createTicketService(kiosk, () => table);
  return {
    dir,
    kiosk,
    clock,
    tickets,
    close: () => kiosk.close(),
  };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
