// The browser finder: CHROMIUM_PATH first, then the usual names on the PATH, and a one-line advice when none.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findChromium, NO_BROWSER } from './browser.ts';

const dirs: string[] = [];
function binDir(names: string[]): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'fk-bin-'));
  dirs.push(d);
  for (const n of names) {
    writeFileSync(path.join(d, n), '#!/bin/sh\n');
    chmodSync(path.join(d, n), 0o755);
  }
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('findChromium', () => {
  it('takes CHROMIUM_PATH when it is an executable, and nothing else when it is not', () => {
    const d = binDir(['my-chrome', 'chromium']);
    expect(findChromium({ CHROMIUM_PATH: path.join(d, 'my-chrome') }, [d])).toBe(path.join(d, 'my-chrome'));
    expect(findChromium({ CHROMIUM_PATH: path.join(d, 'missing') }, [d])).toBeUndefined();
  });

  it('finds chromium-browser or google-chrome on the PATH when chromium is absent', () => {
    const a = binDir(['chromium-browser']);
    expect(findChromium({}, [a])).toBe(path.join(a, 'chromium-browser'));
    const b = binDir(['google-chrome']);
    expect(findChromium({}, [b])).toBe(path.join(b, 'google-chrome'));
  });

  it('skips a file that is not executable', () => {
    const d = binDir([]);
    writeFileSync(path.join(d, 'chromium'), '');
    const found = findChromium({}, [d]);
    expect(found).not.toBe(path.join(d, 'chromium'));
  });

  it('the advice is one line that says how to get a browser', () => {
    expect(NO_BROWSER).not.toContain('\n');
    expect(NO_BROWSER).toContain('CHROMIUM_PATH');
    expect(NO_BROWSER).toContain('apt-get install chromium');
  });
});
