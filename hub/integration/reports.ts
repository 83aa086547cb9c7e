// Reconciliation reports, downloadable through the API and the console. The reports themselves are made
// by the payment channels' reconciliation (hub/channels); this side only lists and serves what that stores,
// through this small interface, so either side can change without the other.
import { z } from 'zod';
import type { HubQueryable } from '../db.ts';

export const reportMetaSchema = z.object({
  id: z.string(),
  channel: z.string(),
  /** The statement day, YYYY-MM-DD (Asia/Shanghai). */
  day: z.string(),
  createdAt: z.number().int(),
  contentType: z.string().optional(),
  /** Counts of matched and unmatched lines, when the report has them. */
  matched: z.number().int().optional(),
  mismatched: z.number().int().optional(),
});
export type ReportMeta = z.infer<typeof reportMetaSchema>;

export interface ReconciliationReports {
  list(): Promise<ReportMeta[]>;
  /** The report's body (CSV or JSON) or undefined when there is no such report. */
  get(id: string): Promise<{ meta: ReportMeta; contentType: string; body: string } | undefined>;
}

/** Until the reconciliation job stores reports, there are none. */
export const noReports: ReconciliationReports = {
  list: async () => [],
  get: async () => undefined,
};

interface RecRow {
  bill_date: string;
  channel: string;
  report: string;
  created_at: number;
}

const ID_RE = /^([0-9]{4}-[0-9]{2}-[0-9]{2})_([a-z]+)$/;
const typeOf = (body: string): string =>
  /^\s*[[{]/.test(body) ? 'application/json' : 'text/csv; charset=utf-8';

/** Reports as the payment channels' reconciliation keeps them (pay_reconciliations: one per channel and day). */
export function storedReports(db: HubQueryable): ReconciliationReports {
  const meta = (r: RecRow): ReportMeta => ({
    id: `${r.bill_date}_${r.channel}`,
    channel: r.channel,
    day: r.bill_date,
    createdAt: Number(r.created_at),
    contentType: typeOf(r.report),
  });
  return {
    async list() {
      const r = await db.query<RecRow>(
        'SELECT bill_date, channel, report, created_at FROM pay_reconciliations ORDER BY bill_date DESC, channel LIMIT 400',
      );
      return r.rows.map(meta);
    },
    async get(id) {
      const m = ID_RE.exec(id);
      if (!m) return undefined;
      const r = await db.query<RecRow>(
        'SELECT bill_date, channel, report, created_at FROM pay_reconciliations WHERE bill_date = $1 AND channel = $2',
        [m[1], m[2]],
      );
      const row = r.rows[0];
      return row ? { meta: meta(row), contentType: typeOf(row.report), body: row.report } : undefined;
    },
  };
}
