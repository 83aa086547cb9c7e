// The kiosk backend in one object: data folder, device identity, database, and the services on top.
// Every service takes the injected clock; every state change writes its outbox event in the same transaction.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Database } from '../db/connection.ts';
import { openDatabase } from '../db/connection.ts';
import { migrate } from '../db/migrate.ts';
import { kioskMigrations } from '../db/migrations/index.ts';
import { systemClock, type Clock } from '../protocol/time.ts';
import { createBillsService, type BillsService } from './bills/bills.ts';
import { createFinesService, type FinesService } from './fines/fines.ts';
import { loadOrCreateIdentity, type Identity } from './identity/identity.ts';
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
}

export interface Kiosk {
  dataDir: string;
  db: Database;
  clock: Clock;
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
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const clock = opts.clock ?? systemClock;
  const identity = loadOrCreateIdentity(dataDir);
  const db = openDatabase(path.join(dataDir, DB_FILE));
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
    const settings = createSettings(db, opts.hubBase === undefined ? {} : { hubBase: opts.hubBase });
    const fines = createFinesService(db, clock, settings);
    const bills = createBillsService(db, clock, identity, settings, fines);
    const trust = createTrustService(db, clock);
    const payments = createPaymentsService(db, clock, trust);
    return {
      dataDir,
      db,
      clock,
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
