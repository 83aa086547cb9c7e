// Printer profiles: what a model can do. The layout reads columns and dots; the encoder picks native
// GB18030 text or raster text, native QR or a raster QR, and a cut only where there is a cutter.
import { z } from 'zod';

export const printerProfileSchema = z.object({
  id: z.string().regex(/^[a-z0-9-]{1,32}$/),
  name: z.string().max(200),
  paperMm: z.union([z.literal(58), z.literal(80)]),
  /** Printable dots per line (font A is 12 dots a column). */
  dots: z.union([z.literal(384), z.literal(576)]),
  columns: z.union([z.literal(32), z.literal(48)]),
  /** Has a GB18030 Chinese font (FS & ... FS .); otherwise non-ASCII text is sent as raster images. */
  cjkFont: z.boolean(),
  /** Prints QR codes itself (GS ( k); otherwise the QR is sent as a raster image. */
  nativeQr: z.boolean(),
  cutter: z.boolean(),
  /** QR module size in dots. */
  qrModuleSize: z.number().int().min(1).max(16),
  /** Printer address used when none is given (see transports). */
  url: z.string().optional(),
});
export type PrinterProfile = z.infer<typeof printerProfileSchema>;

export const profiles = {
  'generic-58': {
    id: 'generic-58',
    name: 'Generic 58 mm Chinese-market thermal printer (GB18030 font, native QR)',
    paperMm: 58,
    dots: 384,
    columns: 32,
    cjkFont: true,
    nativeQr: true,
    cutter: false,
    qrModuleSize: 5,
  },
  'generic-80': {
    id: 'generic-80',
    name: 'Generic 80 mm Chinese-market thermal printer (GB18030 font, native QR, cutter)',
    paperMm: 80,
    dots: 576,
    columns: 48,
    cjkFont: true,
    nativeQr: true,
    cutter: true,
    qrModuleSize: 6,
  },
  'epson-80': {
    id: 'epson-80',
    name: 'Epson-compatible 80 mm printer without Chinese font (raster text, native QR, cutter)',
    paperMm: 80,
    dots: 576,
    columns: 48,
    cjkFont: false,
    nativeQr: true,
    cutter: true,
    qrModuleSize: 6,
  },
} as const satisfies Record<string, PrinterProfile>;

export type ProfileId = keyof typeof profiles;
export const DEFAULT_PROFILE: ProfileId = 'generic-80';

export function getProfile(id: string): PrinterProfile | undefined {
  return Object.hasOwn(profiles, id) ? profiles[id as ProfileId] : undefined;
}

/** A profile with some capabilities overridden (e.g. a raster QR for a printer whose firmware lacks it). */
export function withOverrides(base: PrinterProfile, over: Partial<PrinterProfile>): PrinterProfile {
  return printerProfileSchema.parse({ ...base, ...over });
}
