// The health report a kiosk sends with its sync (protocol/health.ts): app version, outbox events the hub
// does not hold yet, the printer's state from the last print job, and the clock offset last measured.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { healthReportSchema, type HealthReport } from '../../protocol/health.ts';
import type { Kiosk } from '../kiosk.ts';
import { syncStatus } from './engine.ts';

let version: string | undefined;
function appVersion(): string {
  if (version === undefined) {
    try {
      const pkg = JSON.parse(
        readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8'),
      ) as {
        version?: string;
      };
      version = pkg.version ?? 'unknown';
    } catch {
      version = 'unknown';
    }
  }
  return version;
}

/** Printer error codes (protocol/errors.ts) → the reported state. */
const PRINTER_STATE: Record<string, HealthReport['printer']> = {
  PRINTER_PAPER_END: 'paper_end',
  PRINTER_COVER_OPEN: 'cover_open',
  PRINTER_OFFLINE: 'offline',
  PRINTER_UNREACHABLE: 'offline',
  PRINTER_TIMEOUT: 'offline',
  PRINTER_CUTTER_ERROR: 'error',
  PRINT_FAILED: 'error',
};

/** This kiosk's health now. */
export function healthReport(kiosk: Kiosk): HealthReport {
  const st = syncStatus(kiosk);
  const job = kiosk.db
    .prepare('SELECT state, error_code FROM print_jobs ORDER BY updated_at DESC, rowid DESC LIMIT 1')
    .get() as { state: string; error_code: string | null } | undefined;
  const printer: HealthReport['printer'] = !job
    ? 'unknown'
    : job.state === 'failed'
      ? (PRINTER_STATE[job.error_code ?? ''] ?? 'error')
      : 'ok';
  return healthReportSchema.parse({
    appVersion: appVersion(),
    queueDepth: st.queued,
    printer,
    clockOffsetSeconds: st.clockOffsetSeconds === null ? null : Math.round(st.clockOffsetSeconds),
    at: Math.floor(kiosk.clock.now() / 1000),
  });
}
