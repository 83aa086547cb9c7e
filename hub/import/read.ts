// A fines file read as a stream, one row at a time, so a file of any size costs a few chunks of memory.
// The file rules are protocol/fines-file.ts's (the kiosk reads the same files whole): a JSON array, an object
// whose "fines" array holds them, or CSV with a header row; also NDJSON (.ndjson/.jsonl, one fine per line,
// read by the integration API's line reader). UTF-8 with or without a byte-order mark.
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse as parseCsv } from 'csv-parse';
import { parser as jsonParser } from 'stream-json';
import { pick } from 'stream-json/filters/pick.js';
import { streamArray } from 'stream-json/streamers/stream-array.js';
import { csvHeader, csvLineTracker, csvRecordToRow } from '../../protocol/fines-file.ts';
import { FailureError, failure } from '../../protocol/result.ts';
import { ndjsonLines } from '../integration/ndjson.ts';

/** One row of a file: 1-based row number, the line it starts on (CSV, NDJSON), its value or a known problem. */
export interface FileRow {
  row: number;
  line?: number;
  value?: unknown;
  problem?: string;
}

export type FinesFileFormat = 'csv' | 'json' | 'ndjson';

function badFile(detail: string, details?: Record<string, unknown>): FailureError {
  return new FailureError(failure('BAD_FILE', detail, details));
}

/** Bytes → text, refusing bytes that are not UTF-8 (BAD_FILE); a leading byte-order mark is dropped. */
export async function* utf8Text(source: AsyncIterable<Buffer | string>): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  try {
    for await (const chunk of source) {
      if (typeof chunk === 'string') yield chunk;
      else yield decoder.decode(chunk, { stream: true });
    }
    const tail = decoder.decode();
    if (tail) yield tail;
  } catch (e) {
    if (e instanceof TypeError)
      throw badFile('the file is not UTF-8 text (save it as "CSV UTF-8" or UTF-8 JSON)');
    throw e;
  }
}

/**
 * The format of a file, the same way protocol/fines-file.ts decides: by its name (.csv, .json, .ndjson, .jsonl),
 * else JSON when its first character is `[` or `{`, else CSV.
 */
export async function sniffFormat(file: string): Promise<FinesFileFormat> {
  const lower = file.toLowerCase();
  if (lower.endsWith('.csv')) return 'csv';
  if (lower.endsWith('.json')) return 'json';
  if (lower.endsWith('.ndjson') || lower.endsWith('.jsonl')) return 'ndjson';
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(4096);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const head = buf
      .subarray(0, bytesRead)
      .toString('utf8')
      .replace(/^\uFEFF/, '');
    return /^\s*[[{]/.test(head) ? 'json' : 'csv';
  } finally {
    await fh.close();
  }
}

/** CSV rows through csv-parse's streaming API, checked against the header (protocol/fines-file.ts). */
async function* csvRows(text: AsyncIterable<string>): AsyncGenerator<FileRow> {
  const parser = parseCsv({ bom: true, info: true, relax_column_count: true, skip_empty_lines: true });
  const feeding = pipeline(Readable.from(text), parser);
  feeding.catch(() => undefined); // the same error surfaces through the iteration below
  const lineOf = csvLineTracker();
  let header: string[] | undefined;
  let row = 0;
  try {
    for await (const rec of parser as AsyncIterable<{
      record: string[];
      info: { lines: number; empty_lines: number };
    }>) {
      const line = lineOf(rec.info);
      if (!header) {
        const h = csvHeader(rec.record);
        if (!h.ok) throw new FailureError(h.error);
        header = h.value;
        continue;
      }
      const r = csvRecordToRow(header, rec.record);
      row++;
      yield r.problem ? { row, line, value: r.row, problem: r.problem } : { row, line, value: r.row };
    }
  } catch (e) {
    if (e instanceof FailureError) throw e;
    const err = e as Error & { lines?: number };
    throw badFile(
      `CSV line ${err.lines ?? '?'}: ${err.message}`,
      err.lines ? { line: err.lines } : undefined,
    );
  }
  if (!header) throw badFile('the CSV file is empty');
}

/** JSON array items (or the "fines" array of an object) through stream-json, one value at a time. */
async function* jsonRows(text: AsyncIterable<string>, first: '[' | '{'): AsyncGenerator<FileRow> {
  const stages =
    first === '['
      ? [jsonParser.asStream(), streamArray.asStream()]
      : [jsonParser.asStream(), pick.asStream({ filter: 'fines', once: true }), streamArray.asStream()];
  const src = Readable.from(text);
  let tail = src.pipe(stages[0]!);
  src.on('error', (e) => tail.destroy(e));
  for (const s of stages.slice(1)) {
    const prev = tail;
    tail = prev.pipe(s);
    prev.on('error', (e) => s.destroy(e));
  }
  let row = 0;
  try {
    for await (const item of tail as AsyncIterable<{ key: number; value: unknown }>) {
      row++;
      yield { row, value: item.value };
    }
  } catch (e) {
    if (e instanceof FailureError) throw e;
    throw badFile(`not valid JSON: ${(e as Error).message}`);
  }
  if (row === 0 && first === '{')
    throw badFile('a JSON fines file is an array of fines, or an object with a "fines" array');
}

/** NDJSON lines through the integration API's reader (hub/integration/ndjson.ts). */
async function* ndjsonRows(text: AsyncIterable<string>): AsyncGenerator<FileRow> {
  let row = 0;
  for await (const item of ndjsonLines(text)) {
    row++;
    yield 'error' in item
      ? { row, line: item.line, problem: item.error }
      : { row, line: item.line, value: item.value };
  }
}

/**
 * A fines file → its rows, streamed. Throws FailureError BAD_FILE (not UTF-8, a syntax error with its line, a bad
 * CSV header, an empty CSV, a JSON value that is no list of fines) — a row's own problems come with the row.
 */
export async function* readFinesFile(file: string, format?: FinesFileFormat): AsyncGenerator<FileRow> {
  const fmt = format ?? (await sniffFormat(file));
  const text = utf8Text(createReadStream(file, { highWaterMark: 256 * 1024 }));
  if (fmt === 'csv') return yield* csvRows(text);
  if (fmt === 'ndjson') return yield* ndjsonRows(text);
  // JSON: the first non-blank character says array or object.
  const it = text[Symbol.asyncIterator]();
  let first: string | undefined;
  const seen: string[] = [];
  while (first === undefined) {
    const n = await it.next();
    if (n.done) break;
    seen.push(n.value);
    const m = /\S/.exec(n.value);
    if (m) first = m[0];
  }
  if (first !== '[' && first !== '{')
    throw badFile('a JSON fines file is an array of fines, or an object with a "fines" array');
  const rest = (async function* () {
    yield* seen;
    for (let n = await it.next(); !n.done; n = await it.next()) yield n.value;
  })();
  return yield* jsonRows(rest, first);
}

/** Rows already in memory (the API and tests) as the same stream of rows. */
export async function* rowsOf(rows: Iterable<unknown>): AsyncGenerator<FileRow> {
  let row = 0;
  for (const value of rows) yield { row: ++row, value };
}
