// Reconciliation reports, downloadable through the API and the console. The reports themselves are made
// by the payment channels' reconciliation (hub/channels); this side only lists and serves what that stores,
// through this small interface, so either side can change without the other.
import { z } from 'zod';

export const reportMetaSchema = z.object({
  id: z.string(),
  channel: z.string(),
  /** The statement day, YYYY-MM-DD (Asia/Shanghai). */
  day: z.string(),
  createdAt: z.number().int(),
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
