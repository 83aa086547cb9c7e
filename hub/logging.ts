// The hub's log lines: structured (pino), with no secrets and no personal data. A request is logged by
// method and path only (query strings can hold plates and decision numbers), and a bill's pay-page
// path by its bill number, never its token; every finished line passes the token redaction once more,
// so a token inside an error message or a library's own log text is caught as well.
import pino, { type DestinationStream, type Logger } from 'pino';
import { redactTokens } from '../protocol/redact.ts';

/** The path of a request as it may be logged: no query, tokens reduced to their bill numbers. */
export function loggablePath(url: string | undefined): string | undefined {
  return url === undefined ? undefined : redactTokens(url.split('?')[0]!);
}

/** A destination that redacts each line before writing it to `out` (stdout by default). */
export function redactingDestination(
  out: { write(line: string): unknown } = process.stdout,
): DestinationStream {
  return { write: (line: string) => void out.write(redactTokens(line)) };
}

/** The hub's logger at a level (FINEKIOSK_LOG_LEVEL, else info), writing to `out` (stdout). */
export function makeHubLogger(
  level = process.env.FINEKIOSK_LOG_LEVEL ?? 'info',
  out?: { write(line: string): unknown },
): Logger {
  return pino(
    {
      level,
      serializers: {
        req: (req: { method?: string; url?: string }) => ({
          method: req.method,
          path: loggablePath(req.url),
        }),
      },
    },
    redactingDestination(out),
  );
}
