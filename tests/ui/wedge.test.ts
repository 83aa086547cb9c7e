import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../protocol/time.ts';
import { createWedgeDetector, scanKeyListener } from '../../renderer/src/wedge.ts';

function feed(text: string, gapMs: number) {
  const clock = new ManualClock(1_000);
  const scans: string[] = [];
  const w = createWedgeDetector({ clock, onScan: (c) => scans.push(c) });
  const ended: boolean[] = [];
  for (const k of [...text, 'Enter']) {
    clock.advance(gapMs);
    ended.push(w.key(k));
  }
  return { scans, ended, w, clock };
}

describe('keyboard-wedge scanner detector', () => {
  it('takes a fast burst ending in Enter as one scan', () => {
    const { scans, ended } = feed('3101012026003040', 8);
    expect(scans).toEqual(['3101012026003040']);
    expect(ended.at(-1)).toBe(true);
  });

  it('leaves human typing alone', () => {
    const { scans, ended } = feed('3101012026003040', 140);
    expect(scans).toEqual([]);
    expect(ended.every((e) => !e)).toBe(true);
  });

  it('starts a new burst after a pause, keeping only the fast part', () => {
    const clock = new ManualClock(0);
    const scans: string[] = [];
    const w = createWedgeDetector({ clock, onScan: (c) => scans.push(c) });
    for (const k of 'ab') {
      clock.advance(200);
      w.key(k);
    }
    clock.advance(500);
    for (const k of [...'c1.TOKEN', 'Enter']) {
      clock.advance(5);
      w.key(k);
    }
    expect(scans).toEqual(['c1.TOKEN']);
  });

  it('refuses a burst that is too short or whose Enter comes late', () => {
    const clock = new ManualClock(0);
    const scans: string[] = [];
    const w = createWedgeDetector({ clock, onScan: (c) => scans.push(c) });
    for (const k of ['1', '2', 'Enter']) {
      clock.advance(5);
      w.key(k);
    }
    for (const k of '123456') {
      clock.advance(5);
      w.key(k);
    }
    clock.advance(400);
    w.key('Enter');
    expect(scans).toEqual([]);
  });

  it('ignores modifier keys inside a burst and honours a custom gap', () => {
    const clock = new ManualClock(0);
    const scans: string[] = [];
    const w = createWedgeDetector({ clock, maxGapMs: 60, onScan: (c) => scans.push(c) });
    for (const k of ['A', 'Shift', 'B', 'c', 'd', 'Enter']) {
      clock.advance(50);
      w.key(k);
    }
    expect(scans).toEqual(['ABcd']);
  });
});

describe('scan key listener (the 确认支付 tab after a tap)', () => {
  const press = (keys: string[], target: { tagName: string }) => {
    const clock = new ManualClock(1_000);
    const scans: string[] = [];
    const listener = scanKeyListener(createWedgeDetector({ clock, onScan: (c) => scans.push(c) }));
    const swallowed: string[] = [];
    for (const key of keys) {
      clock.advance(8);
      listener({ key, target: target as unknown as EventTarget, preventDefault: () => swallowed.push(key) });
    }
    return { scans, swallowed };
  };
  const token = 'c1.eyJiaWxsTm8iOiIxIn0.sig';

  it('takes a scan made while a button has focus, and swallows its Enter so the button is not pressed', () => {
    const { scans, swallowed } = press([...token, 'Enter'], { tagName: 'BUTTON' });
    expect(scans).toEqual([token]);
    expect(swallowed).toEqual(['Enter']);
  });

  it('leaves a scan into a text field to the field itself', () => {
    const { scans, swallowed } = press([...token, 'Enter'], { tagName: 'INPUT' });
    expect(scans).toEqual([]);
    expect(swallowed).toEqual([]);
  });
});
