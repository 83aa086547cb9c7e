// The fines file format (docs/domain.md, Fines), read the same way by a stand-alone kiosk and by the hub: a JSON
// array of fines (or an object whose "fines" array holds them, as the sample file has it), or CSV with a header
// row of the same names; UTF-8 with or without a byte-order mark. CSV is parsed by csv-parse (RFC 4180).
// Validation is per row, so a streaming reader can use the same rule; an import stays all or nothing.
import { parse as parseCsvSync } from 'csv-parse/sync';
import { plausibleDecisionNo } from './decision.ts';
import { FINE_FIELDS, fineSchema, type Fine } from './fines.ts';
import { fail, ok, type Result } from './result.ts';

/** Rows read from a fines file, before validation. `lines` (CSV only) is the line each row starts on. */
export interface FinesFileRows {
  format: 'json' | 'csv';
  rows: unknown[];
  lines?: number[];
  /** A reason a CSV row is already known to be wrong (column count, a number that is not one), per row. */
  problems?: (string | undefined)[];
}

/** One row's problem: 1-based row number, the CSV line when known, and the reason in English. */
export interface FineRowError {
  row: number;
  line?: number;
  reason: string;
}

const strictFineSchema = fineSchema.strict();
const INT_RE = /^-?[0-9]+$/;
/** Most row errors kept in a refusal's details. */
export const MAX_ROW_ERRORS = 50;

/**
 * Bytes of a fines file → its rows. JSON when the name ends in .json, or when the name is not .csv and the text
 * starts with `[` or `{`; CSV otherwise.
 * Errors: BAD_FILE (not UTF-8, not JSON, a JSON value that is no list of fines, a CSV syntax error with its line,
 * a CSV header with unknown, repeated or missing columns, an empty file).
 */
