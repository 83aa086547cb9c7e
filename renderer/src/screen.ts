// The citizen flow's screens as data: which screen shows and what it carries. The App switches on it.
import type { BillDto, FineDto } from '../../main/api.ts';
import type { Failure } from '../../protocol/result.ts';
import type { StaffSession } from './staff.tsx';

/** One citizen or staff screen; `back` is where the back button goes. */
export type Screen =
  | { name: 'start' }
  | { name: 'keypad' }
  | { name: 'plate' }
  | { name: 'fine'; fine: FineDto; back: Screen }
  | { name: 'fines'; fines: FineDto[]; back: Screen }
  | { name: 'busy' }
  | { name: 'bill'; bill: BillDto; printed: boolean; paperJob?: string }
  | { name: 'paid'; bill: BillDto; others?: FineDto[] }
  | { name: 'error'; error: Failure; bill?: BillDto; back?: Screen }
  | { name: 'staffLogin' }
  | { name: 'staff'; session: StaffSession };

/** One screen of the flow by its name. */
export type ScreenOf<N extends Screen['name']> = Extract<Screen, { name: N }>;

/** Printer failures after which the bill screen offers to show the QR code or print again. */
export const PRINTER_CODES = new Set([
  'PRINTER_PAPER_END',
  'PRINTER_OFFLINE',
  'PRINTER_COVER_OPEN',
  'PRINTER_UNREACHABLE',
  'PRINTER_TIMEOUT',
  'PRINTER_CUTTER_ERROR',
  'PRINT_FAILED',
]);
