// Formatting shared by the documents: times in Asia/Shanghai, money with the full-width ￥.
import { formatFen } from '../../protocol/money.ts';
import { shanghaiDateTime } from '../../protocol/time.ts';

export { formatFen };

/** Unix seconds or an ISO 8601 string → "YYYY-MM-DD HH:mm" Shanghai time. */
export function printTime(t: number | string): string {
  const s = typeof t === 'number' ? t : Math.floor(Date.parse(t) / 1000);
  return shanghaiDateTime(s);
}