export function decodeFinesFile(bytes: Uint8Array, fileName: string): Result<FinesFileRows> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return fail('BAD_FILE', 'the file is not UTF-8 text (save it as "CSV UTF-8" or UTF-8 JSON)');
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lower = fileName.toLowerCase();
  const looksJson = /^\s*[[{]/.test(text);
  if (lower.endsWith('.json') || (!lower.endsWith('.csv') && looksJson)) return finesFromJson(text);
  return finesFromCsv(text);
}

/** JSON text → rows: an array of fines, or `{ "fines": [...] }` with notes beside it. Errors: BAD_FILE. */
export function finesFromJson(text: string): Result<FinesFileRows> {
  let data: unknown;
  try {
    data = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (e) {
    return fail('BAD_FILE', `not valid JSON: ${(e as Error).message}`);
  }
  const list = Array.isArray(data)
    ? data
    : data !== null && typeof data === 'object' && Array.isArray((data as { fines?: unknown }).fines)
      ? (data as { fines: unknown[] }).fines
      : undefined;
  if (!list)
    return fail('BAD_FILE', 'a JSON fines file is an array of fines, or an object with a "fines" array');
  return ok({ format: 'json', rows: list });
}

/**
 * CSV text with a header row of fine field names → rows as plain objects (fineFen and points as integers).
 * A row with the wrong number of fields, or a number that is not a whole number, is kept with its problem so the
 * refusal lists every bad row. Errors: BAD_FILE (syntax, with its line; header problems; empty file).
 */
export function finesFromCsv(text: string): Result<FinesFileRows> {
  let records: { record: string[]; info: { lines: number; empty_lines: number } }[];
  try {
    records = parseCsvSync(text, {
      bom: true,
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
    }) as unknown as typeof records;
  } catch (e) {
    const err = e as Error & { lines?: number };
    return fail(
      'BAD_FILE',
      `CSV line ${err.lines ?? '?'}: ${err.message}`,
      err.lines ? { line: err.lines } : undefined,
    );
  }
  // csv-parse reports the line a record ends on; a record starts after the previous one and any blank lines.
  const lineOf = csvLineTracker();
  const withStart = records.map((r) => ({ fields: r.record, line: lineOf(r.info) }));
  const [head, ...body] = withStart;
  if (!head) return fail('BAD_FILE', 'the CSV file is empty');
  const header = csvHeader(head.fields);
  if (!header.ok) return header;
  const rows: Record<string, unknown>[] = [];
  const lines: number[] = [];
  const problems: (string | undefined)[] = [];
  for (const r of body) {
    const { row, problem } = csvRecordToRow(header.value, r.fields);
    problems.push(problem);
    rows.push(row);
    lines.push(r.line);
  }
  return ok({ format: 'csv', rows, lines, problems });
}

/** A CSV header row → its column names, checked: known names only, none twice, none required missing. */
export function csvHeader(fields: string[]): Result<string[]> {
  const header = fields.map((h) => h.trim());
  const known = new Set<string>(FINE_FIELDS);
  const unknown = header.filter((h) => !known.has(h));
  if (unknown.length) return fail('BAD_FILE', `unknown column(s) in the header: ${unknown.join(', ')}`);
  const dup = header.find((h, i) => header.indexOf(h) !== i);
  if (dup) return fail('BAD_FILE', `column ${dup} appears twice in the header`);
  const missing = FINE_FIELDS.filter((f) => f !== 'descriptionEn' && !header.includes(f));
  if (missing.length) return fail('BAD_FILE', `missing column(s) in the header: ${missing.join(', ')}`);
  return ok(header);
}

/**
 * One CSV record under a checked header → a plain row object (fineFen and points as integers, an empty
 * descriptionEn left out), and the reason the record is already wrong (field count, a number that is not one).
 */
export function csvRecordToRow(
  header: string[],
  fields: string[],
): { row: Record<string, unknown>; problem: string | undefined } {
  const o: Record<string, unknown> = {};
  const why: string[] = [];
  if (fields.length !== header.length)
    why.push(`has ${fields.length} fields, the header has ${header.length}`);
  header.forEach((h, i) => {
    const v = fields[i];
    if (v === undefined) return;
    if (h === 'fineFen' || h === 'points') {
      if (INT_RE.test(v.trim())) o[h] = Number(v.trim());
      else why.push(`${h}: ${JSON.stringify(v)} is not a whole number${h === 'fineFen' ? ' of fen' : ''}`);
    } else if (h === 'descriptionEn' && v === '') return;
    else o[h] = v;
  });
  return { row: o, problem: why.length ? why.join('; ') : undefined };
}

/**
 * Tracks the line each CSV record starts on, from csv-parse's `info` (which gives the line a record ends on and
 * the blank lines skipped so far). Call once per record, in order.
 */
export function csvLineTracker(): (info: { lines: number; empty_lines: number }) => number {
  let prevEnd = 0;
  let prevEmpty = 0;
  return (info) => {
    const start = prevEnd + 1 + (info.empty_lines - prevEmpty);
    prevEnd = info.lines;
    prevEmpty = info.empty_lines;
    return start;
  };
}

/** Row errors → the BAD_FILE refusal of a whole file (at most MAX_ROW_ERRORS kept, the count beside them). */
export function badRowsFailure(errors: FineRowError[], errorCount: number): Result<never> {
  const summary = errors
    .slice(0, 5)
    .map((e) => `row ${e.row}${e.line !== undefined ? ` (line ${e.line})` : ''}: ${e.reason}`)
    .join('; ');
  return fail('BAD_FILE', `${errorCount} bad row(s): ${summary}${errorCount > 5 ? '; ...' : ''}`, {
    errors: errors.slice(0, MAX_ROW_ERRORS),
    errorCount,
  });
}

/**
 * One row → a fine, or the reason it is not one: the fine schema with no unknown fields, and the decision number
 * matching `decisionPattern` when given (a region's configured pattern).
 */
export function validateFineRow(raw: unknown, decisionPattern?: RegExp): { fine: Fine } | { reason: string } {
  const parsed = strictFineSchema.safeParse(raw);
  if (!parsed.success) {
    return {
      reason: parsed.error.issues
        .map((iss) => (iss.path.length ? `${iss.path.join('.')}: ${iss.message}` : iss.message))
        .join('; '),
    };
  }
  // A stand-alone officer number ({deviceId}S{8 digits}) is valid beside the region's pattern.
  if (decisionPattern && !plausibleDecisionNo(parsed.data.decisionNo, decisionPattern)) {
    return { reason: 'decisionNo: does not match the decision number format' };
  }
  return { fine: parsed.data };
}

/**
 * Rows of a file → fines, all or nothing: every row valid and no decision number twice.
 * Errors: BAD_FILE with `details.errors` (at most MAX_ROW_ERRORS of FineRowError) and `details.errorCount`.
 */
export function validateFineRows(
  file: Pick<FinesFileRows, 'rows' | 'lines' | 'problems'>,
  decisionPattern?: RegExp,
): Result<Fine[]> {
  const { rows, lines, problems } = file;
  if (rows.length === 0) return fail('BAD_FILE', 'the file holds no fines');
  const errors: FineRowError[] = [];
  let errorCount = 0;
  const seen = new Map<string, number>();
  const fines: Fine[] = [];
  rows.forEach((raw, i) => {
    const row = i + 1;
    const line = lines?.[i];
    const err = (reason: string): void => {
      errorCount++;
      if (errors.length < MAX_ROW_ERRORS)
        errors.push(line === undefined ? { row, reason } : { row, line, reason });
    };
    const problem = problems?.[i];
    if (problem) return err(problem);
    const v = validateFineRow(raw, decisionPattern);
    if ('reason' in v) return err(v.reason);
    const first = seen.get(v.fine.decisionNo);
    if (first !== undefined) return err(`decisionNo ${v.fine.decisionNo} repeats row ${first}`);
    seen.set(v.fine.decisionNo, row);
    fines.push(v.fine);
  });
  if (errorCount > 0) return badRowsFailure(errors, errorCount);
  return ok(fines);
}
