// Recovery of a kiosk whose database went back in time (restored from an older copy, a -wal lost after a
// power cut, a kiosk.db deleted beside its device.key). The hub holds every event the kiosk pushed; the
// kiosk's bills, payments and tickets are all written by its own events, so they can be rebuilt from the
// hub's copy of its log.
//
// Detection (during sync): the hub says it holds more of this device's events than the kiosk has, or a
// push meets events the hub holds differently (CHAIN_BROKEN). The kiosk then stops issuing (guard.ts)
// until `finekiosk recover` or `finekiosk device new`.
//
// Officer numbers: a recovery closes every open block of decision numbers (numbers printed after the
// restored copy was made may be lost with it) and the device asks the hub for a fresh block.
//
// Also here: the reverse, a hub restored from an older backup. It holds fewer events than it once acked
// (the kiosk re-sends them) and its change feed is another history (the kiosk pulls again from 0).
import type { Database } from '../../db/connection.ts';
import {
  firstBrokenEvent,
  parseEventPayload,
  type EventPayload,
  type OutboxEvent,
} from '../../protocol/events.ts';
import type { Fine } from '../../protocol/fines.ts';
import { fail, ok, type Result } from '../../protocol/result.ts';
import type { EventsResponse, PullResponse } from '../../protocol/sync.ts';
import { shanghaiDate, type Clock } from '../../protocol/time.ts';
import type { Kiosk } from '../kiosk.ts';
import { enableStandalone } from '../officer/numbers.ts';
import { dropPendingRequest } from '../officer/refill.ts';
import { isStandaloneDecisionNo } from '../../protocol/decision.ts';
import { lastSeq, verifyChain } from '../outbox/outbox.ts';
import type { StateRow } from './engine.ts';

const nowS = (clock: Clock): number => Math.floor(clock.now() / 1000);

/**
 * Takes in what the hub says it holds of this device (pull answers, push answers).
 * - more than this kiosk has: its database went back; it stops issuing until recovered ('behind');
 * - less than the hub held when the request left: the hub went back; what it lost is queued again
 *   ('resend': wake the push loop).
 */
export function noteHubSeq(
  db: Database,
  clock: Clock,
  hubSeq: number,
  ackedAtSend: number,
): 'behind' | 'resend' | 'ok' {
  const local = lastSeq(db);
  if (hubSeq > local) {
    db.prepare(
      'UPDATE sync_state SET hub_device_seq = ?, rolled_back_at = coalesce(rolled_back_at, ?) WHERE id = 1',
    ).run(hubSeq, nowS(clock));
    return 'behind';
  }
  if (hubSeq < ackedAtSend) {
    db.transaction(() => {
      db.prepare('UPDATE sync_state SET hub_device_seq = ?, acked_seq = min(acked_seq, ?) WHERE id = 1').run(
        hubSeq,
        hubSeq,
      );
      db.prepare('UPDATE outbox SET pushed = 0 WHERE seq > ?').run(hubSeq);
    })();
    return 'resend';
  }
  db.prepare('UPDATE sync_state SET hub_device_seq = ? WHERE id = 1').run(hubSeq);
  return 'ok';
}

/** The hub holds other events under this kiosk's seqs: treat as a database that went back. */
export function noteDiverged(db: Database, clock: Clock): void {
  db.prepare('UPDATE sync_state SET rolled_back_at = coalesce(rolled_back_at, ?) WHERE id = 1').run(
    nowS(clock),
  );
}

/**
 * True when the pull cursor belongs to another history of the hub's feed (another epoch, or a cursor
 * beyond the feed's head): resets the cursor to 0 and records the new epoch. A first epoch is recorded.
 */
export function feedIsAnotherHistory(db: Database, st: StateRow, res: PullResponse): boolean {
  const other =
    (res.epoch !== undefined && st.feed_epoch !== null && res.epoch !== st.feed_epoch) ||
    (res.head !== undefined && st.cursor > res.head);
  if (other) {
    db.prepare('UPDATE sync_state SET cursor = 0, feed_epoch = ? WHERE id = 1').run(res.epoch ?? null);
    return true;
  }
  if (res.epoch !== undefined && st.feed_epoch === null) {
    db.prepare('UPDATE sync_state SET feed_epoch = ? WHERE id = 1').run(res.epoch);
  }
  return false;
}

// ---------- recover ----------

