// Calendar days count in Asia/Shanghai. China has no daylight saving time, so the offset is fixed.
const SHANGHAI_OFFSET_S = 8 * 3600;

/** Unix seconds → "YYYY-MM-DD" in Asia/Shanghai. */
export function shanghaiDate(unixSeconds: number): string {
  return new Date((unixSeconds + SHANGHAI_OFFSET_S) * 1000).toISOString().slice(0, 10);
}

/** Unix seconds → "YYYY-MM-DD HH:mm" in Asia/Shanghai (for printing and display). */
export function shanghaiDateTime(unixSeconds: number): string {
  const iso = new Date((unixSeconds + SHANGHAI_OFFSET_S) * 1000).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** True for a real calendar date written YYYY-MM-DD. */
export function isIsoDate(s: string): boolean {
  const m = DATE_RE.exec(s);
  if (!m) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

/** Whole days from date a to date b (b - a); both YYYY-MM-DD. */
export function daysBetween(a: string, b: string): number {
  return Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / 86_400_000);
}

export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

/** The clock every service takes injected, so tests advance time instead of sleeping. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export function unixSeconds(clock: Clock): number {
  return Math.floor(clock.now() / 1000);
}

/** A clock for tests: starts where told, moves only when advanced. */
export class ManualClock implements Clock {
  constructor(private ms: number) {}
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
  set(ms: number): void {
    this.ms = ms;
  }
}
