import { afterEach, describe, expect, it } from 'vitest';
import { createOfficerService, OFFICER_LOCK_SECONDS } from '../../main/officer/officers.ts';
import { createStaffService } from '../../main/staff/staff.ts';
import { openDevice, removeDir, type Device } from './helpers.ts';

const cost = { N: 1024, r: 8, p: 1 };
let d: Device | undefined;
afterEach(() => {
  d?.close();
  if (d) removeDir(d.dir);
  d = undefined;
});

describe('officer login', () => {
  it('officers have their own role and PIN; staff PINs open nothing here', async () => {
    d = openDevice();
    const officers = createOfficerService(d.kiosk.db, d.clock, cost);
    const staff = createStaffService(d.kiosk.db, d.clock, cost);
    expect((await staff.add('Counter', '111111')).ok).toBe(true);
    expect((await officers.add('031234', '王警官', '222222')).ok).toBe(true);
    const dup = await officers.add('031299', '李警官', '222222');
    expect(!dup.ok && dup.error.message).toContain('PIN');
    expect((await officers.login('111111')).ok).toBe(false);
    const r = await officers.login('222222');
    expect(r.ok && r.value).toMatchObject({ officerId: '031234', role: 'officer' });
    if (!r.ok) return;
    // An officer session is not a staff session.
    expect(staff.checkSession(r.value.session).ok).toBe(false);
    expect(officers.checkSession(r.value.session).ok).toBe(true);
    d.clock.advance(13 * 3600 * 1000);
    expect(officers.checkSession(r.value.session).ok).toBe(false);
  });

  it('locks after 5 wrong PINs for 5 minutes', async () => {
    d = openDevice();
    const officers = createOfficerService(d.kiosk.db, d.clock, cost);
    await officers.add('031234', '王警官', '222222');
    for (let i = 0; i < 4; i++) {
      const r = await officers.login('999999');
      expect(!r.ok && r.error.code).toBe('PIN_WRONG');
      d.clock.advance(Number((!r.ok && r.error.details?.retryAfter) || 0) * 1000);
    }
    const fifth = await officers.login('999999');
    expect(!fifth.ok && fifth.error.code).toBe('LOCKED');
    const during = await officers.login('222222');
    expect(!during.ok && during.error.code).toBe('LOCKED');
    d.clock.advance(OFFICER_LOCK_SECONDS * 1000 + 1000);
    expect((await officers.login('222222')).ok).toBe(true);
  });
});
