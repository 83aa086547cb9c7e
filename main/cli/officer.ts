// Officer commands: issue a ticket, list and show tickets, the code table, decision numbers, officers.
import { maskPlate } from '../../protocol/fines.ts';
import { REGION_RE } from '../../protocol/ids.ts';
import { formatFen, parseYuan } from '../../protocol/money.ts';
import { fail, ok, type Result } from '../../protocol/result.ts';
import { shanghaiDateTime } from '../../protocol/time.ts';
import { openKiosk } from '../kiosk.ts';
import { vehicleKinds, type ViolationCode } from '../officer/codes.ts';
import type { NumberStatus } from '../officer/numbers.ts';
import { openOfficerMode, type OfficerMode } from '../officer/officer.ts';
import type { TicketView } from '../officer/ticket.ts';
import { optString, readJsonFile, type Command, type CommandContext } from './framework.ts';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { encodeNotice } from '../../printer/documents/notice.ts';
import { encodeChecked } from '../../printer/documents/index.ts';
import { PrintService } from '../../printer/service.ts';
import type { Kiosk } from '../kiosk.ts';
import { noticeDocument } from '../officer/api.ts';
import { DEFAULT_PRINTER_URL, resolveProfile } from '../printing/printing.ts';

export const OFFICER_ENV = 'FINEKIOSK_OFFICER';

async function withOfficer<T>(
  ctx: CommandContext,
  fn: (o: OfficerMode, region: string | undefined, kiosk: Kiosk) => Promise<Result<T>> | Result<T>,
): Promise<Result<T>> {
  const kiosk = openKiosk({ dataDir: ctx.dataDir });
  try {
    const codesFile = optString(ctx, 'codes');
    const mode = openOfficerMode(kiosk, codesFile ? { codesFile } : {});
    if (!mode.ok) return mode;
    return await fn(mode.value, kiosk.settings.get('region'), kiosk);
  } finally {
    kiosk.close();
  }
}

function numbersText(n: NumberStatus): string {
  if (n.standalone && n.remaining === 0) return 'numbers: stand-alone local sequence (no hub)';
  const warn = n.exhausted ? '  NO NUMBERS LEFT' : n.low ? '  LOW: connect to the hub for more' : '';
  return `numbers: ${n.remaining} left in ${n.blocks} block(s)${n.standalone ? ' + stand-alone sequence' : ''}${warn}`;
}

type NoticeOutcome = { jobId?: string; state?: string; file?: string; error?: { code: string } };

export function ticketText(t: TicketView & { notice?: NoticeOutcome }): string {
  const f = t.fine;
  return [
    `ticket ${t.decisionNo}${t.standalone ? '  (stand-alone number, not from the hub)' : ''}`,
    `  ${maskPlate(f.plate)}  ${t.vehicleKind}  code ${f.violationCode}  ${f.description} / ${f.descriptionEn ?? ''}`,
    `  ${f.place}, ${shanghaiDateTime(t.issuedAt)}  officer ${t.officerId}`,
    `  fine ${formatFen(f.fineFen)}  ${f.points} points  due within 15 days`,
    `  bill ${t.bill.billNo} ${t.bill.status}, pay at ${t.bill.url}`,
    `  ${numbersText(t.numbers)}`,
    ...(t.notice
      ? [
          `  notice: ${t.notice.error ? `not printed (${t.notice.error.code})` : (t.notice.file ?? `job ${t.notice.jobId} ${t.notice.state}`)}`,
        ]
      : []),
  ].join('\n');
}

function codeText(c: ViolationCode): string {
  const fine =
    'fixedFen' in c.fine
      ? formatFen(c.fine.fixedFen)
      : `${formatFen(c.fine.minFen)}–${formatFen(c.fine.maxFen)}`;
  return `${c.code.padEnd(6)} ${fine.padEnd(20)} ${String(c.points).padStart(2)} pts  ${c.description} / ${c.descriptionEn}`;
}

const codesOption = { codes: { type: 'string' as const } };
const printOptions = {
  printer: { type: 'string' as const },
  out: { type: 'string' as const },
  profile: { type: 'string' as const },
};

