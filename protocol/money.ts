// Money is integer fen everywhere. Display uses the full-width ￥ (U+FFE5): the half-width ¥ is a
// 4-byte GB18030 sequence that Chinese thermal printers misprint.
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
  return `${sign}${YUAN_SIGN}${yuan.toLocaleString('en-US')}.${cents}`;
}

/** Strict yuan text ("200", "200.5", "200.50") → fen; undefined if it is not a valid amount. */
export function parseYuan(text: string): number | undefined {
  const m = /^(\d{1,12})(?:\.(\d{1,2}))?$/.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
}
