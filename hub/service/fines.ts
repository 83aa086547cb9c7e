// Fines: imports (rows or a file), lookups by decision number and by plate, and the feed-writing upsert.
import { statSync } from 'node:fs';
import { normalizePlate, normalizeVin6 } from '../../protocol/plate.ts';
import type { Fine } from '../../protocol/fines.ts';
import { fail, type Result } from '../../protocol/result.ts';
import { importFines, importFinesFile } from '../import/fines-import.ts';
import { rowsOf } from '../import/read.ts';
import type { HubQueryable } from '../db.ts';
import type { HubCtx } from './context.ts';

/** Builds hub.fines and the in-transaction writers (upsertFines, setFineStatus) push and payments use. */
export function createFines(ctx: HubCtx) {
  const { db, nowS } = ctx;

  async function upsertFines(tx: HubQueryable, fines: Fine[]): Promise<number> {
    if (fines.length === 0) return 0;
    // A fine the hub knows is paid stays paid whatever a later file says.
    const r = await tx.query(
      `INSERT INTO fines AS f (decision_no, region, plate, vin6, status, data, updated_at)
       SELECT d->>'decisionNo', d->>'region', d->>'plate', upper(d->>'vehicleIdLast6'), d->>'status', d, $2
       FROM jsonb_array_elements($1::jsonb) AS d
       ON CONFLICT (decision_no) DO UPDATE SET
         region = EXCLUDED.region, plate = EXCLUDED.plate, vin6 = EXCLUDED.vin6,
         status = CASE WHEN f.status = 'paid' THEN 'paid' ELSE EXCLUDED.status END,
         data = CASE WHEN f.status = 'paid' THEN jsonb_set(EXCLUDED.data, '{status}', '"paid"') ELSE EXCLUDED.data END,
         rev = NULL, pend = EXCLUDED.pend, updated_at = EXCLUDED.updated_at
       WHERE f.data IS DISTINCT FROM EXCLUDED.data AND NOT (f.status = 'paid' AND f.data = jsonb_set(EXCLUDED.data, '{status}', '"paid"'))`,
      // The one plate normalization (protocol/plate.ts), so a lookup by any spelling of a plate finds it.
      [JSON.stringify(fines.map((f) => ({ ...f, plate: normalizePlate(f.plate) }))), nowS()],
    );
    return r.rowCount;
  }

  async function setFineStatus(tx: HubQueryable, decisionNo: string, status: Fine['status']): Promise<void> {
    await tx.query(
      `UPDATE fines SET status = $2, data = jsonb_set(data, '{status}', to_jsonb($2::text)),
         rev = NULL, pend = nextval('feed_pend_seq'), updated_at = $3
       WHERE decision_no = $1 AND status <> $2`,
      [decisionNo, status, nowS()],
    );
  }

  const fines = {
    /**
     * Adds or updates fines, all or nothing (hub/import: staged, checked, applied in one transaction).
     * Errors: BAD_FILE with each bad row's number and reason.
     */
    async importRows(rows: unknown[]): Promise<Result<{ received: number; changed: number }>> {
      return importFines(db, rowsOf(rows), { nowS });
    },
    /** A JSON, NDJSON or CSV fines file, read as a stream (any size); as importRows. Errors: BAD_FILE. */
    async importFile(file: string): Promise<Result<{ received: number; changed: number }>> {
      try {
        statSync(file);
      } catch (e) {
        return fail('BAD_FILE', (e as Error).message);
      }
      return importFinesFile(db, file, { nowS });
    },
    async byDecisionNo(decisionNo: string): Promise<Fine | undefined> {
      const r = await db.query<{ data: Fine }>('SELECT data FROM fines WHERE decision_no = $1', [decisionNo]);
      return r.rows[0]?.data;
    },
    async byPlate(plate: string, vin6: string): Promise<Fine[]> {
      const r = await db.query<{ data: Fine }>(
        'SELECT data FROM fines WHERE plate = $1 AND vin6 = $2 ORDER BY decision_no LIMIT 100',
        [normalizePlate(plate), normalizeVin6(vin6)],
      );
      return r.rows.map((x) => x.data);
    },
    async count(): Promise<number> {
      const r = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM fines');
      return Number(r.rows[0]?.n ?? 0);
    },
  };

  return { fines, upsertFines, setFineStatus };
}