/** Prints (or writes to --out) the penalty notice of a ticket on this device. */
async function printNotice(
  ctx: CommandContext,
  o: OfficerMode,
  kiosk: Kiosk,
  decisionNo: string,
): Promise<Result<{ decisionNo: string; jobId?: string; state?: string; file?: string; bytes?: number }>> {
  const t = o.tickets.get(decisionNo);
  if (!t.ok) return t;
  const prof = resolveProfile(
    optString(ctx, 'profile') ?? ctx.io.env.FINEKIOSK_PRINTER_PROFILE ?? 'generic-58',
  );
  if (!prof.ok) return prof;
  const encoded = encodeChecked(() => encodeNotice(noticeDocument(t.value), prof.value));
  if (!encoded.ok) return encoded;
  const bytes = encoded.value;
  const out = optString(ctx, 'out');
  if (out) {
    const f = path.resolve(out);
    mkdirSync(path.dirname(f), { recursive: true });
    writeFileSync(f, bytes);
    return ok({ decisionNo, file: f, bytes: bytes.length });
  }
  const url = optString(ctx, 'printer') ?? ctx.io.env.FINEKIOSK_PRINTER ?? DEFAULT_PRINTER_URL;
  const service = new PrintService({
    db: kiosk.db,
    clock: kiosk.clock,
    appendEvent: (type, payload, at) => void kiosk.outbox.append(type, payload, at),
  });
  const job = await service.print('notice', decisionNo, url, bytes);
  return job.ok ? ok({ decisionNo, jobId: job.value.id, state: job.value.state }) : job;
}

