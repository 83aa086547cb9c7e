import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../protocol/time.ts';
import { createIdleTimer } from '../../renderer/src/idle.ts';

describe('idle timer', () => {
  it('warns before the limit and goes idle at it (60 s with a 15 s warning)', () => {
    const clock = new ManualClock(0);
    const t = createIdleTimer({ clock, timeoutMs: 60_000, warnMs: 15_000 });
    clock.advance(44_999);
    expect(t.tick()).toEqual({ state: 'active' });
    clock.advance(1);
    expect(t.tick()).toEqual({ state: 'warning', remainingMs: 15_000 });
    clock.advance(14_000);
    expect(t.tick()).toEqual({ state: 'warning', remainingMs: 1_000 });
    clock.advance(1_000);
    expect(t.tick()).toEqual({ state: 'idle' });
  });

  it('any activity starts the count again', () => {
    const clock = new ManualClock(0);
    const t = createIdleTimer({ clock, timeoutMs: 60_000, warnMs: 15_000 });
    clock.advance(50_000);
    expect(t.tick().state).toBe('warning');
    t.activity();
    clock.advance(44_000);
    expect(t.tick().state).toBe('active');
    clock.advance(16_000);
    expect(t.tick().state).toBe('idle');
  });
});
