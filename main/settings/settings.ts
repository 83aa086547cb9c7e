// Key-value settings of this kiosk (hub address, decision number pattern, ...), stored in the database.
import type { Database } from '../../db/connection.ts';
import { DEFAULT_DECISION_PATTERN } from '../../protocol/ids.ts';

/** Where bill QR codes point until the operator sets the hub's address. */
export const DEFAULT_HUB_BASE = 'http://127.0.0.1:8080';

export const SETTING = {
  hubBase: 'hubBase',
  decisionPattern: 'decisionPattern',
  /** The printer profile: a shipped profile id or a profile JSON file (printer/profiles.ts). */
  printerProfile: 'printerProfile',
  /**
   * 'true' on a kiosk whose screen is a staff counter's console: staff PINs typed here count against the
   * 'counter' entry point. Set only by the operator on the machine; a request never chooses its entry.
   */
  counterConsole: 'counterConsole',
} as const;

export interface Settings {
  get(key: string): string | undefined;
  set(key: string, value: string): void;
  delete(key: string): void;
  all(): Record<string, string>;
  /** The hub base URL printed in bill QR codes. */
  hubBase(): string;
  /** The configured decision number pattern, compiled (anchored by the pattern itself). */
  decisionPattern(): RegExp;
  /** Where staff PINs typed on this kiosk's screen count: 'counter' on a counter console, else 'public'. */
  staffEntry(): 'public' | 'counter';
}

export function createSettings(db: Database, opts: { hubBase?: string } = {}): Settings {
  const get = db.prepare<[string], { value: string }>('SELECT value FROM settings WHERE key = ?');
  const set = db.prepare<[string, string]>(
    'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
  );
  const del = db.prepare<[string]>('DELETE FROM settings WHERE key = ?');
  let patternCache: { source: string; re: RegExp } | undefined;
  const s: Settings = {
    get: (key) => get.get(key)?.value,
    set: (key, value) => {
      if (key === SETTING.decisionPattern) new RegExp(value); // refuse an invalid pattern before storing it
      set.run(key, value);
    },
    delete: (key) => void del.run(key),
    all: () =>
      Object.fromEntries(
        (
          db.prepare('SELECT key, value FROM settings ORDER BY key').all() as { key: string; value: string }[]
        ).map((r) => [r.key, r.value]),
      ),
    hubBase: () => opts.hubBase ?? s.get(SETTING.hubBase) ?? DEFAULT_HUB_BASE,
    staffEntry: () => (s.get(SETTING.counterConsole) === 'true' ? 'counter' : 'public'),
    decisionPattern: () => {
      const source = s.get(SETTING.decisionPattern) ?? DEFAULT_DECISION_PATTERN;
      if (patternCache?.source !== source) patternCache = { source, re: new RegExp(source) };
      return patternCache.re;
    },
  };
  return s;
}