export interface RecoveryReport {
  /** Events the hub held of this device. */
  hubEvents: number;
  /** Events this kiosk held before. */
  localEventsBefore: number;
  /** Local events after the hub's (not pushed yet), kept. */
  keptLocal: number;
  /** Local events the hub holds differently (made after a restore): set aside in recovery_orphans. */
  setAside: number;
  bills: number;
  payments: number;
  tickets: number;
  /** Bills whose fine neither the kiosk nor the hub knew: a placeholder fine was written. */
  placeholderFines: number;
  /** Hub blocks of decision numbers closed by the recovery, and the numbers left in them (never used). */
  abandonedBlocks: number;
  abandonedNumbers: number;
  /** The stand-alone sequence's next number, moved past any number the lost records may have used. */
  standaloneNext?: number;
  events: number;
  chainOk: boolean;
}

/** What recover needs from the sync engine: the signed requests to the hub. */
export interface RecoverySource {
  fetchEvents(after: number): Promise<Result<EventsResponse>>;
  lookupFine(decisionNo: string): Promise<Result<Fine | undefined>>;
}

/**
 * Rebuilds the outbox, bills, payments and tickets from the hub's copy of this device's events, in one
 * transaction; the hub's chain is verified first and the rebuilt log after; any failure changes nothing.
 * Local events the hub holds differently are set aside (recovery_orphans), and every bill and decision
 * number they used is never given again. Local events after the hub's are kept and pushed later.
 */
