// The officer screen's API methods, beside the kiosk's (main/api.ts): the same POST /api/<method> with
// one object checked by zod and a Result back. An officer session (officer role, its own PIN) is
// required for all but the login. The UI server tries these first, then the kiosk's.
import QRCode from 'qrcode';
import { z } from 'zod';
import { encodeNotice, type NoticeDocument } from '../../printer/documents/notice.ts';
import { encodeChecked } from '../../printer/documents/index.ts';
import type { PrinterProfile } from '../../printer/profiles.ts';
import { maskPlate } from '../../protocol/fines.ts';
import { fail, ok, type Result } from '../../protocol/result.ts';
import { unixSeconds } from '../../protocol/time.ts';
import type { Kiosk } from '../kiosk.ts';
import { PLATELESS_KINDS, vehicleKindSchema, type ViolationCode } from './codes.ts';
import type { NumberStatus } from './numbers.ts';
import { openOfficerMode, type OfficerMode } from './officer.ts';
import { startNumberRefill } from './refill.ts';
import { UNKNOWN_VIN6, type TicketView } from './ticket.ts';

/** Where notices go: the print service's raw job (status before and after, recorded in SQLite). */
export interface NoticePrinter {
  profile: PrinterProfile;
  print(kind: string, ref: string, bytes: Uint8Array): Promise<Result<{ jobId: string }>>;
}

export interface OfficerApiDeps {
  kiosk: Kiosk;
  printer?: NoticePrinter;
  /** A prepared officer mode (tests); default: opened on the kiosk. */
  officer?: OfficerMode;
  /** Ask the hub for numbers in the background while the app runs (default true when enrolled). */
  refill?: boolean;
}

export interface TicketDto {
  decisionNo: string;
  standalone: boolean;
  plateMasked: string;
  vehicleKind: string;
  violationCode: string;
  violation: string;
  violationEn?: string;
  place: string;
  occurredAt: number;
  decidedOn: string;
  fineFen: number;
  points: number;
  officerId: string;
  bill: {
    billNo: string;
    url: string;
    qrDataUrl: string;
    expiresAt: number;
    status: string;
    amountFen: number;
  };
  numbers: NumberStatus;
}

export interface OfficerStateDto {
  officerId: string;
  name: string;
  numbers: NumberStatus;
  codes: { source: string; sample: boolean; version: string; count: number };
  recentPlaces: string[];
  printer: boolean;
  now: number;
}

export type CodeDto = ViolationCode;

const session = z.string().regex(/^[A-Za-z0-9_-]{16,64}$/);
export const officerSchemas = {
  officerLogin: z.object({ pin: z.string().regex(/^[0-9]{4,12}$/) }).strict(),
  officerLogout: z.object({ session }).strict(),
  officerState: z.object({ session }).strict(),
  officerCodes: z.object({ session, query: z.string().max(64).default('') }).strict(),
  officerIssue: z
    .object({
      session,
      plate: z.string().max(32).optional(),
      vehicleKind: vehicleKindSchema,
      code: z.string().min(1).max(16),
      fineFen: z.number().int().nonnegative().optional(),
      place: z.string().max(200),
      // Folded (full-width, case, separators) and checked by the ticket service.
      vin6: z.string().max(32).optional(),
      partyName: z.string().max(40).optional(),
      licenceNo: z.string().max(40).optional(),
    })
    .strict(),
  officerPrintNotice: z.object({ session, decisionNo: z.string().regex(/^[0-9A-Za-z]{1,32}$/) }).strict(),
  officerTickets: z.object({ session }).strict(),
  officerRefill: z.object({ session }).strict(),
} as const;

export type OfficerMethod = keyof typeof officerSchemas;

