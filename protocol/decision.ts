// Decision numbers (处罚决定书编号) as people type and scan them. The regional pattern is configurable
// (DESIGN.md: default 15 to 20 digits); an officer device without a hub numbers its tickets stand-alone,
// `{deviceId}S{8 digits}` (main/officer/numbers.ts), and those must be payable at any kiosk too.

import { z } from 'zod';
import { REGION_RE } from './ids.ts';

/**
 * A block of decision numbers as the hub hands it to an officer device (hub/officer/blocks.ts): the
 * numbers prefix || lpad(n, width) for n in first..last, never overlapping another device's.
 */
export const decisionBlockSchema = z
  .strictObject({
    blockId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
    region: z.string().regex(REGION_RE),
    prefix: z.string().regex(/^[0-9]{0,30}$/),
    width: z.number().int().min(1).max(15),
    first: z.number().int().nonnegative(),
    last: z.number().int().nonnegative(),
  })
  .refine((b) => b.last >= b.first && b.last < 10 ** b.width, { message: 'range does not fit the width' })
  .refine((b) => b.prefix.length + b.width <= 32, { message: 'numbers longer than 32 characters' });
export type DecisionBlock = z.infer<typeof decisionBlockSchema>;

/** Digits of a stand-alone number after the S. */
export const STANDALONE_WIDTH = 8;
/** `{deviceId (first 23 characters)}S{8 digits}`: at most 32 characters like every decision number. */
export const STANDALONE_RE = /^[a-z0-9]{6,23}S[0-9]{8}$/;

/**
 * Folds a typed or scanned decision number: NFKC (full-width digits from an IME), spaces and dashes
 * dropped; a stand-alone number gets its device id in lower case and its S in upper case, whatever case
 * it was typed in. Anything else is returned folded but otherwise unchanged (the caller validates).
 */
export function normalizeDecisionNo(input: string): string {
  const s = input.normalize('NFKC').replace(/[\s\-_\u00b7]/g, '');
  const m = /^([0-9A-Za-z]{6,23})[Ss]([0-9]{8})$/.exec(s);
  if (m && !/^[0-9]+$/.test(s)) return `${m[1]!.toLowerCase()}S${m[2]!}`;
  return s;
}

export function isStandaloneDecisionNo(s: string): boolean {
  return STANDALONE_RE.test(s);
}

/**
 * Whether a (normalized) decision number is worth a lookup: it matches the region's pattern or is a
 * stand-alone number. The kiosk's 查询 button is enabled only then.
 */
export function plausibleDecisionNo(s: string, pattern: RegExp): boolean {
  return s.length <= 32 && /^[0-9A-Za-z]+$/.test(s) && (pattern.test(s) || isStandaloneDecisionNo(s));
}
