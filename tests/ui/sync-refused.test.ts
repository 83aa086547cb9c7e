// Staff see what sync refused (issue 10): events of this kiosk the hub refused, and pulled changes this
// kiosk could not apply, each with its code and the catalogue's message in the chosen language.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openKiosk, type Kiosk } from '../../main/kiosk.ts';
import { SyncEngine } from '../../main/sync/engine.ts';
import { engineSync } from '../../main/ui/sync-status.ts';
import { messages } from '../../protocol/errors.ts';
import { failureText } from '../../renderer/src/components.tsx';
import { ManualClock } from '../../protocol/time.ts';
import type { Failure } from '../../protocol/result.ts';

describe('refused records on the staff sync tab', () => {
  let dir: string;
  let kiosk: Kiosk;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'fk-refused-'));
    kiosk = openKiosk({ dataDir: dir, clock: new ManualClock(Date.parse('2026-11-21T02:00:00Z')) });
  });
  afterEach(() => {
    kiosk.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists refused events and refused pulled changes, newest first, with codes shown in both languages', () => {
    // The rows the sync engine keeps: a push answer's rejected event, and a pulled change it could not apply.
    kiosk.db
      .prepare('INSERT INTO sync_rejected (seq, event_id, type, code, reason, at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(7, 'e7', 'bill.voided', 'NOT_OWN_BILL', 'bill K2-1', 1_800_000_100);
    kiosk.db
      .prepare(
        'INSERT INTO sync_refused_changes (cursor, kind, code, reason, change, at) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(42, 'payment', 'UNKNOWN_KEY', 'key evil', '{"kind":"payment"}', 1_800_000_200);
    const status = engineSync(kiosk, new SyncEngine(kiosk, {})).status();
    expect(status.rejected).toBe(1);
    expect(status.refused).toEqual([
      { kind: 'change', ref: 'payment @42', code: 'UNKNOWN_KEY', at: 1_800_000_200 },
      { kind: 'event', ref: 'bill.voided #7', code: 'NOT_OWN_BILL', at: 1_800_000_100 },
    ]);
    // What the renderer shows beside each code: the catalogue's message, never the raw reason.
    const t = ((k: string) => k) as unknown as Parameters<typeof failureText>[2];
    for (const r of status.refused!) {
      const e: Failure = { code: r.code as Failure['code'], message: '', messageZh: '' };
      const m = messages[r.code as keyof typeof messages];
      expect(failureText(e, 'zh-CN', t)).toBe(m.zh);
      expect(failureText(e, 'en', t)).toBe(m.en);
      expect(m.zh).not.toBe(m.en);
    }
  });
});
