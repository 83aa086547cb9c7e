// The status bar's and staff console's view of the sync engine.
import type { RefusedItemView, SyncPort } from '../api.ts';
import type { Kiosk } from '../kiosk.ts';
import { syncStatus, type SyncEngine, type SyncStatus } from '../sync/engine.ts';

/** Refused events and refused pulled changes for staff, newest first, at most 100 (codes only). */
export function refusedItems(s: Pick<SyncStatus, 'rejected' | 'refusedChanges'>): RefusedItemView[] {
  const events: RefusedItemView[] = s.rejected.map((r) => ({
    kind: 'event',
    ref: `${r.type} #${r.seq}`,
    code: r.code,
    at: r.at,
  }));
  const changes: RefusedItemView[] = s.refusedChanges.map((c) => ({
    kind: 'change',
    ref: `${c.kind} @${c.cursor}`,
    code: c.code,
    at: c.at,
  }));
  return [...events, ...changes].sort((a, b) => b.at - a.at).slice(0, 100);
}

/** The status bar's view of sync: online while the last exchange with the hub succeeded. */
export function engineSync(kiosk: Kiosk, engine: SyncEngine): SyncPort {
  return {
    status: () => {
      const s = syncStatus(kiosk);
      // A success clears the last error, so an error still on record means the hub is not answering.
      const online = s.enrolled && s.lastSuccessAt !== null && s.lastError === null;
      return {
        online,
        queued: s.queued,
        ...(s.lastSuccessAt !== null ? { lastSuccessAt: s.lastSuccessAt } : {}),
        // The code only: the screen shows the catalogue's message in its own language.
        ...(s.lastError ? { lastError: s.lastError.code } : {}),
        ...(s.clockOffsetSeconds !== null ? { clockOffsetMs: s.clockOffsetSeconds * 1000 } : {}),
        rejected: s.rejected.length,
        refused: refusedItems(s),
      };
    },
    now: () => engine.now(),
    lookup: (q) => engine.lookup(q),
  };
}
