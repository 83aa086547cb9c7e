// The kiosk backend in one object: data folder, device identity, database, and the services on top.
// Every service takes the injected clock; every state change writes its outbox event in the same transaction.
import { existsSync, statSync } from 'node:fs';
import { failure, FailureError } from '../protocol/result.ts';
import path from 'node:path';
import type { Database } from '../db/connection.ts';
import { openDatabase } from '../db/connection.ts';
import { privateDir, privateFilesIn, usePrivateUmask } from '../db/private.ts';
import { migrate } from '../db/migrate.ts';
import { kioskMigrations } from '../db/migrations/index.ts';
import { systemClock, type Clock } from '../protocol/time.ts';
import { createBillsService, type BillsService } from './bills/bills.ts';
import { createFinesService, type FinesService } from './fines/fines.ts';
import { KEY_FILE, loadOrCreateIdentity, type Identity } from './identity/identity.ts';
import {
  appendEvent,
  listEvents,
  verifyChain,
  type ChainReport,
  type EventType,
  type OutboxEvent,
} from './outbox/outbox.ts';
import { createPaymentsService, type PaymentsService } from './payments/payments.ts';
import { createTrustService, type TrustService } from './payments/trust.ts';
import { createSettings, type Settings } from './settings/settings.ts';

export type { BillView } from './bills/bills.ts';
export type { FineView } from './fines/fines.ts';

export const DB_FILE = 'kiosk.db';

export interface KioskOptions {
  dataDir: string;
  clock?: Clock;
  /** Overrides the stored hub address for this run. */
  hubBase?: string;
  /**
   * Open even though kiosk.db is missing or empty beside an existing device.key (only `finekiosk
   * recover`, which rebuilds it from the hub). Otherwise that is DB_MISSING: never a silent empty start.
   */
  allowMissingDb?: boolean;
}

export interface Kiosk {
  dataDir: string;
  db: Database;
  /** The kiosk's clock corrected by its known offset from the hub's (what bills are stamped with). */
  clock: Clock;
  /** The machine's own clock (what sync requests are signed with and the offset is measured by). */
  rawClock: Clock;
  /** The sync engine tells the kiosk its newly measured offset (seconds, kiosk minus hub). */
  setClockOffset?(offsetSeconds: number | null): void;
  identity: Identity;
  settings: Settings;
  fines: FinesService;
  bills: BillsService;
  payments: PaymentsService;
  trust: TrustService;
  outbox: {
    /** appendEvent on this kiosk's database; call inside kiosk.db.transaction. */
    append(type: EventType, payload: object, at: number): OutboxEvent;
    list(afterSeq: number, limit: number): OutboxEvent[];
    verify(): ChainReport;
  };
  close(): void;
}

export function openKiosk(opts: KioskOptions): Kiosk {
  const dataDir = path.resolve(opts.dataDir);
  // The data folder and its files are this user's only (db/private.ts): umask first, so SQLite's WAL
  // and shared-memory files are born 0600.
  usePrivateUmask();
  privateDir(dataDir);
  const rawClock = opts.clock ?? systemClock;
  const dbFile = path.join(dataDir, DB_FILE);
  if (!opts.allowMissingDb && existsSync(path.join(dataDir, KEY_FILE)) && dbIsMissingOrEmpty(dbFile)) {
    throw new FailureError(failure('DB_MISSING', `${dbFile} is missing or empty beside ${KEY_FILE}`));
  }
  // A database without its key: minting a new key would sign as another device over this one's records.
  if (!existsSync(path.join(dataDir, KEY_FILE)) && !dbIsMissingOrEmpty(dbFile)) {
    throw new FailureError(failure('DEVICE_KEY_MISSING', `${path.join(dataDir, KEY_FILE)} is missing beside ${dbFile}`));
  }
  const identity = loadOrCreateIdentity(dataDir);
  const db = openDatabase(dbFile);
  privateFilesIn(dataDir);
  // Bills are stamped with hub-corrected time when the offset is known (DESIGN.md, Sync).
  let offsetMs = 0;
  const clock: Clock = { now: () => rawClock.now() - offsetMs };
  try {
    migrate(db, kioskMigrations, () => clock.now());
    db.prepare(
      'INSERT INTO device (id, device_id, public_key, created_at) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO NOTHING',
    ).run(identity.deviceId, identity.publicKeyRaw, Math.floor(clock.now() / 1000));
    const row = db.prepare('SELECT device_id, public_key FROM device WHERE id = 1').get() as {
      device_id: string;
      public_key: string;
    };
    if (row.device_id !== identity.deviceId || row.public_key !== identity.publicKeyRaw) {
      // The key file and the database belong to different devices: refuse rather than sign as someone else.
      throw new Error(
        `${path.join(dataDir, 'device.key')} belongs to device ${identity.deviceId} but the database was made by ${row.device_id}`,
      );
    }
    const known = db.prepare('SELECT clock_offset_s FROM sync_state WHERE id = 1').get() as
      { clock_offset_s: number | null } | undefined;
    offsetMs = (known?.clock_offset_s ?? 0) * 1000;
    const settings = createSettings(db, opts.hubBase === undefined ? {} : { hubBase: opts.hubBase });
    const fines = createFinesService(db, clock, settings);
    const bills = createBillsService(db, clock, identity, settings, fines);
    const trust = createTrustService(db, clock);
    const payments = createPaymentsService(db, clock, trust);
    return {
      dataDir,
      db,
      clock,
      rawClock,
      setClockOffset: (s) => {
        offsetMs = (s ?? 0) * 1000;
      },
      identity,
      settings,
      fines,
      bills,
      payments,
      trust,
      outbox: {
        append: (type, payload, at) => appendEvent(db, type, payload, at),
        list: (afterSeq, limit) => listEvents(db, afterSeq, limit),
        verify: () => verifyChain(db),
      },
      close: () => {
        if (db.open) db.close();
      },
    };
  } catch (e) {
    db.close();
    throw e;
  }
}

/** kiosk.db absent, or 0 bytes (a file truncated or made empty by a power cut or a bad copy). */
function dbIsMissingOrEmpty(file: string): boolean {
  if (!existsSync(file)) return true;
  // A 0-byte main file is empty even beside a -wal: SQLite writes page 1 to the main file when it
  // first turns WAL on, so a real history never has a 0-byte kiosk.db.
  return statSync(file).size === 0;
}
