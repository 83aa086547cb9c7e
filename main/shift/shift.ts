// End-of-shift report: counts and totals per payment channel (and bills issued and voided) since the last
// shift closed. The report is stored with its `shift.closed` outbox event in one transaction.
import { randomBytes } from 'node:crypto';
import type { Database as Db } from '../../db/connection.ts';
import { ok, type Result } from '../../protocol/result.ts';
import { unixSeconds, type Clock } from '../../protocol/time.ts';

export interface ShiftSource {
  billsSince(unix: number): { billNo: string; amountFen: number; issuedAt: number; status: string }[];
  paymentsSince(unix: number): { billNo: string; channel: string; amountFen: number; paidAt: number }[];
}

export interface ShiftTotals {
  [key: string]: { count: number; amountFen: number };
}

export interface ShiftReport {
  shiftId: string;
  staffId: string;
  staffName: string;
  deviceId: string;
  openedAt: number;
  closedAt: number;
  /** Keys: alipay, wechat (payments), issued, voided (bills). */
  totals: ShiftTotals;
  paidFen: number;
  /** Bills voided at the counter in this shift, each with the reason staff gave. */
  voids?: { billNo: string; reason: string; staffId: string; voidedAt: number }[];
  /**
   * Copies of receipts printed in this shift (migration 022's receipt_copies): by a citizen's scan of a
   * confirmation already used, or by staff (with the staff id). Failed attempts are left out.
   */
  reprints?: { billNo: string; by: 'scan' | 'staff'; staffId?: string; staffName?: string; at: number }[];
}

/** Writes an outbox event inside the caller's transaction (main/outbox appendEvent). */
export type AppendEvent = (db: Db, type: 'shift.closed', payload: object, atMs: number) => unknown;

export interface ShiftService {
  close(staffId: string): Result<ShiftReport>;
  list(limit?: number): ShiftReport[];
}

export function createShiftService(opts: {
  db: Db;
  clock: Clock;
  source: ShiftSource;
  deviceId: string;
  appendEvent?: AppendEvent;
}): ShiftService {
  const { db, clock, source } = opts;
  return {
    close(staffId) {
      const closedAt = unixSeconds(clock);
      const last = db.prepare('SELECT max(closed_at) AS t FROM shifts').get() as { t: number | null };
      // The first shift began with the kiosk's first recorded activity (its first outbox event).
      const first = db.prepare('SELECT min(at) AS at FROM outbox').get() as { at: number | null };
      const openedAt = last.t ?? (first.at !== null ? Math.floor(first.at / 1000) : closedAt);
      const totals: ShiftTotals = {
        alipay: { count: 0, amountFen: 0 },
        wechat: { count: 0, amountFen: 0 },
        issued: { count: 0, amountFen: 0 },
        voided: { count: 0, amountFen: 0 },
      };
      for (const p of source.paymentsSince(openedAt)) {
        if (p.paidAt >= closedAt + 1) continue;
        const t = (totals[p.channel] ??= { count: 0, amountFen: 0 });
        t.count++;
        t.amountFen += p.amountFen;
      }
      for (const b of source.billsSince(openedAt)) {
        totals.issued!.count++;
        totals.issued!.amountFen += b.amountFen;
        if (b.status === 'voided') {
          totals.voided!.count++;
          totals.voided!.amountFen += b.amountFen;
        }
      }
      const voids = (
        db
          .prepare(
            'SELECT bill_no, reason, staff_id, voided_at FROM void_reasons WHERE voided_at >= ? AND voided_at <= ? ORDER BY voided_at, bill_no',
          )
          .all(openedAt, closedAt) as {
          bill_no: string;
          reason: string;
          staff_id: string;
          voided_at: number;
        }[]
      ).map((v) => ({ billNo: v.bill_no, reason: v.reason, staffId: v.staff_id, voidedAt: v.voided_at }));
      const reprints = (
        db
          .prepare(
            `SELECT c.bill_no, c.asked_by, c.staff_id, s.name, c.at FROM receipt_copies c
               LEFT JOIN staff s ON s.id = c.staff_id
              WHERE c.at >= ? AND c.at <= ? AND c.outcome <> 'failed' ORDER BY c.at, c.id`,
          )
          .all(openedAt, closedAt) as {
          bill_no: string;
          asked_by: 'scan' | 'staff';
          staff_id: string | null;
          name: string | null;
          at: number;
        }[]
      ).map((c) => ({
        billNo: c.bill_no,
        by: c.asked_by,
        ...(c.staff_id ? { staffId: c.staff_id } : {}),
        ...(c.name ? { staffName: c.name } : {}),
        at: c.at,
      }));
      const name = db.prepare('SELECT name FROM staff WHERE id = ?').get(staffId) as
        { name: string } | undefined;
      const report: ShiftReport = {
        shiftId: `SH${randomBytes(6).toString('hex').toUpperCase()}`,
        staffId,
        staffName: name?.name ?? staffId,
        deviceId: opts.deviceId,
        openedAt,
        closedAt,
        totals,
        paidFen: (totals.alipay?.amountFen ?? 0) + (totals.wechat?.amountFen ?? 0),
        ...(voids.length ? { voids } : {}),
        ...(reprints.length ? { reprints } : {}),
      };
      db.transaction(() => {
        db.prepare(
          'INSERT INTO shifts (id, staff_id, opened_at, closed_at, totals, report) VALUES (?, ?, ?, ?, ?, ?)',
        ).run(report.shiftId, staffId, openedAt, closedAt, JSON.stringify(totals), JSON.stringify(report));
        opts.appendEvent?.(
          db,
          'shift.closed',
          { shiftId: report.shiftId, staffId, openedAt, closedAt, totals },
          clock.now(),
        );
      })();
      return ok(report);
    },
    list(limit = 20) {
      return (
        db.prepare('SELECT report FROM shifts ORDER BY closed_at DESC LIMIT ?').all(limit) as {
          report: string;
        }[]
      ).map((r) => JSON.parse(r.report) as ShiftReport);
    },
  };
}
