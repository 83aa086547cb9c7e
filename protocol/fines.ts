// The fines data format (fixed; docs/domain.md, Fines), shared by kiosk import, hub import and sync pull.
import { z } from 'zod';
import { DECISION_NO_RE, REGION_RE, VIN6_RE, fenSchema } from './ids.ts';
import { isIsoDate } from './time.ts';

export const fineStatusSchema = z.enum(['unpaid', 'paid', 'cancelled']);
export type FineStatus = z.infer<typeof fineStatusSchema>;

/** ISO 8601 date-time with an offset or Z. */
const isoDateTime = z
  .string()
  .refine(
    (s) =>
      /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(s) &&
      !Number.isNaN(Date.parse(s)),
    {
      message: 'occurredAt must be an ISO 8601 date-time with a time zone, e.g. 2026-05-01T08:30:00+08:00',
    },
  );

export const fineSchema = z.object({
  decisionNo: z.string().regex(DECISION_NO_RE, 'decisionNo: letters and digits, 1 to 32'),
  region: z.string().regex(REGION_RE, 'region: a 6-digit administrative code'),
  plate: z.string().min(2).max(16),
  vehicleIdLast6: z.string().regex(VIN6_RE, 'vehicleIdLast6: 6 letters or digits'),
  violationCode: z.string().min(1).max(16),
  description: z.string().min(1).max(200),
  descriptionEn: z.string().max(300).optional(),
  place: z.string().min(1).max(200),
  occurredAt: isoDateTime,
  decidedOn: z.string().refine(isIsoDate, { message: 'decidedOn must be a date YYYY-MM-DD' }),
  fineFen: fenSchema,
  points: z.number().int().min(0).max(12),
  status: fineStatusSchema,
});
export type Fine = z.infer<typeof fineSchema>;

export const FINE_FIELDS = [
  'decisionNo',
  'region',
  'plate',
  'vehicleIdLast6',
  'violationCode',
  'description',
  'descriptionEn',
  'place',
  'occurredAt',
  'decidedOn',
  'fineFen',
  'points',
  'status',
] as const;

/** Plate shown where a passer-by can see it: 京A12345 → 京A***45. */
export function maskPlate(plate: string): string {
  const chars = [...plate];
  if (chars.length <= 4) return chars[0] + '*'.repeat(Math.max(0, chars.length - 1));
  return chars.slice(0, 2).join('') + '*'.repeat(chars.length - 4) + chars.slice(-2).join('');
}
