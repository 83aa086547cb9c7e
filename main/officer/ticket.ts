// On-the-spot tickets. One write transaction takes the next decision number, inserts the fine, issues its
// bill and appends ticket.issued then bill.issued: after a crash either all of it exists or none of it,
// so a number is never issued twice and never lost half-used.
import { z } from 'zod';
import { writeTx } from '../../db/connection.ts';
import { BILL_NEXT_SEQ_SQL, issueGuard } from '../sync/guard.ts';
import { fineSchema, type Fine } from '../../protocol/fines.ts';
import { VIN6_RE } from '../../protocol/ids.ts';
import { FailureError, fail, ok, type Result } from '../../protocol/result.ts';
import { shanghaiDate, unixSeconds } from '../../protocol/time.ts';
import { BILL_VALIDITY_SECONDS, makeBillToken } from '../../protocol/tokens.ts';
import { makeBillNo, type BillView } from '../bills/bills.ts';
import type { Kiosk } from '../kiosk.ts';
import { appendEvent } from '../outbox/outbox.ts';
import { PLATELESS_KINDS, vehicleKindSchema, type CodeTable, type VehicleKind } from './codes.ts';
import { numberStatus, takeNextNumber, type NumberStatus } from './numbers.ts';
import { officerIdSchema } from './officers.ts';
import { normalizeVin6, parsePlate, type PlateKind } from '../../protocol/plate.ts';

/** Stored as the plate of fines that have none, so the fine stays well-formed. */
export const NO_PLATE: Record<'pedestrian' | 'non-motor', string> = {
  pedestrian: '行人',
  'non-motor': '非机动车',
};
/** The vehicle id is rarely at hand on the road; tickets store this unless the officer types it. */
export const UNKNOWN_VIN6 = '000000';

export const ticketInputSchema = z.object({
  plate: z.string().max(32).optional(),
  vehicleKind: vehicleKindSchema.default('small-car'),
  code: z.string().min(1).max(16),
  /** Officer's amount for a code with a range; a fixed code takes its own. */
  fineFen: z.number().int().nonnegative().optional(),
  place: z.string().trim().min(1, 'place: required').max(200),
  officerId: officerIdSchema,
  /** Last 6 of the vehicle id, so a plate search at any kiosk finds the ticket. */
  vin6: z.string().max(32).transform(normalizeVin6).pipe(z.string().regex(VIN6_RE)).optional(),
  /** The party (driver, rider, pedestrian): printed on the notice, kept on this device only. */
  partyName: z
    .string()
    .trim()
    .min(1)
    .max(40)
    .regex(/^[^\p{Cc}]+$/u)
    .optional(),
  /** Driving licence number (usually the 18-character id number); none for pedestrians. */
  licenceNo: z
    .string()
    .max(40)
    .transform(normalizeVin6)
    .pipe(z.string().regex(/^[0-9A-Z]{6,20}$/))
    .optional(),
});
export type TicketInput = z.input<typeof ticketInputSchema>;

export interface TicketView {
  decisionNo: string;
  /** The number came from the device's own stand-alone sequence, not from a hub block. */
  standalone: boolean;
  blockId: string;
  officerId: string;
  vehicleKind: VehicleKind;
  plateKind?: PlateKind;
  points: number;
  fine: Fine;
  bill: BillView;
  /** Numbers left after this ticket, and whether to warn the officer. */
  numbers: NumberStatus;
  issuedAt: number;
  /** The party, when the officer wrote it down. */
  party?: { name?: string; licenceNo?: string };
}

interface TicketRow {
  decision_no: string;
  block_id: string;
  officer_id: string;
  vehicle_kind: VehicleKind;
  plate_kind: PlateKind | null;
  bill_no: string | null;
  issued_at: number;
  standalone: number;
}

export interface TicketService {
  issue(input: unknown): Result<TicketView>;
  get(decisionNo: string): Result<TicketView>;
  /** Tickets written on this device, newest first. */
  list(limit?: number): TicketView[];
  recentPlaces(limit?: number): string[];
  numbers(): NumberStatus;
}

/** ISO 8601 in Asia/Shanghai with its offset, from Unix seconds. */
export function shanghaiIso(unix: number): string {
  return new Date((unix + 8 * 3600) * 1000).toISOString().slice(0, 19) + '+08:00';
}