export const commands: Command[] = [
  {
    path: ['ticket', 'issue'],
    usage:
      'ticket issue --plate P --code C --place TEXT [--officer ID] [--kind KIND] [--fine YUAN] [--vin6 X] [--print [--printer URL] | --out FILE.bin]',
    summary: 'write an on-the-spot ticket: takes the next decision number, makes the fine and its bill',
    options: {
      plate: { type: 'string' },
      code: { type: 'string' },
      place: { type: 'string' },
      officer: { type: 'string' },
      kind: { type: 'string' },
      fine: { type: 'string' },
      vin6: { type: 'string' },
      print: { type: 'boolean', default: false },
      ...printOptions,
      ...codesOption,
    },
    run: (ctx) =>
      withOfficer(ctx, async (o, _region, kiosk) => {
        const officerId = optString(ctx, 'officer') ?? ctx.io.env[OFFICER_ENV];
        if (!officerId) return fail('MALFORMED', `--officer ID is required (or set ${OFFICER_ENV})`);
        const code = optString(ctx, 'code');
        const place = optString(ctx, 'place');
        if (!code || !place) return fail('MALFORMED', '--code and --place are required');
        const kind = optString(ctx, 'kind');
        if (kind && !(vehicleKinds as readonly string[]).includes(kind)) {
          return fail('MALFORMED', `--kind: one of ${vehicleKinds.join(', ')}`);
        }
        const fineText = optString(ctx, 'fine');
        const fineFen = fineText === undefined ? undefined : parseYuan(fineText);
        if (fineText !== undefined && fineFen === undefined)
          return fail('MALFORMED', '--fine: an amount in yuan');
        const r = o.tickets.issue({
          plate: optString(ctx, 'plate'),
          code,
          place,
          officerId,
          ...(kind ? { vehicleKind: kind } : {}),
          ...(fineFen !== undefined ? { fineFen } : {}),
          ...(optString(ctx, 'vin6') ? { vin6: optString(ctx, 'vin6') } : {}),
        });
        if (!r.ok && r.error.code === 'NUMBERS_EXHAUSTED' && o.numbers().blocks === 0) {
          return fail(
            'NUMBERS_EXHAUSTED',
            'sync with the hub, or turn on `finekiosk ticket standalone --region R`',
          );
        }
        if (!r.ok || !(ctx.values.print || optString(ctx, 'out'))) return r;
        // The ticket stands whatever the printer does; a failed notice can be printed again.
        const p = await printNotice(ctx, o, kiosk, r.value.decisionNo);
        return ok({ ...r.value, notice: p.ok ? p.value : { error: p.error } });
      }),
    text: (v) => ticketText(v as TicketView),
  },
  {
    path: ['ticket', 'notice'],
    usage: 'ticket notice DECISION_NO [--printer URL | --out FILE.bin] [--profile ID]',
    summary: 'print (again) the penalty notice of a ticket, with its payment QR',
    minPositionals: 1,
    options: printOptions,
    run: (ctx) => withOfficer(ctx, (o, _r, kiosk) => printNotice(ctx, o, kiosk, ctx.positionals[0]!)),
  },
  {
    path: ['ticket', 'list'],
    usage: 'ticket list [--limit N]',
    summary: "this device's tickets, newest first",
    options: { limit: { type: 'string' } },
    run: (ctx) =>
      withOfficer(ctx, (o) => {
        const n = Number(optString(ctx, 'limit') ?? 20);
        if (!Number.isInteger(n) || n < 1) return fail('MALFORMED', '--limit: a positive whole number');
        return ok(o.tickets.list(n));
      }),
    text: (v) => (v as TicketView[]).map(ticketText).join('\n') || 'no tickets',
  },
  {
    path: ['ticket', 'show'],
    usage: 'ticket show DECISION_NO',
    summary: 'one ticket of this device',
    minPositionals: 1,
    run: (ctx) => withOfficer(ctx, (o) => o.tickets.get(ctx.positionals[0]!)),
    text: (v) => ticketText(v as TicketView),
  },
  {
    path: ['ticket', 'codes'],
    usage: 'ticket codes [QUERY] [--codes FILE]',
    summary: 'the violation code table in force (search by code or words)',
    options: codesOption,
    maxPositionals: 1,
    run: (ctx) =>
      withOfficer(ctx, (o) => {
        const t = o.codes();
        return ok({
          source: t.source,
          sample: t.sample,
          version: t.data.version,
          codes: t.search(ctx.positionals[0] ?? '', 1000),
        });
      }),
    text: (v) => {
      const r = v as { source: string; sample: boolean; version: string; codes: ViolationCode[] };
      const head = `code table ${r.version} from ${r.source}${r.sample ? ' — SAMPLE, not for real tickets' : ''}`;
      return [head, ...r.codes.map(codeText)].join('\n');
    },
  },
  {
    path: ['ticket', 'codes', 'import'],
    usage: 'ticket codes import FILE',
    summary: "use a violation code table from a file on this device (over the hub's)",
    minPositionals: 1,
    run: (ctx) =>
      withOfficer(ctx, (o) => {
        const json = readJsonFile(ctx.positionals[0]!);
        return json.ok ? o.importCodes(json.value) : json;
      }),
  },
  {
    path: ['ticket', 'codes', 'reset'],
    usage: 'ticket codes reset',
    summary: "forget an imported code table (the hub's, or the sample, is used again)",
    run: (ctx) =>
      withOfficer(ctx, (o) => {
        o.clearImportedCodes();
        const t = o.codes();
        return ok({ source: t.source, version: t.data.version, sample: t.sample });
      }),
  },
  {
    path: ['ticket', 'numbers'],
    usage: 'ticket numbers [--refill]',
    summary: 'decision numbers left on this device; --refill asks the hub for a block now',
    options: { refill: { type: 'boolean', default: false } },
    run: (ctx) =>
      withOfficer(ctx, async (o) => {
        if (!ctx.values.refill) return ok(o.numbers());
        const r = await o.refill({ force: true });
        return r.ok ? ok(r.value.numbers) : r;
      }),
    text: (v) => numbersText(v as NumberStatus),
  },
  {
    path: ['ticket', 'standalone'],
    usage: 'ticket standalone [--region CODE]',
    summary: 'no hub: number tickets from a local sequence prefixed with the device id',
    options: { region: { type: 'string' } },
    run: (ctx) =>
      withOfficer(ctx, (o, stored) => {
        const region = optString(ctx, 'region') ?? stored;
        if (!region || !REGION_RE.test(region))
          return fail('MALFORMED', '--region: a 6-digit administrative code');
        return ok(o.enableStandalone(region));
      }),
    text: (v) => numbersText(v as NumberStatus),
  },
  {
    path: ['ticket', 'blocks', 'add'],
    usage: 'ticket blocks add FILE',
    summary: 'load blocks of decision numbers from a JSON file (as the hub sends them)',
    minPositionals: 1,
    run: (ctx) =>
      withOfficer(ctx, (o) => {
        const json = readJsonFile(ctx.positionals[0]!);
        if (!json.ok) return json;
        return o.receiveBlocks(Array.isArray(json.value) ? json.value : [json.value]);
      }),
  },
  {
    path: ['officer', 'add'],
    usage: 'officer add ID NAME --pin PIN',
    summary: 'add an officer who logs in with a PIN (officer role)',
    minPositionals: 2,
    options: { pin: { type: 'string' } },
    run: (ctx) =>
      withOfficer(ctx, async (o) => {
        const pin = optString(ctx, 'pin');
        if (!pin) return fail('MALFORMED', '--pin: 4 to 12 digits');
        return o.officers.add(ctx.positionals[0]!, ctx.positionals[1]!, pin);
      }),
  },
];
