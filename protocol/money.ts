// Money is integer fen everywhere. Display uses the full-width ￥ (U+FFE5): the half-width ¥ is a
// 4-byte GB18030 sequence that Chinese thermal printers misprint.
import { lateFeeFen } from './latefee.ts';
import { shanghaiDate } from './time.ts';

export const YUAN_SIGN = '\uFFE5';

export function isFen(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

/** 20000 → "￥200.00" */
export function formatFen(fen: number): string {
  if (!Number.isSafeInteger(fen)) throw new RangeError(`not an integer amount of fen: ${fen}`);
  const sign = fen < 0 ? '-' : '';
  const abs = Math.abs(fen);
  const yuan = Math.floor(abs / 100);
  const cents = String(abs % 100).padStart(2, '0');
  // Thousands grouped by hand: toLocaleString goes through ICU, a hot spot of the bill encoder.
  return `${sign}${YUAN_SIGN}${String(yuan).replace(/\B(?=(\d{3})+$)/g, ',')}.${cents}`;
}

/** Strict yuan text ("200", "200.5", "200.50") → fen; undefined if it is not a valid amount. */
export function parseYuan(text: string): number | undefined {
  const m = /^(\d{1,12})(?:\.(\d{1,2}))?$/.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
}

export interface BillAmount {
  fineFen: number;
  /** 加处罚款 for the bill's Shanghai issue day. */
  lateFeeFen: number;
  /** fineFen + lateFeeFen: what the bill asks for. */
  amountFen: number;
}

/**
 * The amount of a bill for `fine` issued at `issuedAt` (Unix seconds): the fine plus the late fee
 * (加处罚款) for the Asia/Shanghai calendar day of issue (DESIGN.md "Fines data"). Kiosk and hub both use
 * it; the hub refuses a bill whose amount differs.
 */
export function billAmount(fine: { fineFen: number; decidedOn: string }, issuedAt: number): BillAmount {
  const lateFee = lateFeeFen(fine.fineFen, fine.decidedOn, shanghaiDate(issuedAt));
  return { fineFen: fine.fineFen, lateFeeFen: lateFee, amountFen: fine.fineFen + lateFee };
}
