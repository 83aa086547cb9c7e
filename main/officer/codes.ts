// The violation code table the officer picks from: code, description (zh, en), fine (fixed or a range),
// points. A sample table ships in samples/; a deployment replaces it by the hub's config or a file.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { fenSchema } from '../../protocol/ids.ts';
import { formatFen } from '../../protocol/money.ts';
import { fail, ok, type Result } from '../../protocol/result.ts';

export const vehicleKinds = ['small-car', 'large-car', 'motorcycle', 'non-motor', 'pedestrian'] as const;
export const vehicleKindSchema = z.enum(vehicleKinds);
export type VehicleKind = z.infer<typeof vehicleKindSchema>;
/** Kinds with no plate: the citizen is shown the QR on screen instead of paper by default. */
export const PLATELESS_KINDS: readonly VehicleKind[] = ['non-motor', 'pedestrian'];

const fixedFine = z.strictObject({ fixedFen: fenSchema.min(1) });
const rangeFine = z
  .strictObject({ minFen: fenSchema.min(1), maxFen: fenSchema, defaultFen: fenSchema.optional() })
  .refine((f) => f.minFen <= f.maxFen, { message: 'minFen must not exceed maxFen' })
  .refine((f) => f.defaultFen === undefined || (f.defaultFen >= f.minFen && f.defaultFen <= f.maxFen), {
    message: 'defaultFen must be within minFen..maxFen',
  });

export const violationCodeSchema = z.strictObject({
  code: z.string().regex(/^[0-9A-Za-z]{1,16}$/, 'code: letters and digits, 1 to 16'),
  description: z.string().min(1).max(200),
  descriptionEn: z.string().min(1).max(300),
  fine: z.union([fixedFine, rangeFine]),
  points: z.number().int().min(0).max(12),
  /** Kinds the code applies to; all kinds when absent. */
  vehicleKinds: z.array(vehicleKindSchema).min(1).optional(),
});
export type ViolationCode = z.infer<typeof violationCodeSchema>;

export const codeTableSchema = z
  .strictObject({
    /** true for the shipped sample table; shown on the officer screen so nobody mistakes it for law. */
    sample: z.boolean(),
    version: z.string().min(1).max(64),
    note: z.string().max(1000).optional(),
    codes: z.array(violationCodeSchema).min(1).max(10_000),
  })
  .refine((t) => new Set(t.codes.map((c) => c.code)).size === t.codes.length, {
    message: 'codes must be unique',
  });
export type CodeTableData = z.infer<typeof codeTableSchema>;

export type CodeTableSource = 'sample' | 'file' | 'hub';

export const SAMPLE_TABLE_PATH = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../samples/violation-codes.sample.json',
);

export class CodeTable {
  private readonly byCode: Map<string, ViolationCode>;
  constructor(
    readonly data: CodeTableData,
    readonly source: CodeTableSource,
  ) {
    this.byCode = new Map(data.codes.map((c) => [c.code.toUpperCase(), c]));
  }

  get sample(): boolean {
    return this.data.sample;
  }

  get(code: string): ViolationCode | undefined {
    return this.byCode.get(code.trim().toUpperCase());
  }

  /** By code prefix, or by words in either language; code matches first. */
  search(query: string, limit = 20): ViolationCode[] {
    const q = query.trim().toLowerCase();
    if (!q) return this.data.codes.slice(0, limit);
    const byCode = this.data.codes.filter((c) => c.code.toLowerCase().startsWith(q));
    const words = q.split(/\s+/);
    const byText = this.data.codes.filter(
      (c) =>
        !byCode.includes(c) &&
        words.every((w) => c.description.includes(w) || c.descriptionEn.toLowerCase().includes(w)),
    );
    return [...byCode, ...byText].slice(0, limit);
  }

  /** The fine for a code: the fixed amount, or the officer's amount checked against the range. */
  resolveFine(
    code: string,
    vehicleKind: VehicleKind,
    fineFen?: number,
  ): Result<{ code: ViolationCode; fineFen: number }> {
    const c = this.get(code);
    if (!c) return fail('UNKNOWN_CODE', code.slice(0, 16));
    if (c.vehicleKinds && !c.vehicleKinds.includes(vehicleKind)) {
      return fail(
        'UNKNOWN_CODE',
        `${c.code} does not apply to ${vehicleKind} (${c.vehicleKinds.join(', ')})`,
      );
    }
    const f = c.fine;
    if ('fixedFen' in f) {
      if (fineFen !== undefined && fineFen !== f.fixedFen) {
        return fail('FINE_OUT_OF_RANGE', `${c.code} is fixed at ${formatFen(f.fixedFen)}`, {
          minFen: f.fixedFen,
          maxFen: f.fixedFen,
        });
      }
      return ok({ code: c, fineFen: f.fixedFen });
    }
    const amount = fineFen ?? f.defaultFen;
    if (amount === undefined) {
      return fail(
        'FINE_OUT_OF_RANGE',
        `${c.code} needs an amount from ${formatFen(f.minFen)} to ${formatFen(f.maxFen)}`,
        {
          minFen: f.minFen,
          maxFen: f.maxFen,
        },
      );
    }
    if (!Number.isSafeInteger(amount) || amount < f.minFen || amount > f.maxFen) {
      return fail('FINE_OUT_OF_RANGE', `${c.code}: ${formatFen(f.minFen)} to ${formatFen(f.maxFen)}`, {
        minFen: f.minFen,
        maxFen: f.maxFen,
      });
    }
    return ok({ code: c, fineFen: amount });
  }
}

export function parseCodeTable(json: unknown, source: CodeTableSource): Result<CodeTable> {
  const r = codeTableSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    return fail('BAD_FILE', `violation codes: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim());
  }
  return ok(new CodeTable(r.data, source));
}

export function loadCodeTableFile(file: string, source: CodeTableSource = 'file'): Result<CodeTable> {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    return fail('BAD_FILE', `${path.basename(file)}: ${(e as Error).message}`);
  }
  return parseCodeTable(json, source);
}

export function loadSampleCodeTable(): CodeTable {
  const r = loadCodeTableFile(SAMPLE_TABLE_PATH, 'sample');
  if (!r.ok) throw new Error(`shipped sample violation codes are invalid: ${r.error.message}`);
  return r.value;
}