export async function recoverFromHub(kiosk: Kiosk, source: RecoverySource): Promise<Result<RecoveryReport>> {
  const db = kiosk.db;
  const deviceId = kiosk.identity.deviceId;
  const hub: OutboxEvent[] = [];
  let info: EventsResponse | undefined;
  for (let after = 0; ;) {
    const r = await source.fetchEvents(after);
    if (!r.ok) return r;
    info ??= r.value;
    hub.push(...r.value.events);
    if (!r.value.more || r.value.events.length === 0) break;
    after = r.value.events.at(-1)!.seq;
  }
  if (!info) return fail('RECOVERY_FAILED', 'the hub sent nothing');
  if (hub.some((e) => e.deviceId !== deviceId))
    return fail('RECOVERY_FAILED', 'the hub sent events of another device');
  const broken = firstBrokenEvent(hub);
  if (broken >= 0) return fail('RECOVERY_FAILED', `the hub's event ${hub[broken]!.seq} breaks the chain`);
  const hubSeq = hub.at(-1)?.seq ?? 0;

  // Fines of the hub's bills this kiosk does not hold: asked for before the transaction.
  const known = db.prepare<[string], { n: number }>('SELECT 1 AS n FROM fines WHERE decision_no = ?');
  const ticketFines = new Set<string>();
  const wanted = new Set<string>();
  let standaloneRegion: string | undefined;
  for (const e of hub) {
    if (e.type === 'ticket.issued') {
      const p = parsePayload(e, 'ticket.issued');
      if (p) ticketFines.add(p.fine.decisionNo);
      if (p && isStandaloneDecisionNo(p.fine.decisionNo)) standaloneRegion ??= p.fine.region;
    }
    if (e.type === 'bill.issued') {
      const p = parsePayload(e, 'bill.issued');
      if (p && !ticketFines.has(p.decisionNo) && !known.get(p.decisionNo)) wanted.add(p.decisionNo);
    }
  }
  const fetched: Fine[] = [];
  for (const no of wanted) {
    const f = await source.lookupFine(no);
    if (f.ok && f.value) fetched.push(f.value);
  }

  const now = nowS(kiosk.clock);
  try {
    const report = db
      .transaction((): RecoveryReport => {
        db.pragma('defer_foreign_keys = ON');
        const local = db
          .prepare('SELECT seq, event_id, type, at, payload, prev_hash, hash FROM outbox ORDER BY seq')
          .all() as {
          seq: number;
          event_id: string;
          type: string;
          at: number;
          payload: string;
          prev_hash: string;
          hash: string;
        }[];
        let diverge = -1;
        for (let i = 0; i < local.length && local[i]!.seq <= hubSeq; i++) {
          if (local[i]!.hash !== hub[i]?.hash) {
            diverge = i;
            break;
          }
        }
        const orphans = diverge >= 0 ? local.slice(diverge) : [];
        const extra =
          diverge >= 0
            ? []
            : local
                .filter((r) => r.seq > hubSeq)
                .map((r): OutboxEvent => ({
                  deviceId,
                  seq: r.seq,
                  eventId: r.event_id,
                  type: r.type as OutboxEvent['type'],
                  at: r.at,
                  payload: r.payload,
                  prevHash: r.prev_hash,
                  hash: r.hash,
                }));
        const setAside = db.prepare(
          `INSERT INTO recovery_orphans (seq, event_id, type, at, payload, hash, set_aside_at)
           VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING`,
        );
        for (const o of orphans) setAside.run(o.seq, o.event_id, o.type, o.at, o.payload, o.hash, now);

        db.prepare('DELETE FROM outbox').run();
        const ins = db.prepare(
          'INSERT INTO outbox (seq, event_id, type, at, payload, prev_hash, hash, pushed) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        );
        const all = [...hub, ...extra];
        for (const e of all)
          ins.run(e.seq, e.eventId, e.type, e.at, e.payload, e.prevHash, e.hash, e.seq <= hubSeq ? 1 : 0);

        if (fetched.length) kiosk.fines.upsertMany(fetched);
        db.prepare('DELETE FROM payments').run();
        db.prepare('DELETE FROM tickets').run();
        db.prepare('DELETE FROM bills').run();
        // Blocks the hub handed out that this database never received (they came after its copy was
        // made): held as spent, so the tickets written under them are rebuilt and none is given again.
        const insBlock = db.prepare(
          `INSERT INTO decision_blocks (block_id, region, prefix, width, first_n, last_n, next_n, standalone, received_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?) ON CONFLICT (block_id) DO NOTHING`,
        );
        for (const b of info.blocks ?? [])
          insBlock.run(
            b.blockId,
            b.region,
            b.prefix,
            b.width,
            b.first,
            b.last,
            b.last + 1,
            kiosk.clock.now(),
          );
        // The stand-alone sequence turned on after the restored copy was made: on again, so its tickets
        // are rebuilt and its numbers move past theirs.
        if (standaloneRegion !== undefined)
          enableStandalone(db, deviceId, standaloneRegion, kiosk.clock.now());
        const counts = replay(db, all);
        const placeholders = placeholderFines(db, now);
        const numbers = abandonOpenNumbers(db);

        // Numbers used by the set-aside events are spent: never issue them again.
        let floor = 0;
        for (const o of orphans) {
          const e = { type: o.type, payload: o.payload } as OutboxEvent;
          if (o.type === 'bill.issued') {
            const p = parsePayload(e, 'bill.issued');
            if (p) floor = Math.max(floor, billSeqOf(p.billNo));
          }
          if (o.type === 'ticket.issued') {
            const p = parsePayload(e, 'ticket.issued');
            if (p) spendDecisionNo(db, p.fine.decisionNo);
          }
        }
        const st = db.prepare('SELECT hub_url FROM sync_state WHERE id = 1').get() as {
          hub_url: string | null;
        };
        db.prepare(
          `UPDATE sync_state SET acked_seq = ?, hub_device_seq = ?, rolled_back_at = NULL, recovered_at = ?,
             cursor = 0, feed_epoch = NULL, bill_seq_floor = max(bill_seq_floor, ?), region = ?, device_name = ?,
             hub_config = ?, enrolled_at = coalesce(enrolled_at, ?) WHERE id = 1`,
        ).run(hubSeq, hubSeq, now, floor, info.region, info.name, JSON.stringify(info.config), now);
        if (!st.hub_url) throw new Error('recover: the hub address is not set');
        for (const k of info.hubKeys) {
          if (!kiosk.trust.hubKey(k.keyId)) {
            const added = kiosk.trust.addHubKey(k.keyId, k.publicKey);
            if (!added.ok) throw new RecoveryAbort(`hub key ${k.keyId}: ${added.error.message}`);
          }
        }
        const chain = verifyChain(db);
        if (!chain.ok) throw new RecoveryAbort(`the rebuilt log breaks at ${chain.firstBroken?.seq}`);
        const fk = db.pragma('foreign_key_check') as unknown[];
        if (fk.length) throw new RecoveryAbort(`${fk.length} record(s) would refer to missing rows`);
        return {
          hubEvents: hub.length,
          localEventsBefore: local.length,
          keptLocal: extra.length,
          setAside: orphans.length,
          ...counts,
          placeholderFines: placeholders,
          ...numbers,
          events: chain.events,
          chainOk: chain.ok,
        };
      })
      .immediate();
    return ok(report);
  } catch (e) {
    if (e instanceof RecoveryAbort) return fail('RECOVERY_FAILED', e.message);
    throw e;
  }
}

class RecoveryAbort extends Error {}

/** Stand-alone numbers skipped at a recovery: the next one starts at the next multiple of this, plus 1. */
export const STANDALONE_RECOVERY_STEP = 1_000_000;

/**
 * Officer numbers after a recovery. Tickets printed after the restored copy was made, and never pushed,
 * are gone from this database but their numbers are on paper: every open hub block is closed (its
 * remaining numbers are never used; the device asks the hub for a fresh block), the stand-alone sequence
 * jumps to the next multiple of STANDALONE_RECOVERY_STEP, and a block request waiting for its answer is
 * forgotten (the hub may have answered it with a block this database never received).
 */
function abandonOpenNumbers(
  db: Database,
): Pick<RecoveryReport, 'abandonedBlocks' | 'abandonedNumbers' | 'standaloneNext'> {
  const open = db
    .prepare(
      'SELECT count(*) AS blocks, coalesce(sum(last_n - next_n + 1), 0) AS numbers FROM decision_blocks WHERE standalone = 0 AND next_n <= last_n',
    )
    .get() as { blocks: number; numbers: number };
  db.prepare(
    'UPDATE decision_blocks SET next_n = last_n + 1 WHERE standalone = 0 AND next_n <= last_n',
  ).run();
  const step = STANDALONE_RECOVERY_STEP;
  const sa = db
    .prepare(
      `UPDATE decision_blocks SET next_n = min(last_n + 1, ((next_n - 1) / ${step} + 1) * ${step} + 1)
        WHERE standalone = 1 RETURNING next_n`,
    )
    .get() as { next_n: number } | undefined;
  dropPendingRequest(db);
  return {
    abandonedBlocks: open.blocks,
    abandonedNumbers: open.numbers,
    ...(sa ? { standaloneNext: sa.next_n } : {}),
  };
}

function parsePayload<T extends OutboxEvent['type']>(
  e: Pick<OutboxEvent, 'type' | 'payload'>,
  type: T,
): EventPayload<T> | undefined {
  if (e.type !== type) return undefined;
  const p = parseEventPayload(type, e.payload);
  return p.success ? (p.data as EventPayload<T>) : undefined;
}

/** The sequence in a bill number ({DEVICE}-{seq}, main/bills makeBillNo). */
function billSeqOf(billNo: string): number {
  const n = Number(billNo.slice(billNo.lastIndexOf('-') + 1));
  return Number.isSafeInteger(n) ? n : 0;
}

/** Moves the block holding a decision number past it, so the number is never taken again. */
function spendDecisionNo(db: Database, decisionNo: string): string | undefined {
  const blocks = db.prepare('SELECT block_id, prefix, width, first_n, last_n FROM decision_blocks').all() as {
    block_id: string;
    prefix: string;
    width: number;
    first_n: number;
    last_n: number;
  }[];
  for (const b of blocks) {
    if (decisionNo.length !== b.prefix.length + b.width || !decisionNo.startsWith(b.prefix)) continue;
    const n = Number(decisionNo.slice(b.prefix.length));
    if (!Number.isSafeInteger(n) || n < b.first_n || n > b.last_n) continue;
    db.prepare('UPDATE decision_blocks SET next_n = max(next_n, ?) WHERE block_id = ?').run(
      n + 1,
      b.block_id,
    );
    return b.block_id;
  }
  return undefined;
}

/** Applies each event's effect on bills, payments, fines and tickets, as the services wrote them. */
function replay(
  db: Database,
  events: readonly OutboxEvent[],
): { bills: number; payments: number; tickets: number } {
  const insBill = db.prepare(
    `INSERT INTO bills (bill_no, seq, decision_no, fine_fen, late_fee_fen, amount_fen, issued_at, expires_at, token, status)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'live')`,
  );
  const close = db.prepare(
    "UPDATE bills SET status = ?, void_reason = ?, closed_at = ? WHERE bill_no = ? AND status = 'live'",
  );
  const insPay = db.prepare(
    `INSERT INTO payments (txn_id, bill_no, channel, amount_fen, paid_at, source, token, recorded_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (txn_id) DO NOTHING`,
  );
  const billPaid = db.prepare("UPDATE bills SET status = 'paid', closed_at = ? WHERE bill_no = ?");
  const finePaid = db.prepare(
    "UPDATE fines SET status = 'paid', updated_at = ? WHERE decision_no = ? AND status = 'unpaid'",
  );
  const insFine = db.prepare(`
    INSERT INTO fines (decision_no, region, plate, vin6, violation_code, description, description_en, place,
                       occurred_at, decided_on, fine_fen, points, status, updated_at)
    VALUES (@decisionNo, @region, @plate, @vehicleIdLast6, @violationCode, @description, @descriptionEn, @place,
            @occurredAt, @decidedOn, @fineFen, @points, @status, @now) ON CONFLICT (decision_no) DO NOTHING`);
  const insTicket = db.prepare(
    `INSERT INTO tickets (decision_no, block_id, officer_id, vehicle_kind, plate_kind, bill_no, issued_at)
     VALUES (?, ?, ?, ?, NULL, ?, ?) ON CONFLICT (decision_no) DO NOTHING`,
  );
  let bills = 0;
  let payments = 0;
  let tickets = 0;
  for (const e of events) {
    const atS = Math.floor(e.at / 1000);
    switch (e.type) {
      case 'bill.issued': {
        const p = parsePayload(e, 'bill.issued');
        if (!p) break;
        insBill.run(
          p.billNo,
          billSeqOf(p.billNo),
          p.decisionNo,
          p.fineFen,
          p.lateFeeFen,
          p.amountFen,
          p.issuedAt,
          p.expiresAt,
          p.token,
        );
        bills++;
        break;
      }
      case 'bill.voided': {
        const p = parsePayload(e, 'bill.voided');
        if (p) close.run(p.reason === 'expired' ? 'expired' : 'voided', p.reason, p.at, p.billNo);
        break;
      }
      case 'payment.confirmed': {
        const p = parsePayload(e, 'payment.confirmed');
        if (!p) break;
        insPay.run(p.txnId, p.billNo, p.channel, p.amountFen, p.paidAt, p.source, p.token ?? null, atS);
        billPaid.run(atS, p.billNo);
        finePaid.run(atS, p.decisionNo);
        payments++;
        break;
      }
      case 'ticket.issued': {
        const p = parsePayload(e, 'ticket.issued');
        if (!p) break;
        insFine.run({ ...p.fine, descriptionEn: p.fine.descriptionEn ?? null, now: atS });
        const block = spendDecisionNo(db, p.fine.decisionNo);
        // A ticket under a block this database never received keeps its fine and bill; its number
        // cannot be taken again here, since the block is not held.
        if (block) {
          insTicket.run(p.fine.decisionNo, block, p.officerId, p.vehicleKind, p.billNo ?? null, atS);
          tickets++;
        }
        break;
      }
      default:
        // fines.imported, print.job, shift.closed: no bill, payment or ticket state.
        break;
    }
  }
  return { bills, payments, tickets };
}

/** A bill whose fine neither side knows gets a placeholder fine (marked as recovered), so nothing is dropped. */
function placeholderFines(db: Database, now: number): number {
  const rows = db
    .prepare(
      `SELECT b.decision_no, b.fine_fen, b.issued_at, max(b.status = 'paid') AS paid FROM bills b
        WHERE NOT EXISTS (SELECT 1 FROM fines f WHERE f.decision_no = b.decision_no) GROUP BY b.decision_no`,
    )
    .all() as { decision_no: string; fine_fen: number; issued_at: number; paid: number }[];
  const region =
    (db.prepare('SELECT region FROM sync_state WHERE id = 1').get() as { region: string | null } | undefined)
      ?.region ?? '000000';
  const ins = db.prepare(
    `INSERT INTO fines (decision_no, region, plate, vin6, violation_code, description, description_en, place,
                        occurred_at, decided_on, fine_fen, points, status, updated_at)
     VALUES (?, ?, '-', '000000', '-', '（恢复的记录，罚款详情未知）', '(recovered record; fine details unknown)', '-', '', ?, ?, 0, ?, ?)`,
  );
  for (const r of rows)
    ins.run(
      r.decision_no,
      region || '000000',
      shanghaiDate(r.issued_at),
      r.fine_fen,
      r.paid ? 'paid' : 'unpaid',
      now,
    );
  return rows.length;
}
