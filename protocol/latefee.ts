// Late fee (加处罚款): fines are due within 15 days of the decision; after that 3% of the fine per day
// accrues, never more than the fine itself. Days are Asia/Shanghai calendar days.
import { addDays, daysBetween } from './time.ts';

export const DUE_DAYS = 15;

/** Days of late fee on `day`: days from decidedOn + 15 to day, 0 when not after it. */
export function lateDays(decidedOn: string, day: string): number {
  return Math.max(0, daysBetween(addDays(decidedOn, DUE_DAYS), day));
}

/** fee = min(fineFen, round(fineFen × 0.03 × k)), rounding half up to the fen; exact in integers. */
export function lateFeeFen(fineFen: number, decidedOn: string, day: string): number {
  const k = lateDays(decidedOn, day);
  const fee = Math.floor((fineFen * 3 * k + 50) / 100);
  return Math.min(fineFen, fee);
}

/** The last day on which no late fee is due. */
export function dueDate(decidedOn: string): string {
  return addDays(decidedOn, DUE_DAYS);
}
