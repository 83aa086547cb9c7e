// Logs name a bill by its number, never by its token: a bill token (b1.…) is what the printed QR holds
// and pays the bill, and carries the decision number; a confirmation token (c1.…) proves a payment.
// This is the one place that turns either into a loggable name.

/** A b1 or c1 token anywhere in a text: prefix, bill number, then the rest of the dotted fields. */
const TOKEN_IN_TEXT = /\b([bc]1)\.([A-Z0-9-]{1,32})\.[^\s"'<>?#/\\]+/g;

/**
 * Replaces every bill or confirmation token in a text (a URL path, a log line) by `b1:<bill number>` or
 * `c1:<bill number>`. Text without a token comes back unchanged. Token formats: protocol/tokens.ts.
 */
export function redactTokens(text: string): string {
  return text.replace(TOKEN_IN_TEXT, (_m, kind: string, billNo: string) => `${kind}:${billNo}`);
}
