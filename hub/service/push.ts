// Push: a device's batch of events applied once per (device, seq), the hash chain checked, all or nothing.
import type { z } from 'zod';
import {
  eventPayloads,
  firstBrokenEvent,
  parseEventPayload,
  type OutboxEvent,
} from '../../protocol/events.ts';
import type { Fine } from '../../protocol/fines.ts';
import { fail, failure, FailureError, ok, type Result } from '../../protocol/result.ts';
import type { PushResponse, RejectedEvent } from '../../protocol/sync.ts';
import { parseBillToken } from '../../protocol/tokens.ts';
import { verifyConfirmation, type TrustedHubKey } from '../../protocol/acceptance.ts';
import { blockHolding } from '../officer/blocks.ts';
import { isOwnBillNo, STANDALONE_ID_CHARS, standaloneIdPart, standaloneIdPartOf } from '../trust/acts.ts';
import { recordSecurity } from '../trust/security.ts';
import type { HubQueryable } from '../db.ts';
import type { HubCtx } from './context.ts';
import type { HubKeys } from './keys.ts';
import type { Device, SettleInput, SettleResult, HubKey } from './types.ts';
import { queueCloseEndedOrders } from '../pay/jobs.ts';

/** What push needs of the other parts: the keys, settlement, the fines upsert and the nonce recorder. */
export interface PushDeps {
  keys: HubKeys;
  settleIn: (
    tx: HubQueryable,
    input: SettleInput,
    o: { signer?: HubKey; token?: string; source: 'channel' | 'kiosk'; deviceId?: string },
  ) => Promise<Result<SettleResult>>;
  upsertFines: (tx: HubQueryable, fines: Fine[]) => Promise<number>;
  recordNonce: (q: HubQueryable, deviceId: string, nonce: string) => Promise<boolean>;
}

