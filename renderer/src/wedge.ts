// Barcode scanners are keyboard wedges: they "type" a code as a fast burst of keys ending in Enter. A
// person types far slower, so keys that arrive less than ~30 ms apart and end in Enter are a scan; anything
// slower is typing and is left alone. The clock is injected so tests feed exact timings.

export interface WedgeOptions {
  clock: { now(): number };
  /** Largest gap between two keys of one scan, ms. */
  maxGapMs?: number;
  /** Shortest code taken as a scan. */
  minLength?: number;
  onScan(code: string): void;
}

export interface WedgeDetector {
  /** Feed one KeyboardEvent.key; true when this key ended a scan (the caller may then swallow it). */
  key(key: string): boolean;
  reset(): void;
}

export function createWedgeDetector(opts: WedgeOptions): WedgeDetector {
  const maxGap = opts.maxGapMs ?? 30;
  const minLength = opts.minLength ?? 4;
  let buf: string[] = [];
  let last = -Infinity;
  return {
    key(key) {
      const now = opts.clock.now();
      const fast = now - last <= maxGap;
      last = now;
      if (key === 'Enter') {
        const code = buf.join('');
        buf = [];
        if (fast && code.length >= minLength) {
          opts.onScan(code);
          return true;
        }
        return false;
      }
      // Only printable single characters belong to a code; Shift and friends do not break a burst.
      if (key.length !== 1) return false;
      if (!fast) buf = [];
      buf.push(key);
      return false;
    },
    reset() {
      buf = [];
      last = -Infinity;
    },
  };
}

/** The part of a KeyboardEvent the scan listener reads. */
export interface ScanKeyEvent {
  key: string;
  target: EventTarget | null;
  preventDefault(): void;
}

/**
 * A window keydown listener (capture phase) feeding `wedge` the keys typed outside a text field: a text
 * field takes its own scan as typing. A key that ends a scan is swallowed, so the scanner's Enter never
 * presses the button that happens to have focus (a tap on the 确认支付 tab moves focus off its field).
 */
export function scanKeyListener(wedge: WedgeDetector): (e: ScanKeyEvent) => void {
  return (e) => {
    const el = e.target as { tagName?: string } | null;
    if (el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA')) return;
    if (wedge.key(e.key)) e.preventDefault();
  };
}
