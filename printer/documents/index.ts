// Documents: plain inputs (no database types) → layout blocks → bytes for a profile.
import { fail, ok, type Result } from '../../protocol/result.ts';
import { PrintRefusal } from '../encoder.ts';
import { renderDocument, type RenderOptions } from '../layout.ts';
import type { PrinterProfile } from '../profiles.ts';
import { billBlocks, type BillDocument } from './bill.ts';
import { receiptBlocks, type ReceiptDocument } from './receipt.ts';
import { shiftReportBlocks, type ShiftReportDocument } from './shift.ts';
import { testPageBlocks, type TestPageDocument } from './testpage.ts';

export * from './bill.ts';
export * from './receipt.ts';
export * from './shift.ts';
export * from './testpage.ts';

export function encodeBill(d: BillDocument, profile: PrinterProfile, opts: RenderOptions = {}): Uint8Array {
  return renderDocument(billBlocks(d), profile, { beep: true, ...opts });
}

export function encodeReceipt(
  d: ReceiptDocument,
  profile: PrinterProfile,
  opts: RenderOptions = {},
): Uint8Array {
  return renderDocument(receiptBlocks(d), profile, { beep: true, ...opts });
}

export function encodeTestPage(d: TestPageDocument, opts: RenderOptions = {}): Uint8Array {
  return renderDocument(testPageBlocks(d), d.profile, opts);
}

export function encodeShiftReport(
  d: ShiftReportDocument,
  profile: PrinterProfile,
  opts: RenderOptions = {},
): Uint8Array {
  return renderDocument(shiftReportBlocks(d, profile.columns), profile, opts);
}

/**
 * Runs an encode and turns a refusal (PrintRefusal: a QR wider than the print width) into a Result, so
 * callers print nothing and say why.
 */
export function encodeChecked(encode: () => Uint8Array): Result<Uint8Array> {
  try {
    return ok(encode());
  } catch (e) {
    if (e instanceof PrintRefusal) return fail(e.code, e.message);
    throw e;
  }
}
