import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openKiosk, type Kiosk } from '../../main/kiosk.ts';
import { createShiftService } from '../../main/shift/shift.ts';
import {
  createStaffService,
  hashPin,
  verifyPin,
  LOCK_SECONDS,
  type StaffService,
} from '../../main/staff/staff.ts';
import { ManualClock } from '../../protocol/time.ts';

const CHEAP = { N: 1024, r: 8, p: 1 };

describe('staff PINs', () => {
  let dir: string;
  let kiosk: Kiosk;
  let clock: ManualClock;
  let staff: StaffService;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'fk-staff-'));
    clock = new ManualClock(Date.parse('2026-11-21T02:00:00Z'));
    kiosk = openKiosk({ dataDir: dir, clock });
    staff = createStaffService(kiosk.db, clock, CHEAP);
  });
  afterEach(() => {
    kiosk.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores only a salted scrypt hash', async () => {
    const a = await hashPin('123456', CHEAP);
    const b = await hashPin('123456', CHEAP);
    expect(a).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
    expect(await verifyPin('123456', a)).toBe(true);
    expect(await verifyPin('123457', a)).toBe(false);
    const added = await staff.add('王芳', '246810');
    expect(added.ok).toBe(true);
    const row = kiosk.db.prepare('SELECT * FROM staff').get() as Record<string, unknown>;
    expect(JSON.stringify(row)).not.toContain('246810');
  });

  it('makes a random first PIN and refuses a PIN already in use', async () => {
    const first = await staff.add('Staff 1');
    expect(first.ok && /^[0-9]{6}$/.test(first.value.pin)).toBe(true);
    const dup = await staff.add('Staff 2', first.ok ? first.value.pin : '');
    expect(dup.ok).toBe(false);
  });

  it('logs in with the right PIN and checks sessions', async () => {
    await staff.add('王芳', '246810');
    const r = await staff.login('246810');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(staff.checkSession(r.value.session)).toMatchObject({ ok: true, value: { name: '王芳' } });
    staff.logout(r.value.session);
    expect(staff.checkSession(r.value.session)).toMatchObject({ ok: false, error: { code: 'UNAUTHORIZED' } });
  });

  it('locks for 5 minutes after 5 wrong PINs, even against the right one', async () => {
    await staff.add('王芳', '246810');
    for (let i = 1; i <= 4; i++) {
      const r = await staff.login('000000');
      expect(r).toMatchObject({ ok: false, error: { code: 'PIN_WRONG', details: { attemptsLeft: 5 - i } } });
      // Past the first typos each next try waits a little longer (pinguard.test.ts).
      clock.advance(Number((!r.ok && r.error.details?.retryAfter) || 0) * 1000);
    }
    expect(await staff.login('000000')).toMatchObject({ ok: false, error: { code: 'LOCKED' } });
    expect(await staff.login('246810')).toMatchObject({ ok: false, error: { code: 'LOCKED' } });
    clock.advance((LOCK_SECONDS - 1) * 1000);
    expect(await staff.login('246810')).toMatchObject({ ok: false, error: { code: 'LOCKED' } });
    clock.advance(1000);
    expect((await staff.login('246810')).ok).toBe(true);
    // A success clears the count.
    expect(await staff.login('000000')).toMatchObject({ error: { details: { attemptsLeft: 4 } } });
  });

  it('closes a shift with totals per channel, stored with its shift.closed event', async () => {
    const added = await staff.add('王芳', '246810');
    if (!added.ok) throw new Error('add');
    const shifts = createShiftService({
      db: kiosk.db,
      clock,
      deviceId: kiosk.identity.deviceId,
      source: {
        billsSince: () => [
          { billNo: 'B-1', amountFen: 20000, issuedAt: 1, status: 'paid' },
          { billNo: 'B-2', amountFen: 5000, issuedAt: 2, status: 'voided' },
        ],
        paymentsSince: () => [
          { billNo: 'B-1', channel: 'alipay', amountFen: 20000, paidAt: 3 },
          { billNo: 'B-3', channel: 'wechat', amountFen: 15000, paidAt: 4 },
          { billNo: 'B-4', channel: 'wechat', amountFen: 100, paidAt: 5 },
        ],
      },
      appendEvent: (_db, type, payload, at) => kiosk.outbox.append(type, payload, at),
    });
    const r = shifts.close(added.value.staffId);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.totals).toEqual({
      alipay: { count: 1, amountFen: 20000 },
      wechat: { count: 2, amountFen: 15100 },
      issued: { count: 2, amountFen: 25000 },
      voided: { count: 1, amountFen: 5000 },
    });
    expect(r.value.paidFen).toBe(35100);
    // The first shift opens with the kiosk's first recorded activity, the next where the last one closed.
    expect(r.value.openedAt).toBe(r.value.closedAt);
    clock.advance(3600_000);
    const next = shifts.close(added.value.staffId);
    expect(next.ok && next.value.openedAt).toBe(r.value.closedAt);
    expect(shifts.list()[1]?.shiftId).toBe(r.value.shiftId);
    const events = kiosk.outbox.list(0, 100);
    expect(events.at(-1)?.type).toBe('shift.closed');
    expect(kiosk.outbox.verify().ok).toBe(true);
  });
});

describe('finekiosk staff add', () => {
  it('adds staff with a given or random PIN and lists them', async () => {
    const { main } = await import('../../main/cli.ts');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fk-staffcli-'));
    let out = '';
    const io = {
      stdout: (t: string) => void (out += t),
      stderr: () => {},
      env: {},
      stopSignal: new Promise<void>(() => {}),
    };
    try {
      expect(await main(['staff', 'add', '王芳', '--pin', '4321', '--data', dir, '--json'], io)).toBe(0);
      expect(JSON.parse(out)).toMatchObject({ name: '王芳', pin: '4321' });
      out = '';
      expect(await main(['staff', 'add', 'Li', '--data', dir], io)).toBe(0);
      expect(out).toMatch(/PIN \d{6} \(shown only now\)/);
      out = '';
      expect(await main(['staff', 'add', 'Dup', '--pin', '4321', '--data', dir], io)).toBe(2);
      expect(await main(['staff', 'list', '--data', dir, '--json'], io)).toBe(0);
      expect(JSON.parse(out.trim().split('\n').at(-1)!)).toHaveLength(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
