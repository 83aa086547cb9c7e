// The kiosk's own commands: fines, bills, payment confirmations, hub keys, device, event log, start.
import { z } from 'zod';
import { formatFen } from '../../protocol/money.ts';
import { fail, FailureError, ok, type Result } from '../../protocol/result.ts';
import { shanghaiDateTime } from '../../protocol/time.ts';
import { maskPlate } from '../../protocol/fines.ts';
import type { BillView } from '../bills/bills.ts';
import type { FineView } from '../fines/fines.ts';
import { openKiosk, type Kiosk } from '../kiosk.ts';
import { SETTING } from '../settings/settings.ts';
import { resolveProfileRef } from '../../printer/profiles.ts';
import { startKiosk } from '../start.ts';
import { optString, type Command, type CommandContext } from './framework.ts';

/** Opens the kiosk for one command; a refusal to open (schema too new, mismatch) is a clear failure. */
function withKiosk<T>(ctx: CommandContext, fn: (k: Kiosk) => Result<T>): Result<T> {
  let kiosk: Kiosk;
  try {
    kiosk = openKiosk({ dataDir: ctx.dataDir });
  } catch (e) {
    if (e instanceof FailureError) return { ok: false, error: e.failure };
    throw e;
  }
  try {
    return fn(kiosk);
  } finally {
    kiosk.close();
  }
}

function fineText(f: FineView): string {
  return [
    `${f.decisionNo}  ${f.status}  region ${f.region}  plate ${maskPlate(f.plate)}`,
    `  ${f.description}${f.descriptionEn ? ` / ${f.descriptionEn}` : ''}`,
    `  ${f.place}, ${f.occurredAt}; decided ${f.decidedOn}; ${f.points} points`,
    `  fine ${formatFen(f.fineFen)}  late fee today ${formatFen(f.lateFeeFenToday)}  total ${formatFen(f.totalFenToday)}`,
  ].join('\n');
}

function billText(b: BillView): string {
  return [
    `bill ${b.billNo}  ${b.status}${b.voidReason ? ` (${b.voidReason})` : ''}  fine ${b.decisionNo}`,
    `  fine ${formatFen(b.fineFen)} + late fee ${formatFen(b.lateFeeFen)} = ${formatFen(b.amountFen)}`,
    `  issued ${shanghaiDateTime(b.issuedAt)}, valid until ${shanghaiDateTime(b.expiresAt)} (Asia/Shanghai)`,
    `  pay at ${b.url}`,
    ...(b.payment
      ? [
          `  paid ${formatFen(b.payment.amountFen)} by ${b.payment.channel} (${b.payment.txnId}) at ${shanghaiDateTime(b.payment.paidAt)}`,
        ]
      : []),
  ].join('\n');
}

/** The bill as the CLI prints it: the fields of the wire contract first. */
function billOut(b: BillView): Record<string, unknown> {
  return {
    billNo: b.billNo,
    decisionNo: b.decisionNo,
    fineFen: b.fineFen,
    lateFeeFen: b.lateFeeFen,
    amountFen: b.amountFen,
    issuedAt: b.issuedAt,
    expiresAt: b.expiresAt,
    token: b.token,
    url: b.url,
    status: b.status,
    deviceId: b.deviceId,
    ...(b.voidReason ? { voidReason: b.voidReason } : {}),
    ...(b.payment ? { payment: b.payment } : {}),
  };
}

const asBill = (v: unknown): string => billText(v as BillView);

