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
  // A token can arrive percent-encoded (`/p/b1%2E…`, every character escaped): the pay route decodes the
  // path and serves it, so the log must judge the decoded form too. Runs that hold an escape are decoded;
  // one that then holds a token is replaced by its redacted decoded form (quotes and backslashes escaped
  // again, so a JSON log line stays valid); any other run is left as it was.
  const decodedRuns = text.replace(/[^\s"]*%[0-9A-Fa-f]{2}[^\s"]*/g, (run) => {
    const decoded = percentDecode(run);
    TOKEN_IN_TEXT.lastIndex = 0;
    if (!TOKEN_IN_TEXT.test(decoded)) return run;
    return redactLiteral(decoded).replace(/["\\%]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  });
  return redactLiteral(decodedRuns);
}

function redactLiteral(text: string): string {
  return text.replace(TOKEN_IN_TEXT, (_m, kind: string, billNo: string) => `${kind}:${billNo}`);
}

/** Decodes %XX escapes, repeatedly (a token encoded twice), leaving invalid sequences as they are. */
function percentDecode(text: string): string {
  let out = text;
  for (let i = 0; i < 3 && /%[0-9A-Fa-f]{2}/.test(out); i++) {
    out = out.replace(/(%[0-9A-Fa-f]{2})+/g, (m) => {
      try {
        return decodeURIComponent(m);
      } catch {
        return unescapeBytes(m);
      }
    });
  }
  return out;
}

/** Byte-wise fallback for escapes that are not valid UTF-8 (each byte as its Latin-1 character). */
function unescapeBytes(m: string): string {
  return m.replace(/%([0-9A-Fa-f]{2})/g, (_x, h: string) => String.fromCharCode(parseInt(h, 16)));
}
