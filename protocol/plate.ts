// Chinese plate numbers (GA 36-2018 and later amendments): the ONE normalization every plate goes through
// (kiosk search, officer tickets, hub lookups and imports), and the check before a ticket is written.
// Full-width characters (an IME's ＡＢＣ１２３), lower case and the separators people type are folded first.
import { z } from 'zod';
import { fail, ok, type Result } from './result.ts';

/** The 31 provincial-level abbreviations used on plates (mainland China). */
export const PROVINCES = '京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼';

/** Letters used on plates: I and O are never issued (confused with 1 and 0). */
const L = 'A-HJ-NP-Z';
const P = `[${PROVINCES}]`;

export const plateKinds = [
  'ordinary', // blue/yellow plates, motorcycles: province + authority letter + 5
  'new-energy-small', // green: province + letter + D/F(…) + letter-or-digit + 4 digits
  'new-energy-large', // yellow-green: province + letter + 5 digits + D/F
  'police', // 警: province + letter + 4 + 警
  'coach', // 学: driving-school car
  'trailer', // 挂
  'hk-macau', // 粤Z + 4 + 港/澳
  'consulate', // 领: province + letter + 4 + 领
  'embassy', // 使 + 6 digits
  'emergency', // 应急: province + letter + 4 + 应急 (fire and rescue vehicles, since 2018)
] as const;
export type PlateKind = (typeof plateKinds)[number];

export interface PlateInfo {
  /** The plate as stored: no separators, upper case. */
  plate: string;
  kind: PlateKind;
  /** New-energy only: pure electric or not (plug-in hybrid, range extender, fuel cell). */
  energy?: 'electric' | 'hybrid';
}

// Small new-energy plates: D and F at first; since 2021 also A B C E (electric) and F G H J K (other).
const NE_ELECTRIC = 'DABCE';
const NE_HYBRID = 'FGHJK';

const RULES: { kind: PlateKind; re: RegExp }[] = [
  { kind: 'ordinary', re: new RegExp(`^${P}[${L}][${L}0-9]{5}$`) },
  { kind: 'new-energy-small', re: new RegExp(`^${P}[${L}][${NE_ELECTRIC}${NE_HYBRID}][${L}0-9][0-9]{4}$`) },
  { kind: 'new-energy-large', re: new RegExp(`^${P}[${L}][0-9]{5}[DF]$`) },
  { kind: 'police', re: new RegExp(`^${P}[${L}][${L}0-9]{4}警$`) },
  { kind: 'coach', re: new RegExp(`^${P}[${L}][${L}0-9]{4}学$`) },
  { kind: 'trailer', re: new RegExp(`^${P}[${L}][${L}0-9]{4}挂$`) },
  { kind: 'hk-macau', re: new RegExp(`^粤Z[${L}0-9]{4}[港澳]$`) },
  { kind: 'consulate', re: new RegExp(`^${P}[${L}][0-9]{4}领$`) },
  { kind: 'embassy', re: /^使[0-9]{6}$/ },
  { kind: 'emergency', re: new RegExp(`^${P}[${L}][${L}0-9]{4}应急$`) },
];

/**
 * The one plate normalization: NFKC folds full-width letters and digits (what a Chinese IME types) to
 * ASCII, the separators people type (spaces, middle dots, dashes, dots, underscores) are dropped, Latin
 * letters upper-cased. `沪ａ·１２３４５` and `沪A12345` are one plate.
 */
export function normalizePlate(input: string): string {
  return input
    .normalize('NFKC')
    .replace(/[\s\u00b7\u2022\u2027\u2219\u30fb\uff65.\-_\u2010-\u2015]/g, '')
    .toUpperCase();
}

/** Says why a plate is wrong in a way an officer can act on. */
function reason(p: string): string {
  const first = [...p][0] ?? '';
  if (p.length === 0) return 'empty';
  if (first !== '使' && !PROVINCES.includes(first)) return `"${first}" is not a province abbreviation`;
  if (/[IO]/.test(p)) return 'the letters I and O are never used on plates';
  const n = [...p].length;
  if (n < 7) return `too short (${n} characters)`;
  if (n > (p.endsWith('应急') ? 9 : 8)) return `too long (${n} characters)`;
  if (p.startsWith('粤Z') || /[港澳]$/.test(p)) return 'Hong Kong/Macau plates are 粤Z + 4 + 港 or 澳';
  if (/[警学挂领]$/.test(p) || p.endsWith('应急'))
    return 'does not match: a 警/学/挂/领/应急 plate is province + letter + 4 + suffix';
  if (n === 8) return 'an 8-character plate must be new-energy (D/F rules)';
  return 'does not match any plate format';
}

export function parsePlate(input: string): Result<PlateInfo> {
  if (typeof input !== 'string' || input.length > 32) return fail('BAD_PLATE', 'too long');
  const plate = normalizePlate(input);
  for (const r of RULES) {
    if (!r.re.test(plate)) continue;
    const info: PlateInfo = { plate, kind: r.kind };
    if (r.kind === 'new-energy-small') info.energy = NE_ELECTRIC.includes(plate[2]!) ? 'electric' : 'hybrid';
    if (r.kind === 'new-energy-large') info.energy = plate.endsWith('D') ? 'electric' : 'hybrid';
    return ok(info);
  }
  return fail('BAD_PLATE', `${plate}: ${reason(plate)}`);
}

export const plateSchema = z.string().transform((s, ctx) => {
  const r = parsePlate(s);
  if (!r.ok) {
    ctx.addIssue({ code: 'custom', message: r.error.message });
    return z.NEVER;
  }
  return r.value.plate;
});

/** The last 6 of a vehicle id as typed or scanned: the same folding as a plate (full-width, case, separators). */
export function normalizeVin6(input: string): string {
  return normalizePlate(input);
}