export const commands: Command[] = [
  {
    path: ['start'],
    usage: 'start [--data DIR] [--ui-port N]',
    summary: 'run the kiosk (loads the sample fines on first run); screen on a fixed port (default 8660)',
    options: { 'ui-port': { type: 'string' } },
    run: async (ctx) => {
      try {
        const p = optString(ctx, 'ui-port');
        if (p !== undefined && !/^[0-9]{1,5}$/.test(p)) return fail('MALFORMED', `--ui-port ${p}`);
        const r = await startKiosk({
          dataDir: ctx.dataDir,
          io: ctx.io,
          ...(p !== undefined ? { uiPort: Number(p) } : {}),
        });
        return ok(ctx.json ? r : undefined);
      } catch (e) {
        if (e instanceof FailureError) return { ok: false, error: e.failure };
        throw e;
      }
    },
  },
  {
    path: ['fines', 'import'],
    usage: 'fines import FILE',
    summary: 'import fines from a JSON or CSV file (all or nothing)',
    minPositionals: 1,
    run: async (ctx) => withKiosk(ctx, (k) => k.fines.importFile(ctx.positionals[0]!)),
    text: (v) => {
      const r = v as { imported: number; updated: number };
      return `imported ${r.imported} new fine(s), updated ${r.updated}`;
    },
  },
  {
    path: ['fines', 'find'],
    usage: 'fines find DECISION_NO | fines find --plate P --vin6 X',
    summary: 'find a fine by decision number, or by plate and the last 6 of the vehicle id',
    options: { plate: { type: 'string' }, vin6: { type: 'string' } },
    minPositionals: 0,
    maxPositionals: 1,
    run: async (ctx) => {
      const no = ctx.positionals[0];
      const plate = optString(ctx, 'plate');
      const vin6 = optString(ctx, 'vin6');
      if (no !== undefined) {
        if (plate !== undefined || vin6 !== undefined) {
          return fail('MALFORMED', 'give a decision number or --plate and --vin6, not both');
        }
        return withKiosk(ctx, (k) => k.fines.findByDecisionNo(no));
      }
      if (plate === undefined || vin6 === undefined) {
        return fail('MALFORMED', 'give a decision number, or both --plate and --vin6');
      }
      return withKiosk(ctx, (k) => k.fines.findByPlate(plate, vin6));
    },
    text: (v) =>
      Array.isArray(v) ? v.map((f) => fineText(f as FineView)).join('\n\n') : fineText(v as FineView),
  },
  {
    path: ['bill', 'issue'],
    usage: 'bill issue DECISION_NO',
    summary: 'issue a bill (fine + late fee, valid 4 hours) for an unpaid fine',
    minPositionals: 1,
    run: async (ctx) =>
      withKiosk(ctx, (k) => {
        const r = k.bills.issue(ctx.positionals[0]!);
        return r.ok ? ok(billOut(r.value)) : r;
      }),
    text: asBill,
  },
  {
    path: ['bill', 'show'],
    usage: 'bill show BILL_NO',
    summary: 'show a bill and its status',
    minPositionals: 1,
    run: async (ctx) =>
      withKiosk(ctx, (k) => {
        const r = k.bills.get(ctx.positionals[0]!);
        return r.ok ? ok(billOut(r.value)) : r;
      }),
    text: asBill,
  },
  {
    path: ['bill', 'void'],
    usage: 'bill void BILL_NO',
    summary: 'void a live bill',
    minPositionals: 1,
    run: async (ctx) =>
      withKiosk(ctx, (k) => {
        const r = k.bills.void(ctx.positionals[0]!, 'staff');
        return r.ok ? ok(billOut(r.value)) : r;
      }),
    text: asBill,
  },
  {
    path: ['hub', 'trust'],
    usage: 'hub trust --key-id ID --public-key KEY',
    summary: 'trust a hub key (raw Ed25519, base64url) for payment confirmations',
    options: { 'key-id': { type: 'string' }, 'public-key': { type: 'string' } },
    run: async (ctx) => {
      const keyId = optString(ctx, 'key-id');
      const publicKey = optString(ctx, 'public-key');
      if (keyId === undefined || publicKey === undefined) {
        return fail('MALFORMED', 'usage: finekiosk hub trust --key-id ID --public-key KEY');
      }
      return withKiosk(ctx, (k) => k.trust.addHubKey(keyId, publicKey));
    },
    text: (v) => `trusting hub key ${(v as { keyId: string }).keyId}`,
  },
  {
    path: ['pay', 'confirm'],
    usage: 'pay confirm TOKEN',
    summary: 'accept a hub-signed payment confirmation (c1 token)',
    minPositionals: 1,
    run: async (ctx) =>
      withKiosk(ctx, (k) => {
        const r = k.payments.confirm(ctx.positionals[0]!);
        return r.ok ? ok(r.value) : r;
      }),
    text: (v) => {
      const r = v as { billNo: string; amountFen: number; channel: string };
      return `bill ${r.billNo} paid: ${formatFen(r.amountFen)} by ${r.channel}`;
    },
  },
  {
    path: ['device', 'show'],
    usage: 'device show',
    summary: "this device's id and public key",
    run: async (ctx) =>
      withKiosk(ctx, (k) => ok({ deviceId: k.identity.deviceId, publicKey: k.identity.publicKeyRaw })),
  },
  {
    path: ['log', 'verify'],
    usage: 'log verify',
    summary: 'verify the outbox hash chain; names the first broken event',
    run: async (ctx) =>
      withKiosk(ctx, (k) => {
        const r = k.outbox.verify();
        if (r.ok) return ok(r);
        return fail('CHAIN_BROKEN', `event ${r.firstBroken!.seq}: ${r.firstBroken!.reason}`, { ...r });
      }),
    text: (v) => `${(v as { events: number }).events} events, chain ok`,
  },
  {
    path: ['settings', 'set'],
    usage: 'settings set KEY VALUE',
    summary: `set a kiosk setting (${Object.values(SETTING).join(', ')})`,
    minPositionals: 2,
    run: async (ctx) => {
      const [key, value] = ctx.positionals as [string, string];
      const check = settingChecks[key];
      if (!check)
        return fail('MALFORMED', `unknown setting ${key}; known: ${Object.keys(settingChecks).join(', ')}`);
      const v = check.safeParse(value);
      if (!v.success) return fail('MALFORMED', `${key}: ${v.error.issues[0]?.message}`);
      return withKiosk(ctx, (k) => {
        k.settings.set(key, v.data);
        return ok({ [key]: v.data });
      });
    },
  },
  {
    path: ['settings', 'show'],
    usage: 'settings show',
    summary: 'show the kiosk settings',
    run: async (ctx) =>
      withKiosk(ctx, (k) =>
        ok({
          [SETTING.hubBase]: k.settings.hubBase(),
          [SETTING.decisionPattern]: k.settings.decisionPattern().source,
          ...k.settings.all(),
        }),
      ),
  },
];

const settingChecks: Record<string, z.ZodType<string>> = {
  [SETTING.counterConsole]: z.enum(['true', 'false']),
  [SETTING.printerProfile]: z.string().superRefine((s, c) => {
    const r = resolveProfileRef(s);
    if (!r.ok) c.addIssue({ code: 'custom', message: r.error.message });
  }),
  [SETTING.hubBase]: z
    .string()
    .regex(/^https?:\/\/[A-Za-z0-9.:[\]-]+(\/[A-Za-z0-9._~/-]*)?$/, 'an http(s) URL in plain ASCII')
    .transform((s) => s.replace(/\/+$/, '')),
  [SETTING.decisionPattern]: z
    .string()
    .max(200)
    .refine((s) => {
      try {
        new RegExp(s);
        return s.startsWith('^') && s.endsWith('$');
      } catch {
        return false;
      }
    }, 'a regular expression anchored with ^ and $'),
};
