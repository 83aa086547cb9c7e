// Wrong clocks: the hub holds bills to its own clock (protocol/billtime.ts); a kiosk whose known offset
// exceeds 5 minutes issues nothing and says why; within it, bills carry hub-corrected time; the offset
// is measured at the answer, so a long poll's wait is not counted. Clocks are injected.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openKiosk, type Kiosk } from '../../main/kiosk.ts';
import { enroll, measuredOffset, SyncEngine, syncStatus } from '../../main/sync/engine.ts';
import { billPayableUntil, billTimeCheck, clockFloorCheck } from '../../protocol/billtime.ts';
import type { Fine } from '../../protocol/fines.ts';
import { ManualClock, systemClock } from '../../protocol/time.ts';
import { sampleFine, startTestHub, type TestHub } from '../hub/helpers.ts';
import { fine, fixture, T0 } from '../kiosk/helpers.ts';

const H = 3600;
const REAL = 1_790_000_000;

describe('the hub keeps a bill payable by its own clock', () => {
  const bill = (issuedAt: number) => ({ issuedAt, expiresAt: issuedAt + 4 * H });
  it('a kiosk a day or ten minutes ahead: refused as from the future', () => {
    for (const ahead of [24 * H, 10 * 60]) {
      const r = billTimeCheck(bill(REAL + ahead), REAL, REAL);
      expect(!r.ok && r.error.code).toBe('BILL_FROM_FUTURE');
    }
  });
  it('within the 5-minute tolerance: payable, but never past 4 hours after the hub first saw it', () => {
    expect(billPayableUntil(bill(REAL + 240), REAL)).toBe(REAL + 4 * H);
    expect(billTimeCheck(bill(REAL + 240), REAL, REAL + 4 * H - 1).ok).toBe(true);
    const late = billTimeCheck(bill(REAL + 240), REAL, REAL + 4 * H);
    expect(!late.ok && late.error.code).toBe('BILL_EXPIRED');
  });
  it('a kiosk 5 hours behind: its bill is expired when the hub sees it', () => {
    const r = billTimeCheck(bill(REAL - 5 * H), REAL, REAL);
    expect(!r.ok && r.error.code).toBe('BILL_EXPIRED');
  });
  it('a bill pushed hours after an offline issue keeps its printed expiry', () => {
    expect(billPayableUntil(bill(REAL), REAL + 3 * H)).toBe(REAL + 4 * H);
  });
  it('measures the offset at the answer, half a second for the floored hub time', () => {
    expect(measuredOffset(REAL + 0.2, REAL)).toBe(0);
    expect(measuredOffset(REAL + 0.9, REAL)).toBe(0);
    expect(measuredOffset(REAL + 600.4, REAL)).toBe(600);
    expect(measuredOffset(REAL - 120 + 0.5, REAL)).toBe(-120);
  });
});