/** Builds hub.push. */
export function createPush(ctx: HubCtx, deps: PushDeps) {
  const { db, nowS, notifyFeed, addChange } = ctx;
  const { keys, settleIn, upsertFines, recordNonce } = deps;

  interface Applied {
    status: 'applied' | 'rejected';
    reason: string | null;
  }

  /** Applies one event's effect inside the push transaction; returns a rejection for a bad event. */
  async function applyEvent(
    tx: HubQueryable,
    dev: Device,
    e: OutboxEvent,
    pending: Pending,
    feed: { changed: boolean },
  ): Promise<RejectedEvent | undefined> {
    const reject = (code: string, reason: string): RejectedEvent => ({
      seq: e.seq,
      eventId: e.eventId,
      code,
      reason,
    });
    const parsed = parseEventPayload(e.type, e.payload);
    if (!parsed.success)
      return reject(
        'MALFORMED',
        parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') ||
          'payload is not JSON',
      );
    const needFeed = (): void => {
      feed.changed = true;
    };
    switch (e.type) {
      case 'bill.issued': {
        const p = parsed.data as z.infer<(typeof eventPayloads)['bill.issued']>;
        // The push itself is signed by this device's key, so the token in it is the device's word already;
        // checking each token's own signature again would cost an Ed25519 verify per bill for nothing.
        // The pay page verifies the token's signature when it is scanned (bills.ensureKnown).
        const v = parseBillToken(p.token);
        if (!v.ok) return reject(v.error.code, `bill token: ${v.error.message}`);
        if (
          v.value.claims.deviceId !== dev.id ||
          v.value.claims.billNo !== p.billNo ||
          v.value.claims.amountFen !== p.amountFen ||
          v.value.claims.decisionNo !== p.decisionNo ||
          v.value.claims.issuedAt !== p.issuedAt ||
          v.value.claims.expiresAt !== p.expiresAt
        ) {
          // Every claim the signed token carries must equal the event's, or a device could store times
          // (a backdated issue day dodging the late fee) that the printed token does not say.
          return reject('MALFORMED', 'bill token does not match the event');
        }
        // A device issues, replaces and voids only bills in its own number range (hub/trust/acts.ts).
        if (!isOwnBillNo(dev.id, p.billNo))
          return reject('NOT_OWN_BILL', `bill ${p.billNo} is not a number of this device`);
        if (p.replaces && !isOwnBillNo(dev.id, p.replaces)) {
          return reject('NOT_OWN_BILL', `replaced bill ${p.replaces} is not a bill of this device`);
        }
        pending.bills.push({
          e,
          row: [
            v.value.claims.billNo,
            v.value.claims.decisionNo,
            v.value.claims.amountFen,
            v.value.claims.issuedAt,
            v.value.claims.expiresAt,
            p.token,
          ],
        });
        if (p.replaces) {
          pending.voids.push({ e, billNo: p.replaces, reason: 'reissued', at: p.issuedAt, mayReject: false });
        }
        return undefined;
      }
      case 'bill.voided': {
        const p = parsed.data as z.infer<(typeof eventPayloads)['bill.voided']>;
        if (!isOwnBillNo(dev.id, p.billNo))
          return reject('NOT_OWN_BILL', `bill ${p.billNo} is not a bill of this device`);
        pending.voids.push({ e, billNo: p.billNo, reason: p.reason, at: p.at, mayReject: true });
        return undefined;
      }
      case 'payment.confirmed': {
        const p = parsed.data as z.infer<(typeof eventPayloads)['payment.confirmed']>;
        // A device's word is no payment: only a confirmation the hub signed, checked with the hub's own keys,
        // for a bill of this device, at the bill's amount (protocol/acceptance.ts decides the rest).
        if (!p.token)
          return reject('MALFORMED', 'a payment is taken only as a hub-signed confirmation token');
        pending.hubKeys ??= await keys.trustedMap(tx);
        const hubKeys = pending.hubKeys;
        const v = verifyConfirmation(p.token, (id) => hubKeys.get(id));
        if (!v.ok) return reject(v.error.code, `confirmation token: ${v.error.message}`);
        const c = v.value;
        if (
          c.billNo !== p.billNo ||
          c.amountFen !== p.amountFen ||
          c.channel !== p.channel ||
          c.txnId !== p.txnId ||
          c.paidAt !== p.paidAt
        ) {
          return reject('MALFORMED', 'the event does not match its confirmation token');
        }
        // A retired key may have leaked: what it signed is taken only for a payment this hub itself holds.
        const signedBy = hubKeys.get(c.keyId);
        if (signedBy?.retiredAt !== undefined && signedBy.retiredAt !== null) {
          const own = await tx.query('SELECT 1 FROM payments WHERE channel = $1 AND txn_id = $2', [
            c.channel,
            c.txnId,
          ]);
          if (own.rows.length === 0) {
            return reject('KEY_RETIRED', `key ${c.keyId} is retired and payment ${c.txnId} is not held here`);
          }
        }
        await flushPending(tx, dev, pending);
        const b = await tx.query<{ device_id: string; decision_no: string }>(
          'SELECT device_id, decision_no FROM bills WHERE bill_no = $1',
          [c.billNo],
        );
        const bill = b.rows[0];
        if (!bill) return reject('BILL_NOT_FOUND', c.billNo);
        if (bill.device_id !== dev.id)
          return reject('NOT_OWN_BILL', `bill ${c.billNo} is not a bill of this device`);
        // The fine is the bill's, never the payload's.
        if (bill.decision_no !== p.decisionNo)
          return reject('WRONG_BILL', `bill ${c.billNo} is not for ${p.decisionNo}`);
        needFeed();
        const st = await settleIn(
          tx,
          { billNo: c.billNo, amountFen: c.amountFen, channel: c.channel, txnId: c.txnId, paidAt: c.paidAt },
          { token: p.token, source: 'kiosk', deviceId: dev.id },
        );
        if (!st.ok) return reject(st.error.code, st.error.message);
        return undefined;
      }
      case 'ticket.issued': {
        const p = parsed.data as z.infer<(typeof eventPayloads)['ticket.issued']>;
        // A decision number is the device's to give only if a block handed to it holds the number, or it
        // is the device's own stand-alone sequence ({deviceId}S{digits}); anything else would let two
        // devices issue one number.
        const no = p.fine.decisionNo;
        const part = standaloneIdPart(no);
        if (part !== undefined) {
          // The stand-alone range is the device's own, exactly: its id part equals this device's, and no
          // other enrolled device shares that id part (else the range would name two devices).
          if (part !== standaloneIdPartOf(dev.id)) {
            return reject(
              'NUMBER_NOT_ISSUED',
              `decision number ${no} is in another device's stand-alone range`,
            );
          }
          const shared = await tx.query<{ n: number }>(
            'SELECT count(*)::int AS n FROM devices WHERE left(id, $1) = $2',
            [STANDALONE_ID_CHARS, part],
          );
          if (Number(shared.rows[0]?.n) !== 1) {
            return reject('NUMBER_NOT_ISSUED', `stand-alone range ${part}S is shared by several devices`);
          }
        } else if ((await blockHolding(tx, no)) !== dev.id) {
          return reject('NUMBER_NOT_ISSUED', `decision number ${no} is not in a block issued to this device`);
        }
        // A ticket creates its fine; it never overwrites a fine the hub holds.
        const held = await tx.query<{ data: Fine }>('SELECT data FROM fines WHERE decision_no = $1', [no]);
        const h = held.rows[0]?.data;
        if (h && JSON.stringify({ ...h, status: '' }) !== JSON.stringify({ ...p.fine, status: '' })) {
          return reject('NUMBER_NOT_ISSUED', `decision number ${no} already holds another fine`);
        }
        if (h) return undefined;
        needFeed();
        // A new ticket's fine is owed: only money (a settled payment) ever marks it paid.
        await upsertFines(tx, [{ ...p.fine, status: 'unpaid' }]);
        return undefined;
      }
      default:
        // fines.imported, print.job, shift.closed: kept in the log for reports; no state to change.
        return undefined;
    }
  }

  interface PendingVoid {
    e: OutboxEvent;
    billNo: string;
    reason: string;
    at: number;
    /** A staff void of a bill the hub knows is paid is refused; a reissue's void is not. */
    mayReject: boolean;
  }
  /** Bills and voids of a batch, written in bulk: a statement per batch, not per event. */
  interface Pending {
    bills: { e: OutboxEvent; row: unknown[] }[];
    voids: PendingVoid[];
    rejected: Map<number, RejectedEvent>;
    /** The hub's keys, read once per push when a payment needs them. */
    hubKeys?: Map<string, TrustedHubKey>;
  }

  async function flushPending(tx: HubQueryable, dev: Device, pending: Pending): Promise<void> {
    await flushBills(tx, dev, pending);
    const voids = pending.voids.splice(0);
    if (voids.length === 0) return;
    const paid = await tx.query<{ bill_no: string }>(
      "SELECT bill_no FROM bills WHERE bill_no = ANY($1::text[]) AND status = 'paid'",
      [voids.filter((v) => v.mayReject).map((v) => v.billNo)],
    );
    const paidSet = new Set(paid.rows.map((r) => r.bill_no));
    const ok = voids.filter((v) => {
      if (v.mayReject && paidSet.has(v.billNo)) {
        pending.rejected.set(v.e.seq, {
          seq: v.e.seq,
          eventId: v.e.eventId,
          code: 'BILL_PAID',
          reason: `bill ${v.billNo} is paid at the hub`,
        });
        return false;
      }
      return true;
    });
    if (ok.length === 0) return;
    const changed = await tx.query<{ bill_no: string }>(
      "UPDATE bills SET status = 'voided' WHERE bill_no = ANY($1::text[]) AND status = 'live' RETURNING bill_no",
      [ok.map((v) => v.billNo)],
    );
    // A void is recorded only where it voided something: a live bill, or a bill the hub does not hold yet
    // (so its token, scanned later, is refused). A paid bill stays paid and is never also listed as voided.
    const held = await tx.query<{ bill_no: string }>(
      'SELECT bill_no FROM bills WHERE bill_no = ANY($1::text[])',
      [ok.map((v) => v.billNo)],
    );
    const heldSet = new Set(held.rows.map((r) => r.bill_no));
    const changedSet = new Set(changed.rows.map((r) => r.bill_no));
    // A bill voided at its kiosk: its open channel orders are closed too.
    await queueCloseEndedOrders(tx, nowS(), { billNos: [...changedSet] });
    const rec = ok.filter((v) => changedSet.has(v.billNo) || !heldSet.has(v.billNo));
    if (rec.length === 0) return;
    await tx.query(
      `INSERT INTO voids (bill_no, reason, at, device_id)
       SELECT b, r, a, $4 FROM unnest($1::text[], $2::text[], $3::bigint[]) AS u(b, r, a)
       ON CONFLICT DO NOTHING`,
      [rec.map((v) => v.billNo), rec.map((v) => v.reason), rec.map((v) => v.at), dev.id],
    );
  }

  async function flushBills(tx: HubQueryable, dev: Device, pending: Pending): Promise<void> {
    const rows = pending.bills.splice(0);
    if (rows.length === 0) return;
    const cols: unknown[][] = [[], [], [], [], [], []];
    for (const r of rows) r.row.forEach((v, i) => cols[i]!.push(v));
    const ins = await tx.query<{ bill_no: string }>(
      `INSERT INTO bills (bill_no, device_id, decision_no, amount_fen, issued_at, expires_at, token, created_at)
       SELECT b, $1, d, a, i, x, t, $8
       FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::text[]) AS u(b, d, a, i, x, t)
       ON CONFLICT (bill_no) DO NOTHING RETURNING bill_no`,
      [dev.id, ...cols, nowS()],
    );
    if (ins.rows.length === rows.length) return;
    // A number the hub already holds must hold the same token (a pay page may have stored it first);
    // another token under it is a bill number used twice (a kiosk database gone back in time).
    const inserted = new Set(ins.rows.map((r) => r.bill_no));
    const rest = rows.filter((r) => !inserted.has(r.row[0] as string));
    const held = await tx.query<{ bill_no: string; token: string }>(
      'SELECT bill_no, token FROM bills WHERE bill_no = ANY($1::text[])',
      [rest.map((r) => r.row[0])],
    );
    const tokens = new Map(held.rows.map((r) => [r.bill_no, r.token]));
    for (const r of rest) {
      if (tokens.get(r.row[0] as string) !== r.row[5]) {
        pending.rejected.set(r.e.seq, {
          seq: r.e.seq,
          eventId: r.e.eventId,
          code: 'BILL_CONFLICT',
          reason: `bill ${String(r.row[0])} is held with another token`,
        });
      }
    }
  }

  /** Applies a batch of a device's events: each (device, seq) once, the chain checked, all or nothing. */
  async function push(dev: Device, events: OutboxEvent[], nonce?: string): Promise<Result<PushResponse>> {
    if (events.length === 0) return fail('MALFORMED', 'no events');
    const other = events.find((e) => e.deviceId !== dev.id);
    if (other) return fail('UNAUTHORIZED', `event ${other.seq} belongs to device ${other.deviceId}`);
    for (let i = 1; i < events.length; i++) {
      if (events[i]!.seq !== events[i - 1]!.seq + 1) {
        return fail('SEQ_GAP', `events must be consecutive: ${events[i - 1]!.seq} then ${events[i]!.seq}`, {
          seq: events[i]!.seq,
        });
      }
    }
    try {
      return await db.transaction(async (tx) => {
        // The device row lock serializes a device's pushes across hub processes; the nonce (when the
        // caller deferred it) is recorded in the same statement.
        const d = nonce
          ? await tx.query<{ last_seq: number; last_hash: string; enabled: boolean; fresh: number }>(
              `WITH n AS (INSERT INTO nonces (device_id, nonce, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING 1)
               SELECT last_seq, last_hash, enabled, (SELECT count(*)::int FROM n) AS fresh FROM devices WHERE id = $1 FOR UPDATE`,
              [dev.id, nonce, nowS()],
            )
          : await tx.query<{ last_seq: number; last_hash: string; enabled: boolean; fresh: number }>(
              'SELECT last_seq, last_hash, enabled, 1 AS fresh FROM devices WHERE id = $1 FOR UPDATE',
              [dev.id],
            );
        const row = d.rows[0];
        if (row && Number(row.fresh) === 0) throw new FailureError(failure('REPLAYED'));
        if (!row) throw new FailureError(failure('UNKNOWN_DEVICE', dev.id));
        if (!row.enabled) throw new FailureError(failure('DEVICE_DISABLED', dev.id));
        const lastSeq = Number(row.last_seq);
        const dupes = events.filter((e) => e.seq <= lastSeq);
        const fresh = events.filter((e) => e.seq > lastSeq);
        if (dupes.length) {
          // A seq the hub holds must be the very same event, or the device's log was rewritten.
          const held = await tx.query<{ seq: number; hash: string }>(
            'SELECT seq, hash FROM events WHERE device_id = $1 AND seq >= $2 AND seq <= $3',
            [dev.id, dupes[0]!.seq, dupes.at(-1)!.seq],
          );
          const byseq = new Map(held.rows.map((r) => [Number(r.seq), r.hash]));
          const diff = dupes.find((e) => byseq.get(e.seq) !== e.hash);
          if (diff) {
            throw new FailureError(
              failure('CHAIN_BROKEN', `event ${diff.seq} differs from the one the hub holds`, {
                seq: diff.seq,
              }),
            );
          }
        }
        const rejected: RejectedEvent[] = [];
        if (fresh.length) {
          if (fresh[0]!.seq !== lastSeq + 1) {
            throw new FailureError(
              failure('SEQ_GAP', `expected seq ${lastSeq + 1}, got ${fresh[0]!.seq}`, {
                expectedSeq: lastSeq + 1,
              }),
            );
          }
          const broken = firstBrokenEvent(fresh, row.last_hash, lastSeq);
          if (broken >= 0) {
            const s = fresh[broken]!.seq;
            throw new FailureError(failure('CHAIN_BROKEN', `at seq ${s}`, { seq: s }));
          }
          const pending: Pending = { bills: [], voids: [], rejected: new Map() };
          const feed = { changed: false };
          for (const e of fresh) {
            const rej = await applyEvent(tx, dev, e, pending, feed);
            if (rej) pending.rejected.set(e.seq, rej);
          }
          await flushPending(tx, dev, pending);
          rejected.push(...[...pending.rejected.values()].sort((a, b) => a.seq - b.seq));
          if (rejected.length) {
            // Kept, counted for the operator, and sent back to the device (its pull) so staff see it even
            // when this answer is lost.
            const types = new Map(fresh.map((e) => [e.seq, e.type]));
            await recordSecurity(
              tx,
              rejected.map((x) => ({
                at: nowS(),
                deviceId: dev.id,
                source: 'push' as const,
                code: x.code,
                reason: x.reason,
                eventSeq: x.seq,
                eventType: types.get(x.seq) ?? null,
                subject: null,
              })),
            );
            feed.changed = true;
            for (const x of rejected) {
              await addChange(
                tx,
                'refused',
                { deviceId: dev.id },
                { seq: x.seq, eventId: x.eventId, code: x.code, reason: x.reason },
              );
            }
          }
          const status: Applied[] = fresh.map((e) => {
            const rej = pending.rejected.get(e.seq);
            return rej
              ? { status: 'rejected', reason: `${rej.code}: ${rej.reason}` }
              : { status: 'applied', reason: null };
          });
          const cols: unknown[][] = [[], [], [], [], [], [], [], [], [], []];
          fresh.forEach((e, i) => {
            const s = status[i]!;
            [e.seq, e.eventId, e.type, e.at, e.payload, e.prevHash, e.hash, s.status, s.reason].forEach(
              (v, j) => cols[j]!.push(v),
            );
          });
          const last = fresh.at(-1)!;
          const ins = await tx.query<{ n: number }>(
            `WITH ins AS (
               INSERT INTO events (device_id, seq, event_id, type, at, payload, prev_hash, hash, status, reason, received_at)
               SELECT $1, s, i, t, a, p, ph, h, st, r, $11
               FROM unnest($2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])
                 AS u(s, i, t, a, p, ph, h, st, r)
               ON CONFLICT (device_id, seq) DO NOTHING RETURNING 1),
             upd AS (UPDATE devices SET last_seq = $12, last_hash = $13, last_seen_at = $11 WHERE id = $1 RETURNING 1)
             SELECT (SELECT count(*)::int FROM ins) AS n, (SELECT count(*)::int FROM upd) AS u`,
            [dev.id, ...cols.slice(0, 9), nowS(), last.seq, last.hash],
          );
          if (Number(ins.rows[0]?.n) !== fresh.length)
            throw new Error('events were inserted concurrently despite the device lock');
          if (feed.changed) await notifyFeed(tx);
        }
        return ok<PushResponse>({
          highestSeq: Math.max(lastSeq, fresh.at(-1)?.seq ?? 0),
          applied: fresh.length - rejected.length,
          duplicates: dupes.length,
          rejected,
          hubTime: nowS(),
        });
      });
    } catch (e) {
      if (e instanceof FailureError) {
        // A refused request's nonce still counts as used: the same request must not succeed later.
        if (nonce && e.failure.code !== 'REPLAYED') await recordNonce(db, dev.id, nonce);
        return { ok: false, error: e.failure };
      }
      throw e;
    }
  }

  return push;
}
