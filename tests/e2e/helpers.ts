// Shared set-up of the browser tests: the built renderer, the kiosk with its virtual printer, Debian's
// Chromium through playwright-core, axe checks and screenshots written to tests/artifacts/.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { type Browser, type Page } from 'playwright-core';
import { launchChromium } from '../support/browser.ts';
import { expect } from 'vitest';
import { launchKiosk, type Launched, type LaunchOptions } from '../../main/ui/launch.ts';
import { generateKeyPair, publicKeyToRaw } from '../../protocol/signing.ts';
import { ManualClock, unixSeconds } from '../../protocol/time.ts';
import { makeConfirmationToken } from '../../protocol/tokens.ts';
import type { Channel } from '../../protocol/ids.ts';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const ARTIFACTS = path.join(ROOT, 'tests', 'artifacts');
const DIST = path.join(ROOT, 'renderer', 'dist', 'index.html');

/** `npm test` builds the renderer first; a lone run of this file builds it when it is missing. */
export function ensureRenderer(): void {
  if (existsSync(DIST)) return;
  execFileSync(
    process.execPath,
    [
      path.join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'),
      'build',
      '--config',
      'renderer/vite.config.ts',
    ],
    {
      cwd: ROOT,
      stdio: 'ignore',
    },
  );
}

/** Launches the Chromium that tests/support/browser.ts finds (CHROMIUM_PATH, the PATH, Playwright's own). */
export async function launchBrowser(): Promise<Browser> {
  return launchChromium();
}

export interface TestKiosk extends Launched {
  dir: string;
  clock: ManualClock;
  /** A confirmation token as the hub would sign it after the channel's notification. */
  confirmation(billNo: string, amountFen: number, channel?: Channel, txnId?: string): string;
  stop(): Promise<void>;
}

export async function startTestKiosk(extra: Partial<LaunchOptions> = {}): Promise<TestKiosk> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fk-e2e-'));
  const clock = new ManualClock(Date.now());
  const lines: string[] = [];
  const l = await launchKiosk({
    dataDir: path.join(dir, 'data'),
    clock,
    io: { stdout: (t) => void lines.push(t), stderr: (t) => void lines.push(t) },
    pinCost: { N: 1024, r: 8, p: 1 },
    config: { pollMs: 300 },
    // Pages print the moment they arrive: these flows are not about printing time (the timed model of
    // the demo's printer is tested in tests/printer/virtual-mechanism.test.ts).
    instantVirtualPrinter: true,
    ...extra,
  });
  const hub = generateKeyPair();
  const added = l.kiosk.trust.addHubKey('hubtest', publicKeyToRaw(hub.publicKey));
  expect(added.ok).toBe(true);
  let n = 0;
  return {
    ...l,
    dir,
    clock,
    confirmation(billNo, amountFen, channel = 'alipay', txnId) {
      return makeConfirmationToken(
        {
          billNo,
          amountFen,
          channel,
          txnId: txnId ?? `T${Date.now()}${++n}`,
          paidAt: unixSeconds(clock),
          keyId: 'hubtest',
        },
        hub.privateKey,
      );
    },
    async stop() {
      await l.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Fails on any serious or critical accessibility violation of the screen as it is now. */
export async function axeCheck(page: Page, name: string): Promise<void> {
  const r = await new AxeBuilder({ page }).analyze();
  const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(
    bad.map((v) => `${name}: ${v.id} (${v.impact}) ${v.nodes.map((x) => x.target.join(' ')).join(', ')}`),
  ).toEqual([]);
}

/** Screenshot to tests/artifacts/<name>.png, plus the axe check of that screen. */
export async function screen(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
  await axeCheck(page, name);
}

/**
 * Types a code the way a barcode scanner does: a burst of key events a few milliseconds apart, ending in
 * Enter. The events are dispatched inside the page in one go, so a busy test machine cannot stretch the
 * gaps the way one round trip per key would.
 */
export async function scan(page: Page, code: string): Promise<void> {
  await page.evaluate((text) => {
    const target = document.activeElement ?? document.body;
    for (const key of [...text, 'Enter']) {
      target.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true, cancelable: true }));
      target.dispatchEvent(new KeyboardEvent('keyup', { key, bubbles: true, cancelable: true }));
    }
  }, code);
}

/** Types like a person: keys far apart, which must not count as a scan. */
export async function typeSlowly(page: Page, text: string): Promise<void> {
  await page.keyboard.type(text, { delay: 150 });
  await page.keyboard.press('Enter');
}
