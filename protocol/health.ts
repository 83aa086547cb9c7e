// The health a kiosk reports with its sync (POST /v1/device/health, signed like push): what the operator
// console shows per device. Small and optional: an older kiosk that never sends it is shown as unknown.
import { z } from 'zod';

export const HEALTH_PATH = '/v1/device/health';
/** A kiosk reports at most this often, seconds (from its pull loop). */
export const HEALTH_INTERVAL_S = 30;
/** The hub shows a device offline when its last report (or push) is older than this, seconds. */
export const OFFLINE_AFTER_S = 90;

export const printerStateSchema = z.enum([
  'ok',
  'paper_near_end',
  'paper_end',
  'cover_open',
  'offline',
  'error',
  'unknown',
]);

export const healthReportSchema = z.object({
  appVersion: z.string().min(1).max(32),
  /** Outbox events the hub does not hold yet. */
  queueDepth: z.number().int().min(0),
  printer: printerStateSchema,
  /** Kiosk clock minus hub clock, seconds, as the kiosk last measured it (null before the first answer). */
  clockOffsetSeconds: z.number().int().nullable(),
  /** Unix seconds, the kiosk's clock. */
  at: z.number().int(),
});
export type HealthReport = z.infer<typeof healthReportSchema>;
