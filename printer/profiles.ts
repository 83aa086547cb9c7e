// Printer profiles as data: what one class of printer can do, as a zod-checked JSON document. The
// layout reads columns and dots; the font model (./fontmodel.ts) reads the font's encoding; the encoder
// picks native or raster QR and a cut only where there is a cutter; the driver reads how status is
// asked (or that it cannot be) and how fast the link and the print head are, to pace writes and to
// derive its time-outs. Shipped profiles are the JSON files in ./profiles/; an operator's own file is
// read with `--profile FILE` or the kiosk setting `printer.profile`.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { fail, ok, type Result } from '../protocol/result.ts';

/**
 * The font a printer prints Chinese text with, between FS & and FS . (Kanji mode):
 * - `gb18030`: every GB18030 code, 4-byte ones included;
 * - `gbk`: the 2-byte GBK codes only (a 4-byte code prints as two wrong glyphs);
 * - `gb2312`: only the GB2312 rows (lead and trail bytes 0xA1..0xFE);
 * - `none`: no Chinese font; non-ASCII text is sent as raster images drawn with the bundled font.
 */
export const fontEncodingSchema = z.enum(['gb18030', 'gbk', 'gb2312', 'none']);
export type FontEncoding = z.infer<typeof fontEncodingSchema>;

/**
 * How a printer tells its state (Epson ESC/POS reference, DLE EOT, GS ( H, GS r):
 * - `realtime+inorder`: DLE EOT answered on receipt, plus a command processed in stream order after the
 *   job (proof that the job printed);
 * - `realtime`: DLE EOT only (health before and after, the job itself cannot be proved);
 * - `none`: never answers (one-way USB boards, many portable Bluetooth printers).
 */
export const statusKindSchema = z.enum(['realtime+inorder', 'realtime', 'none']);
export type StatusKind = z.infer<typeof statusKindSchema>;

export const printerProfileSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9-]{1,32}$/),
    name: z.string().min(1).max(200),
    paperMm: z.number().int().min(40).max(120),
    /** Printable dots per line (8 dots a mm): 384 on 58 mm, 512 (Epson TM-T88) or 576 on 80 mm. */
    dots: z
      .number()
      .int()
      .min(128)
      .max(832)
      .refine((d) => d % 8 === 0, 'dots must be a multiple of 8'),
    /** Font A columns (12 dots each): 32, 42 or 48. */
    columns: z.number().int().min(10).max(69),
    fontEncoding: fontEncodingSchema,
    /** Prints QR codes itself (GS ( k); otherwise the QR is sent as a raster image (GS v 0). */
    nativeQr: z.boolean(),
    cutter: z.boolean(),
    /** QR module size in dots (the largest used; smaller when the code would not fit). */
    qrModuleSize: z.number().int().min(2).max(16),
    status: statusKindSchema,
    /** The in-order command: Epson GS ( H fn 48 (process id) where the printer has it, else GS r 1. */
    inOrderStatus: z.enum(['process-id', 'gs-r']).optional(),
    /** The link: its speed (bytes a second; 8N1 serial is baud / 10), chunk size and pause between chunks. */
    link: z
      .object({
        bytesPerSecond: z.number().int().min(100).max(100_000_000),
        chunkBytes: z.number().int().min(16).max(65536),
        paceMs: z.number().int().min(0).max(1000),
      })
      .strict(),
    /** The print head: receive buffer size and how many dot rows a second it prints. */
    printer: z
      .object({
        bufferBytes: z
          .number()
          .int()
          .min(256)
          .max(1 << 20),
        lineDotsPerSecond: z.number().int().min(50).max(10_000),
      })
      .strict(),
    /** Printer address used when none is given (see transports). */
    url: z.string().max(300).optional(),
  })
  .strict()
  .refine((p) => p.columns * 12 <= p.dots, { message: 'columns × 12 dots must fit in the print width' })
  .refine((p) => p.status !== 'realtime+inorder' || p.inOrderStatus !== undefined, {
    message: 'a printer with in-order status names its command (process-id or gs-r)',
  });
export type PrinterProfile = z.infer<typeof printerProfileSchema>;

export const SHIPPED_PROFILE_IDS = [
  'generic-80',
  'generic-58',
  'epson-80',
  'pos58-qr',
  'pos58',
  'cn80',
  'tm-t88',
  'bt58',
] as const;
export type ProfileId = (typeof SHIPPED_PROFILE_IDS)[number];

const PROFILE_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'profiles');

function loadShipped(): Record<ProfileId, PrinterProfile> {
  const out = {} as Record<ProfileId, PrinterProfile>;
  for (const id of SHIPPED_PROFILE_IDS) {
    // A shipped file that does not parse is a build fault: fail loudly at start-up.
    out[id] = printerProfileSchema.parse(
      JSON.parse(readFileSync(path.join(PROFILE_DIR, `${id}.json`), 'utf8')),
    );
  }
  return out;
}

/** The shipped profiles, by id (each read from ./profiles/<id>.json). */
export const profiles: Readonly<Record<ProfileId, PrinterProfile>> = loadShipped();

export const DEFAULT_PROFILE: ProfileId = 'generic-80';

/** Every shipped profile file name (for a check that none is left out of SHIPPED_PROFILE_IDS). */
export function shippedProfileFiles(): string[] {
  return readdirSync(PROFILE_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort();
}

export function getProfile(id: string): PrinterProfile | undefined {
  return Object.hasOwn(profiles, id) ? profiles[id as ProfileId] : undefined;
}

/** A profile with some capabilities overridden (e.g. a raster QR for a printer whose firmware lacks it). */
export function withOverrides(base: PrinterProfile, over: Partial<PrinterProfile>): PrinterProfile {
  return printerProfileSchema.parse({ ...base, ...over });
}

/** Checks a profile document (parsed JSON); errors name the field. */
export function parseProfile(doc: unknown, source: string): Result<PrinterProfile> {
  const r = printerProfileSchema.safeParse(doc);
  if (r.success) return ok(r.data);
  const issue = r.error.issues[0]!;
  return fail('BAD_FILE', `${source}: ${issue.path.join('.') || '(profile)'}: ${issue.message}`);
}

/** Reads a profile JSON file (at most 64 KiB). */
export function readProfileFile(file: string): Result<PrinterProfile> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return fail('BAD_FILE', `${file}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
  if (text.length > 65536) return fail('BAD_FILE', `${file}: larger than 64 KiB`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return fail('BAD_FILE', `${file}: not JSON`);
  }
  return parseProfile(doc, file);
}

/**
 * A profile named by a shipped id or by a file path (anything with a slash or ending in .json). An
 * unknown id is refused with the list of known ones.
 */
export function resolveProfileRef(ref: string | PrinterProfile | undefined): Result<PrinterProfile> {
  if (ref && typeof ref !== 'string') return ok(ref);
  const r = ref ?? DEFAULT_PROFILE;
  if (r.includes('/') || r.endsWith('.json')) return readProfileFile(r);
  const p = getProfile(r);
  return p
    ? ok(p)
    : fail(
        'MALFORMED',
        `unknown printer profile ${r}; known: ${SHIPPED_PROFILE_IDS.join(', ')}, or a JSON file`,
      );
}
