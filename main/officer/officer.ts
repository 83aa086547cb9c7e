// Officer mode on top of an open kiosk: the code table in force, tickets, officers, number blocks.
// The code table is, in order: a file named for this run (option or FINEKIOSK_VIOLATION_CODES), a file
// the operator imported (kept in officer_config), the table in the hub's config (violationCodes, kept by
// sync in sync_state), else the shipped sample, which says it is one.
import { writeTx } from '../../db/connection.ts';
import { fail, ok, type Result } from '../../protocol/result.ts';
import type { Kiosk } from '../kiosk.ts';
import { loadCodeTableFile, loadSampleCodeTable, parseCodeTable, type CodeTable } from './codes.ts';
import {
  addBlocks,
  decisionBlockSchema,
  enableStandalone,
  numberStatus,
  type NumberStatus,
} from './numbers.ts';
import { createOfficerService, type OfficerService } from './officers.ts';
import { refillNumbers, type RefillOptions, type RefillReport } from './refill.ts';
import { createTicketService, type TicketService } from './ticket.ts';
import type { PinCost } from '../staff/staff.ts';
import { z } from 'zod';

/** Key of the code table in the hub's config and in officer_config. */
export const CODES_CONFIG_KEY = 'violationCodes';
export const CODES_ENV = 'FINEKIOSK_VIOLATION_CODES';

export interface OfficerOptions {
  /** A code table file that overrides the hub's and the sample. */
  codesFile?: string;
  pinCost?: PinCost;
}

export interface OfficerMode {
  tickets: TicketService;
  officers: OfficerService;
  codes(): CodeTable;
  /** Stores a code table from a file for this device (over the hub's); refuses an invalid one. */
  importCodes(json: unknown): Result<{ version: string; codes: number }>;
  /** Forgets an imported table: the hub's (or the sample) is in force again. */
  clearImportedCodes(): void;
  /** Stores blocks of numbers from the hub. */
  receiveBlocks(blocks: unknown[]): Result<{ added: number; numbers: NumberStatus }>;
  /** Turns on the stand-alone local sequence (no hub). */
  enableStandalone(region: string): NumberStatus;
  numbers(): NumberStatus;
  /** Asks the hub for more numbers (when low, or when forced). */
  refill(opts?: RefillOptions): Promise<Result<RefillReport>>;
}

export function openOfficerMode(kiosk: Kiosk, opts: OfficerOptions = {}): Result<OfficerMode> {
  const { db, clock } = kiosk;
  const file = opts.codesFile ?? process.env[CODES_ENV];
  let fromFile: CodeTable | undefined;
  if (file) {
    const r = loadCodeTableFile(file);
    if (!r.ok) return r;
    fromFile = r.value;
  }
  // The last valid table of each source: an invalid one later leaves that one in force.
  const cached: Partial<Record<'file' | 'hub', { json: string; table: CodeTable }>> = {};
  let sample: CodeTable | undefined;
  /** The table in the config the sync engine keeps from the hub (enrollment and pulls), as JSON. */
  const hubConfigCodes = (): string | undefined => {
    try {
      const r = db.prepare('SELECT hub_config FROM sync_state WHERE id = 1').get() as
        { hub_config: string | null } | undefined;
      if (!r?.hub_config) return undefined;
      const table = (JSON.parse(r.hub_config) as Record<string, unknown>)[CODES_CONFIG_KEY];
      return table === undefined ? undefined : JSON.stringify(table);
    } catch {
      return undefined;
    }
  };
  const codes = (): CodeTable => {
    if (fromFile) return fromFile;
    const row = db.prepare('SELECT value FROM officer_config WHERE key = ?').get(CODES_CONFIG_KEY) as
      { value: string } | undefined;
    const json = row?.value ?? hubConfigCodes();
    if (json) {
      const source = row ? 'file' : 'hub';
      if (cached[source]?.json !== json) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(json);
        } catch {
          parsed = undefined;
        }
        const t = parseCodeTable(parsed, source);
        // An invalid table from the hub leaves the one in force in place (or the sample).
        if (t.ok) cached[source] = { json, table: t.value };
      }
      const c = cached[source];
      if (c) return c.table;
    }
    return (sample ??= loadSampleCodeTable());
  };

  return ok({
    tickets: createTicketService(kiosk, codes),
    officers: createOfficerService(db, clock, opts.pinCost),
    codes,
    importCodes(json) {
      const t = parseCodeTable(json, 'file');
      if (!t.ok) return t;
      writeTx(db, () =>
        db
          .prepare(
            `INSERT INTO officer_config (key, value, source, updated_at) VALUES (?, ?, 'file', ?)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, source = excluded.source,
                                             updated_at = excluded.updated_at`,
          )
          .run(CODES_CONFIG_KEY, JSON.stringify(t.value.data), clock.now()),
      );
      return ok({ version: t.value.data.version, codes: t.value.data.codes.length });
    },
    clearImportedCodes() {
      db.prepare('DELETE FROM officer_config WHERE key = ?').run(CODES_CONFIG_KEY);
    },
    receiveBlocks(blocks) {
      const p = z.array(decisionBlockSchema).max(100).safeParse(blocks);
      if (!p.success) return fail('MALFORMED', `decision blocks: ${p.error.issues[0]?.message ?? ''}`);
      const added = addBlocks(db, p.data, clock.now());
      return ok({ added, numbers: numberStatus(db) });
    },
    enableStandalone(region) {
      enableStandalone(db, kiosk.identity.deviceId, region, clock.now());
      return numberStatus(db);
    },
    numbers: () => numberStatus(db),
    refill: (o) => refillNumbers(kiosk, o),
  });
}
