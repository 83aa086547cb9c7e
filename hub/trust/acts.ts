// What a device may assert (DESIGN.md "Money and trust"; issue 10): only its own acts. These checks are
// exact comparisons against the pushing device's id, never prefix tests on a number a device chose.

/** Width of the digits of a stand-alone decision number (main/officer/numbers.ts makes them). */
export const STANDALONE_DIGITS = 8;
/** How much of the device id a stand-alone number carries: 32 - digits - 1 for the 'S'. */
export const STANDALONE_ID_CHARS = 32 - STANDALONE_DIGITS - 1;

/**
 * True when `billNo` is in the device's own bill namespace: exactly {DEVICEID}-{n} with the device id in
 * capitals and n a positive whole number (main/bills makeBillNo). Device ids are [a-z0-9], so the part
 * before the last '-' names one device exactly.
 */
export function isOwnBillNo(deviceId: string, billNo: string): boolean {
  const i = billNo.lastIndexOf('-');
  if (i <= 0) return false;
  return billNo.slice(0, i) === deviceId.toUpperCase() && /^[1-9][0-9]{0,15}$/.test(billNo.slice(i + 1));
}

/**
 * The stand-alone namespace a decision number belongs to: {id part}S{8 digits}, where the id part is the
 * device id's first 23 characters. Undefined when the number is not of that form. The hub then checks
 * that the id part is the pushing device's, and that no other enrolled device has the same id part.
 */
export function standaloneIdPart(decisionNo: string): string | undefined {
  const m = /^([a-z0-9]{1,23})S([0-9]{8})$/.exec(decisionNo);
  return m ? m[1] : undefined;
}

/** The stand-alone id part of a device. */
export function standaloneIdPartOf(deviceId: string): string {
  return deviceId.slice(0, STANDALONE_ID_CHARS);
}
