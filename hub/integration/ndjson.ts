// NDJSON (one JSON value per line) read from a stream without holding the whole body: async iteration
// pulls chunks only as fast as the consumer takes lines, so a million-row upload costs one chunk of memory.
import { StringDecoder } from 'node:string_decoder';

export type NdjsonItem = { line: number; value: unknown } | { line: number; error: string };

/** Longest line accepted, in characters: a fine is well under 2 KB. */
export const MAX_LINE_CHARS = 64 * 1024;

/** Yields each non-empty line's parsed value (or its parse error) with its 1-based line number. */
export async function* ndjsonLines(source: AsyncIterable<Buffer | string>): AsyncGenerator<NdjsonItem> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let line = 0;
  // True while dropping the remainder of an over-long line (already reported).
  let skipping = false;
  const parse = (text: string): NdjsonItem => {
    try {
      return { line, value: JSON.parse(text) as unknown };
    } catch {
      return { line, error: 'not JSON' };
    }
  };
  const take = function* (final: boolean): Generator<NdjsonItem> {
    let start = 0;
    let nl: number;
    while ((nl = rest.indexOf('\n', start)) >= 0) {
      const text = rest.slice(start, nl).trim();
      start = nl + 1;
      if (skipping) {
        skipping = false;
        continue;
      }
      line++;
      if (text) yield parse(text);
    }
    rest = rest.slice(start);
    if (!skipping && rest.length > MAX_LINE_CHARS) {
      line++;
      yield { line, error: `line longer than ${MAX_LINE_CHARS} characters` };
      skipping = true;
    }
    if (skipping) rest = '';
    if (final && rest.trim()) {
      line++;
      yield parse(rest.trim());
    }
  };
  for await (const chunk of source) {
    rest += typeof chunk === 'string' ? chunk : decoder.write(chunk);
    yield* take(false);
  }
  rest += decoder.end();
  yield* take(true);
}
