// Apply: a page of pulled changes taken into the kiosk's database (fines, hub keys, payments, voids,
// refused events, config). A change that cannot be applied is kept with its reason, never dropped.
import type { Fine } from '../../protocol/fines.ts';
import { failure, type Failure } from '../../protocol/result.ts';
import type { PullChange } from '../../protocol/sync.ts';
import type { Clock } from '../../protocol/time.ts';
import { verifyConfirmation } from '../../protocol/acceptance.ts';
import type { Kiosk } from '../kiosk.ts';

/**
 * Applies a page of pulled changes (inside the caller's transaction). A change that cannot be applied is
 * kept with its code and reason (sync_refused_changes) and shown to staff, never dropped in silence.
 * Keys and payments are believed only when signed by a trusted hub key (issue 10).
 */
export function applyChanges(kiosk: Kiosk, clock: Clock, changes: PullChange[]): void {
  const k = kiosk;
  const db = kiosk.db;
  const now = Math.floor(clock.now() / 1000);
  const refuse = db.prepare(
    'INSERT INTO sync_refused_changes (cursor, kind, code, reason, change, at) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const keep = (c: PullChange, f: Failure): void => {
    refuse.run(c.cursor, c.kind, f.code, f.message, JSON.stringify(c), now);
  };
  let fines: Fine[] = [];
  const flush = (): void => {
    if (fines.length) k.fines.upsertMany(fines);
    fines = [];
  };
  for (const c of changes) {
    if (c.kind === 'fine') {
      fines.push(c.fine);
      continue;
    }
    flush();
    switch (c.kind) {
      case 'hubKey': {
        if (!c.sig || !c.signedBy) {
          keep(c, failure('BAD_SIGNATURE', `key ${c.key.keyId} arrived unsigned`));
          break;
        }
        const r = k.trust.applyAnnouncement(
          {
            keyId: c.key.keyId,
            publicKey: c.key.publicKey,
            retiredAt: c.retired ? c.retiredAt : 0,
            signedBy: c.signedBy,
          },
          c.sig,
        );
        if (!r.ok) keep(c, r.error);
        break;
      }
      case 'payment': {
        // A token that does not verify is not a payment, whoever sent it.
        const v = verifyConfirmation(c.token, (id) => k.trust.trusted(id));
        const r = v.ok ? k.payments.recordFromHub(v.value, c.token) : v;
        if (!r.ok) keep(c, r.error);
        break;
      }
      case 'void': {
        const r = k.bills.void(c.billNo, 'hub');
        // Already closed here (voided, expired) is the same outcome; anything else is kept for staff.
        if (!r.ok && r.error.code !== 'BILL_VOIDED' && r.error.code !== 'BILL_EXPIRED') keep(c, r.error);
        break;
      }
      case 'refused':
        db.prepare(
          `INSERT INTO sync_rejected (seq, event_id, type, code, reason, at)
             VALUES (?, ?, coalesce((SELECT type FROM outbox WHERE seq = ?), ''), ?, ?, ?) ON CONFLICT (seq) DO NOTHING`,
        ).run(c.seq, c.eventId, c.seq, c.code, c.reason, now);
        break;
      case 'config':
        db.prepare('UPDATE sync_state SET hub_config = ? WHERE id = 1').run(JSON.stringify(c.config));
        for (const key of ['decisionPattern'] as const) {
          const v = c.config[key];
          if (typeof v === 'string') {
            try {
              k.settings.set(key, v);
            } catch {
              keep(c, failure('MALFORMED', `decision pattern ${v}`));
            }
          }
        }
        break;
    }
  }
  flush();
}
