// Officer mode on top of an open kiosk: the code table in force, tickets, officers, number blocks.
// The code table is, in order: a file named by the operator (option or FINEKIOSK_VIOLATION_CODES), the
// table the hub sent in its config (kept in officer_config), else the shipped sample (marked sample).
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
  /** Stores the code table from the hub's config (pulled by sync); refuses an invalid one. */
  applyHubConfig(config: Record<string, unknown>): Result<{ codes?: string }>;
  /** Stores blocks of numbers from the hub. */
  receiveBlocks(blocks: unknown[]): Result<{ added: number; numbers: NumberStatus }>;
  /** Turns on the stand-alone local sequence (no hub). */
  enableStandalone(region: string): NumberStatus;
  numbers(): NumberStatus;
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
  let cached: { json: string; table: CodeTable } | undefined;
  let sample: CodeTable | undefined;
  const codes = (): CodeTable => {
    if (fromFile) return fromFile;
    const row = db.prepare('SELECT value FROM officer_config WHERE key = ?').get(CODES_CONFIG_KEY) as
      { value: string } | undefined;
    if (row) {
      if (cached?.json !== row.value) {
        const t = parseCodeTable(JSON.parse(row.value), 'hub');
        // Stored only after validation, so this holds; fall through to the sample if it ever does not.
        if (t.ok) cached = { json: row.value, table: t.value };
      }
      if (cached) return cached.table;
    }
    return (sample ??= loadSampleCodeTable());
  };

  return ok({
    tickets: createTicketService(kiosk, codes),
    officers: createOfficerService(db, clock, opts.pinCost),
    codes,
    applyHubConfig(config) {
      if (!(CODES_CONFIG_KEY in config)) return ok({});
      const t = parseCodeTable(config[CODES_CONFIG_KEY], 'hub');
      if (!t.ok) return t;
      writeTx(db, () =>
        db
          .prepare(
            `INSERT INTO officer_config (key, value, source, updated_at) VALUES (?, ?, 'hub', ?)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, source = excluded.source,
                                             updated_at = excluded.updated_at`,
          )
          .run(CODES_CONFIG_KEY, JSON.stringify(t.value.data), clock.now()),
      );
      return ok({ codes: t.value.data.version });
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
  });
}
