// Expected failures travel as values, never as exceptions: a stable code plus a message in both languages.
import { messages, type ErrorCode } from './errors.ts';

export interface Failure {
  code: ErrorCode;
  /** English message. */
  message: string;
  /** Chinese message. */
  messageZh: string;
  /** Optional machine-readable details (row numbers, expected seq, ...). */
  details?: Record<string, unknown>;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: Failure };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

/** A failure with the catalogue's messages, optionally with a specific detail appended. */
export function fail<T = never>(
  code: ErrorCode,
  detail?: string,
  details?: Record<string, unknown>,
): Result<T> {
  return { ok: false, error: failure(code, detail, details) };
}

export function failure(code: ErrorCode, detail?: string, details?: Record<string, unknown>): Failure {
  const m = messages[code];
  const f: Failure = {
    code,
    message: detail ? `${m.en}: ${detail}` : m.en,
    messageZh: detail ? `${m.zh}：${detail}` : m.zh,
  };
  if (details) f.details = details;
  return f;
}

/** Thrown only to abort a transaction with an expected failure; callers turn it back into a Result. */
export class FailureError extends Error {
  constructor(readonly failure: Failure) {
    super(`${failure.code}: ${failure.message}`);
  }
}

export function unwrap<T>(r: Result<T>): T {
  if (!r.ok) throw new FailureError(r.error);
  return r.value;
}