export function noticeDocument(t: TicketView): NoticeDocument {
  const f = t.fine;
  return {
    decisionNo: t.decisionNo,
    standalone: t.standalone,
    // The driver's own document: the full plate, the vehicle id's last 6 and the party.
    plate: f.plate,
    ...(f.vehicleIdLast6 !== UNKNOWN_VIN6 ? { vehicleIdLast6: f.vehicleIdLast6 } : {}),
    ...(t.party?.name ? { partyName: t.party.name } : {}),
    ...(t.party?.licenceNo ? { licenceNo: t.party.licenceNo } : {}),
    vehicleKind: t.vehicleKind,
    violationCode: f.violationCode,
    violation: f.description,
    ...(f.descriptionEn ? { violationEn: f.descriptionEn } : {}),
    place: f.place,
    occurredAt: f.occurredAt,
    decidedOn: f.decidedOn,
    fineFen: f.fineFen,
    points: f.points,
    officerId: t.officerId,
    billNo: t.bill.billNo,
    url: t.bill.url,
    expiresAt: t.bill.expiresAt,
    deviceId: t.bill.deviceId,
  };
}

async function ticketDto(t: TicketView): Promise<TicketDto> {
  const f = t.fine;
  const dto: TicketDto = {
    decisionNo: t.decisionNo,
    standalone: t.standalone,
    plateMasked: maskPlate(f.plate),
    vehicleKind: t.vehicleKind,
    violationCode: f.violationCode,
    violation: f.description,
    place: f.place,
    occurredAt: Math.floor(Date.parse(f.occurredAt) / 1000),
    decidedOn: f.decidedOn,
    fineFen: f.fineFen,
    points: f.points,
    officerId: t.officerId,
    bill: {
      billNo: t.bill.billNo,
      url: t.bill.url,
      qrDataUrl: await QRCode.toDataURL(t.bill.url, { errorCorrectionLevel: 'M', margin: 2, scale: 8 }),
      expiresAt: t.bill.expiresAt,
      status: t.bill.status,
      amountFen: t.bill.amountFen,
    },
    numbers: t.numbers,
  };
  if (f.descriptionEn) dto.violationEn = f.descriptionEn;
  return dto;
}

export interface OfficerApi {
  /** Runs an officer method, or answers undefined when the method is not one of ours. */
  call(method: string, input: unknown): Promise<Result<unknown>> | undefined;
  mode: OfficerMode;
  close(): void;
}

