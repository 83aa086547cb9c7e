// The backend's last line of defence: an error nobody caught (thrown inside a timer, a promise nobody
// awaited) is logged, never lost. A system resource error (out of file descriptors, a peer gone) is
// transient: the process keeps serving, since every committed record is already in SQLite and the next
// tick retries. Anything else is a fault in the program whose state can no longer be trusted: it is
// logged and the process exits non-zero, so the service manager (systemd, the Electron shell) restarts it.

/** errno codes that mean "the machine is short of something right now", not "the program is wrong". */
const TRANSIENT = new Set([
  'EMFILE',
  'ENFILE',
  'EAGAIN',
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EADDRNOTAVAIL',
]);

/** Whether an uncaught error is a transient resource error the process survives. */
export function isTransient(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && TRANSIENT.has(code);
}

export interface GuardIo {
  /** One line to the log (stderr, kept by the journal under a service). */
  log(line: string): void;
  /** Ends the process (process.exit). */
  exit(code: number): void;
}

/**
 * Decides what one uncaught error does: 'continue' (logged, transient) or 'exit' (logged, exit code 1).
 * Unhandled promise rejections continue: their owner already returned, nothing is half-done on the stack.
 */
export function onUncaught(
  kind: 'exception' | 'rejection',
  err: unknown,
  io: GuardIo,
): 'continue' | 'exit' {
  const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
  if (kind === 'rejection' || isTransient(err)) {
    io.log(`finekiosk: uncaught ${kind}, kept running: ${text}\n`);
    return 'continue';
  }
  io.log(`finekiosk: uncaught ${kind}, exiting so the service restarts the kiosk: ${text}\n`);
  io.exit(1);
  return 'exit';
}

let installed = false;

/** Installs the process-level handlers once (the kiosk backend's entry points call it). */
export function installProcessGuard(
  io: GuardIo = {
    log: (line) => process.stderr.write(line),
    exit: (code) => process.exit(code),
  },
): void {
  if (installed) return;
  installed = true;
  process.on('uncaughtException', (err) => onUncaught('exception', err, io));
  process.on('unhandledRejection', (err) => onUncaught('rejection', err, io));
}