export function createTicketService(kiosk: Kiosk, codes: () => CodeTable): TicketService {
  const { db, clock, identity } = kiosk;
  const insertFine = db.prepare(`
    INSERT INTO fines (decision_no, region, plate, vin6, violation_code, description, description_en, place,
                       occurred_at, decided_on, fine_fen, points, status, updated_at)
    VALUES (@decisionNo, @region, @plate, @vehicleIdLast6, @violationCode, @description, @descriptionEn, @place,
            @occurredAt, @decidedOn, @fineFen, @points, 'unpaid', @now)`);
  const regionOf = db.prepare<[string], { region: string }>(
    'SELECT region FROM decision_blocks WHERE block_id = ?',
  );
  const nextBillSeq = db.prepare<[], { n: number }>(BILL_NEXT_SEQ_SQL);
  const insertBill = db.prepare(`
    INSERT INTO bills (bill_no, seq, decision_no, fine_fen, late_fee_fen, amount_fen, issued_at, expires_at, token, status)
    VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?, 'live')`);
  const insertTicket = db.prepare(`
    INSERT INTO tickets (decision_no, block_id, officer_id, vehicle_kind, plate_kind, bill_no, issued_at)
    VALUES (?, ?, ?, ?, ?, ?, ?)`);
  const insertParty = db.prepare<[string, string | null, string | null]>(
    'INSERT INTO ticket_parties (decision_no, name, licence_no) VALUES (?, ?, ?)',
  );
  const partyOf = db.prepare<[string], { name: string | null; licence_no: string | null }>(
    'SELECT name, licence_no FROM ticket_parties WHERE decision_no = ?',
  );
  const usePlace = db.prepare(`
    INSERT INTO recent_places (place, used_at, uses) VALUES (?, ?, 1)
    ON CONFLICT (place) DO UPDATE SET used_at = excluded.used_at, uses = recent_places.uses + 1`);
  const ticketRow = db.prepare<[string], TicketRow>(
    `SELECT t.*, b.standalone FROM tickets t JOIN decision_blocks b ON b.block_id = t.block_id
      WHERE t.decision_no = ?`,
  );
  const listRows = db.prepare<[number], TicketRow>(
    `SELECT t.*, b.standalone FROM tickets t JOIN decision_blocks b ON b.block_id = t.block_id
      ORDER BY t.issued_at DESC, t.rowid DESC LIMIT ?`,
  );

  const toView = (r: TicketRow): TicketView => {
    const fine = kiosk.fines.get(r.decision_no);
    if (!fine) throw new Error(`ticket ${r.decision_no} has no fine`);
    // The bill as it is now (paid, expired, reissued): the live one if any, else the ticket's own.
    const bill =
      kiosk.bills.liveFor(r.decision_no) ?? (r.bill_no ? unwrapBill(kiosk.bills.get(r.bill_no)) : undefined);
    if (!bill) throw new Error(`ticket ${r.decision_no} has no bill`);
    const v: TicketView = {
      decisionNo: r.decision_no,
      standalone: r.standalone === 1,
      blockId: r.block_id,
      officerId: r.officer_id,
      vehicleKind: r.vehicle_kind,
      points: fine.points,
      fine,
      bill,
      numbers: numberStatus(db),
      issuedAt: r.issued_at,
    };
    if (r.plate_kind) v.plateKind = r.plate_kind;
    const p = partyOf.get(r.decision_no);
    if (p) {
      v.party = {
        ...(p.name !== null ? { name: p.name } : {}),
        ...(p.licence_no !== null ? { licenceNo: p.licence_no } : {}),
      };
    }
    return v;
  };

  const issue = (raw: unknown): Result<TicketView> => {
    const parsed = ticketInputSchema.safeParse(raw);
    if (!parsed.success) {
      const i = parsed.error.issues[0];
      return fail('MALFORMED', `${i?.path.join('.') ?? ''}: ${i?.message ?? ''}`);
    }
    const input = parsed.data;
    let plate: string;
    let plateKind: PlateKind | undefined;
    if (PLATELESS_KINDS.includes(input.vehicleKind)) {
      const typed = input.plate?.trim();
      plate =
        typed && typed.length >= 2
          ? typed.slice(0, 16)
          : NO_PLATE[input.vehicleKind as 'pedestrian' | 'non-motor'];
    } else {
      if (!input.plate) return fail('BAD_PLATE', 'a plate is required for a motor vehicle');
      const p = parsePlate(input.plate);
      if (!p.ok) return p;
      plate = p.value.plate;
      plateKind = p.value.kind;
    }
    const resolved = codes().resolveFine(input.code, input.vehicleKind, input.fineFen);
    if (!resolved.ok) return resolved;
    const { code, fineFen } = resolved.value;

    try {
      const decisionNo = writeTx(db, () => {
        const guard = issueGuard(db, clock.now());
        if (!guard.ok) throw new FailureError(guard.error);
        const now = unixSeconds(clock);
        const taken = takeNextNumber(db);
        if (!taken.ok) throw new FailureError(taken.error);
        const { decisionNo, blockId } = taken.value;
        const fine: Fine = fineSchema.parse({
          decisionNo,
          region: regionOf.get(blockId)!.region,
          plate,
          vehicleIdLast6: input.vin6 ?? UNKNOWN_VIN6,
          violationCode: code.code,
          description: code.description,
          descriptionEn: code.descriptionEn,
          place: input.place,
          occurredAt: shanghaiIso(now),
          decidedOn: shanghaiDate(now),
          fineFen,
          points: code.points,
          status: 'unpaid',
        });
        insertFine.run({ ...fine, descriptionEn: fine.descriptionEn ?? null, now });

        // The bill, composed here rather than through bills.issue: its billNo must be known before
        // ticket.issued is appended (the hub needs the fine before the bill), and a stand-alone number
        // is not of the region's pattern that bills.issue checks. Decided today, so no late fee.
        const seq = nextBillSeq.get()!.n;
        const billNo = makeBillNo(identity.deviceId, seq);
        const claims = {
          billNo,
          decisionNo,
          amountFen: fineFen,
          issuedAt: now,
          expiresAt: now + BILL_VALIDITY_SECONDS,
          deviceId: identity.deviceId,
        };
        const token = makeBillToken(claims, identity.privateKey);
        insertBill.run(billNo, seq, decisionNo, fineFen, fineFen, now, claims.expiresAt, token);
        insertTicket.run(
          decisionNo,
          blockId,
          input.officerId,
          input.vehicleKind,
          plateKind ?? null,
          billNo,
          now,
        );
        if (input.partyName || input.licenceNo) {
          insertParty.run(decisionNo, input.partyName ?? null, input.licenceNo ?? null);
        }
        usePlace.run(input.place, clock.now());
        const at = clock.now();
        appendEvent(
          db,
          'ticket.issued',
          { fine, vehicleKind: input.vehicleKind, officerId: input.officerId, billNo },
          at,
        );
        appendEvent(
          db,
          'bill.issued',
          {
            billNo,
            decisionNo,
            fineFen,
            lateFeeFen: 0,
            amountFen: fineFen,
            issuedAt: now,
            expiresAt: claims.expiresAt,
            token,
          },
          at,
        );
        return decisionNo;
      });
      return ok(toView(ticketRow.get(decisionNo)!));
    } catch (e) {
      if (e instanceof FailureError) return { ok: false, error: e.failure };
      throw e;
    }
  };

  return {
    issue,
    get: (decisionNo) => {
      const r = ticketRow.get(String(decisionNo).trim());
      return r ? ok(toView(r)) : fail('NOT_FOUND', 'no ticket with that decision number on this device');
    },
    list: (limit = 50) => listRows.all(Math.min(Math.max(1, limit), 500)).map(toView),
    recentPlaces: (limit = 8) =>
      (
        db
          .prepare('SELECT place FROM recent_places ORDER BY used_at DESC LIMIT ?')
          .all(Math.min(limit, 50)) as {
          place: string;
        }[]
      ).map((r) => r.place),
    numbers: () => numberStatus(db),
  };
}

function unwrapBill(r: Result<BillView>): BillView | undefined {
  return r.ok ? r.value : undefined;
}
