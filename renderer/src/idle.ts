// Idle timer for the kiosk screen: after a set time with no touch the session is forgotten and the start
// screen comes back, with a warning shown first. Time comes from an injected clock; `tick` is called
// often (every 250 ms in the browser, by hand in tests).

export type IdleState = { state: 'active' } | { state: 'warning'; remainingMs: number } | { state: 'idle' };

export interface IdleTimerOptions {
  clock: { now(): number };
  timeoutMs: number;
  warnMs: number;
}

export interface IdleTimer {
  activity(): void;
  tick(): IdleState;
}

export function createIdleTimer(opts: IdleTimerOptions): IdleTimer {
  let last = opts.clock.now();
  return {
    activity() {
      last = opts.clock.now();
    },
    tick() {
      const elapsed = opts.clock.now() - last;
      if (elapsed >= opts.timeoutMs) return { state: 'idle' };
      if (elapsed >= opts.timeoutMs - opts.warnMs) {
        return { state: 'warning', remainingMs: opts.timeoutMs - elapsed };
      }
      return { state: 'active' };
    },
  };
}