export function createOfficerApi(deps: OfficerApiDeps): OfficerApi {
  const { kiosk } = deps;
  let mode = deps.officer;
  if (!mode) {
    const m = openOfficerMode(kiosk);
    if (!m.ok) throw new Error(`officer mode: ${m.error.message}`);
    mode = m.value;
  }
  const o = mode;
  const refill = deps.refill === false ? undefined : startNumberRefill(kiosk);
  /** After a ticket: ask for more numbers in the background when low and online. */
  const topUp = (n: NumberStatus): void => {
    if (refill && n.low) void refill.now().catch(() => undefined);
  };

  const withOfficer = async <T>(s: string, fn: (officerId: string, name: string) => Promise<Result<T>>) => {
    const who = o.officers.checkSession(s);
    if (!who.ok) return who;
    return fn(who.value.officerId, who.value.name);
  };

  const handlers: {
    [K in OfficerMethod]: (i: z.infer<(typeof officerSchemas)[K]>) => Promise<Result<unknown>>;
  } = {
    officerLogin: (i) => o.officers.login(i.pin),
    officerLogout: async (i) => {
      o.officers.logout(i.session);
      return ok({ loggedOut: true });
    },
    officerState: (i) =>
      withOfficer(i.session, async (officerId, name): Promise<Result<OfficerStateDto>> => {
        const t = o.codes();
        return ok({
          officerId,
          name,
          numbers: o.numbers(),
          codes: { source: t.source, sample: t.sample, version: t.data.version, count: t.data.codes.length },
          recentPlaces: o.tickets.recentPlaces(),
          printer: deps.printer !== undefined,
          now: unixSeconds(kiosk.clock),
        });
      }),
    officerCodes: (i) => withOfficer(i.session, async () => ok(o.codes().search(i.query, 30))),
    officerIssue: (i) =>
      withOfficer(i.session, async (officerId) => {
        const { session: _s, ...given } = i;
        // Empty fields are not given; a motor vehicle's ticket needs the vehicle id's last 6 (so a plate
        // search finds it) and the driver's name and licence number (printed on the notice).
        const input = Object.fromEntries(
          Object.entries(given).filter(([, v]) => typeof v !== 'string' || v.trim() !== ''),
        ) as typeof given;
        if (!PLATELESS_KINDS.includes(input.vehicleKind)) {
          if (!input.vin6 || !input.partyName || !input.licenceNo) return fail('TICKET_INCOMPLETE');
        }
        const r = o.tickets.issue({ ...input, officerId });
        if (!r.ok) return r;
        topUp(r.value.numbers);
        return ok(await ticketDto(r.value));
      }),
    officerPrintNotice: (i) =>
      withOfficer(i.session, async () => {
        if (!deps.printer) return fail('PRINTER_UNREACHABLE', 'no printer is set up');
        const t = o.tickets.get(i.decisionNo);
        if (!t.ok) return t;
        const bytes = encodeChecked(() => encodeNotice(noticeDocument(t.value), deps.printer!.profile));
        if (!bytes.ok) return bytes;
        const p = await deps.printer.print('notice', t.value.decisionNo, bytes.value);
        return p.ok ? ok({ printed: true, jobId: p.value.jobId }) : p;
      }),
    officerTickets: (i) =>
      withOfficer(i.session, async () => ok(await Promise.all(o.tickets.list(30).map(ticketDto)))),
    officerRefill: (i) =>
      withOfficer(i.session, async () => {
        const r = await o.refill({ force: true });
        return r.ok ? ok(r.value.numbers) : r;
      }),
  };

  return {
    mode: o,
    close: () => refill?.stop(),
    call(method, input) {
      if (!Object.hasOwn(officerSchemas, method)) return undefined;
      const m = method as OfficerMethod;
      const parsed = officerSchemas[m].safeParse(input);
      if (!parsed.success) {
        const issues = parsed.error.issues.map((x) => `${x.path.join('.') || 'input'}: ${x.message}`);
        return Promise.resolve(fail('MALFORMED', issues.join('; '), { issues }));
      }
      return (handlers[m] as (x: unknown) => Promise<Result<unknown>>)(parsed.data);
    },
  };
}

/** The officer API as the renderer sees it. */
export type OfficerClient = {
  [K in OfficerMethod]: (input: z.input<(typeof officerSchemas)[K]>) => Promise<Result<OfficerResult<K>>>;
};
type OfficerResult<K extends OfficerMethod> = K extends 'officerLogin'
  ? { officerId: string; name: string; session: string; expiresAt: number; role: 'officer' }
  : K extends 'officerState'
    ? OfficerStateDto
    : K extends 'officerCodes'
      ? CodeDto[]
      : K extends 'officerIssue'
        ? TicketDto
        : K extends 'officerTickets'
          ? TicketDto[]
          : K extends 'officerRefill'
            ? NumberStatus
            : K extends 'officerPrintNotice'
              ? { printed: true; jobId: string }
              : { loggedOut: true };

/**
 * The officer API on the kiosk app's print service, as the UI server's extra call (main/ui/launch.ts):
 * notices go to the same printer as bills, recorded as print jobs of kind 'notice'.
 */
export function officerCall(o: {
  kiosk: Kiosk;
  printService: {
    print(
      kind: string,
      ref: string,
      url: string,
      bytes: Uint8Array,
      profile?: PrinterProfile,
    ): Promise<Result<{ id: string }>>;
  };
  printerUrl: string;
  profile: PrinterProfile;
}): OfficerApi['call'] {
  const api = createOfficerApi({
    kiosk: o.kiosk,
    printer: {
      profile: o.profile,
      print: async (kind, ref, bytes) => {
        const r = await o.printService.print(kind, ref, o.printerUrl, bytes, o.profile);
        return r.ok ? ok({ jobId: r.value.id }) : r;
      },
    },
  });
  return (method, input) => api.call(method, input);
}