describe('a kiosk with a skewed clock against a hub (PGlite)', () => {
  let t: TestHub;
  let dir: string;
  let kiosk: Kiosk | undefined;
  const hubClock = new ManualClock(REAL * 1000);
  beforeEach(async () => {
    hubClock.set(REAL * 1000);
    t = await startTestHub('pglite', hubClock);
    dir = mkdtempSync(path.join(os.tmpdir(), 'fk-clock-'));
  });
  afterEach(async () => {
    kiosk?.close();
    kiosk = undefined;
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function kioskAhead(seconds: number): Promise<{ k: Kiosk; engine: SyncEngine; clock: ManualClock }> {
    const clock = new ManualClock((REAL + seconds) * 1000 + 300);
    const k = openKiosk({ dataDir: dir, clock });
    kiosk = k;
    const code = await t.hub.devices.add({ name: 'Hall', region: '110000' });
    if (!code.ok) throw new Error('code');
    expect((await enroll(k, { hubUrl: t.url, code: code.value.code })).ok).toBe(true);
    await t.hub.fines.importRows([sampleFine('110000000000000001')]);
    return { k, engine: new SyncEngine(k, { network: false }), clock };
  }

  it('10 minutes ahead: the hub refuses, the kiosk learns its offset and refuses to issue, saying why', async () => {
    const { k, engine } = await kioskAhead(600);
    k.fines.upsertMany([sampleFine('110000000000000001') as unknown as Fine]);
    const pull = await engine.pullAll();
    expect(!pull.ok && pull.error.code).toBe('CLOCK_SKEW');
    const st = syncStatus(k);
    expect(st.clockOffsetSeconds).toBe(600);
    expect(st.clockWarning).toContain('10 minute');
    const r = k.bills.issue('110000000000000001');
    expect(!r.ok && r.error.code).toBe('CLOCK_OFF');
    if (!r.ok) expect(r.error.messageZh).toContain('5分钟');
  });

  it('2 minutes ahead: bills are stamped with the hub-corrected time', async () => {
    const { k, engine } = await kioskAhead(120);
    expect((await engine.pullAll()).ok).toBe(true);
    expect(syncStatus(k).clockOffsetSeconds).toBe(120);
    const b = k.bills.issue('110000000000000001');
    if (!b.ok) throw new Error(b.error.message);
    expect(b.value.issuedAt).toBe(REAL);
    expect((await engine.pushAll()).ok).toBe(true);
  });
});

describe('the offset does not count a long poll wait', () => {
  let t: TestHub;
  let dir: string;
  let kiosk: Kiosk | undefined;
  afterEach(async () => {
    kiosk?.close();
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });
  it('kiosk and hub on one clock: about 0 after a 3-second long poll, not -3', async () => {
    t = await startTestHub('pglite', systemClock);
    dir = mkdtempSync(path.join(os.tmpdir(), 'fk-clock-'));
    kiosk = openKiosk({ dataDir: dir });
    const code = await t.hub.devices.add({ name: 'Hall', region: '110000' });
    if (!code.ok) throw new Error('code');
    expect((await enroll(kiosk, { hubUrl: t.url, code: code.value.code })).ok).toBe(true);
    const engine = new SyncEngine(kiosk, { network: false });
    expect((await engine.pullAll()).ok).toBe(true);
    expect((await engine.pullOnce(3)).ok).toBe(true);
    expect(Math.abs(syncStatus(kiosk).clockOffsetSeconds ?? 99)).toBeLessThanOrEqual(1);
  });
});

describe('a kiosk clock that jumped back (no hub needed to notice)', () => {
  it('below the last record it wrote, or before the build date: CLOCK_OFF; back in range: issues again', () => {
    const f = fixture({ sample: false });
    try {
      const [a, b, c] = ['3101012026990001', '3101012026990002', '3101012026990003'];
      f.kiosk.fines.upsertMany([a, b, c].map((decisionNo) => fine({ decisionNo })));
      expect(f.kiosk.bills.issue(a!).ok).toBe(true);
      // NTP stepping a few seconds back is not a jump.
      f.clock.advance(-30_000);
      expect(f.kiosk.bills.issue(b!).ok).toBe(true);
      // A day back (a reset RTC, a wrong manual setting): below the newest record.
      f.clock.advance(-24 * H * 1000);
      const back = f.kiosk.bills.issue(c!);
      expect(!back.ok && back.error.code).toBe('CLOCK_OFF');
      if (!back.ok) {
        expect(back.error.messageZh).toContain('早于本机已写入的记录');
        expect(back.error.details?.behindSeconds).toBeGreaterThan(23 * H);
      }
      f.clock.set(Date.UTC(2001, 0, 1));
      const reset = f.kiosk.bills.issue(c!);
      expect(!reset.ok && reset.error.code).toBe('CLOCK_OFF');
      expect(clockFloorCheck(Date.UTC(2001, 0, 1) / 1000).ok).toBe(false);
      // Nothing was written while refused; the clock set right issues again.
      const events = f.kiosk.outbox.verify().events;
      expect(f.kiosk.bills.issue(c!).ok).toBe(false);
      expect(f.kiosk.outbox.verify().events).toBe(events);
      f.clock.set(T0 + 60_000);
      expect(f.kiosk.bills.issue(c!).ok).toBe(true);
    } finally {
      f.cleanup();
    }
  });
});
