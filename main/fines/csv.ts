// A small RFC 4180 CSV reader: quoted fields, "" escapes, CRLF or LF line ends, a leading BOM.
// Returns rows of fields with the 1-based line each row starts on, or the first syntax error.

export interface CsvRow {
  line: number;
  fields: string[];
}

export type CsvResult = { ok: true; rows: CsvRow[] } | { ok: false; line: number; reason: string };

export function parseCsv(text: string): CsvResult {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const rows: CsvRow[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let rowLine = 1;
  let i = 0;
  let quoted = false;
  let afterQuote = false;
  const n = text.length;
  const endRow = (): void => {
    fields.push(field);
    // A blank line (one empty unquoted field) is skipped, not a row.
    if (!(fields.length === 1 && fields[0] === '' && !afterQuote)) rows.push({ line: rowLine, fields });
    fields = [];
    field = '';
    afterQuote = false;
  };
  while (i < n) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        afterQuote = true;
        i++;
        continue;
      }
      if (c === '\n') line++;
      field += c;
      i++;
      continue;
    }
    if (c === '"') {
      if (field !== '' || afterQuote) return { ok: false, line, reason: 'a quote inside an unquoted field' };
      quoted = true;
      i++;
      continue;
    }
    if (c === ',') {
      fields.push(field);
      field = '';
      afterQuote = false;
      i++;
      continue;
    }
    if (c === '\r' || c === '\n') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      i++;
      endRow();
      line++;
      rowLine = line;
      continue;
    }
    if (afterQuote) return { ok: false, line, reason: 'text after a closing quote' };
    field += c;
    i++;
  }
  if (quoted) return { ok: false, line: rowLine, reason: 'a quoted field is not closed' };
  if (field !== '' || fields.length > 0 || afterQuote) endRow();
  return { ok: true, rows };
}
