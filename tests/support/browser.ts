// Finds and launches the Chromium that the browser tests and the UI benchmark drive through playwright-core.
// Order: CHROMIUM_PATH; then chromium, chromium-browser, google-chrome(-stable) on the PATH (a snap's
// /snap/bin included); then a browser that Playwright itself downloaded earlier. No browser is ever
// downloaded from here: with none found, the launch fails with one line that says how to get one.
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';

const NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];

/** The message shown when no browser is found: one line, with what to do. */
export const NO_BROWSER =
  'No Chromium found for the browser tests: install one (Debian: apt-get install chromium; Ubuntu: snap install chromium) or set CHROMIUM_PATH to its executable.';

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The path of a Chromium to drive, or undefined when there is none.
 * `env` and `pathDirs` are injectable for tests; they default to the process's.
 */
export function findChromium(
  env: NodeJS.ProcessEnv = process.env,
  pathDirs: string[] = (env.PATH ?? '').split(path.delimiter).filter(Boolean),
): string | undefined {
  const fromEnv = env.CHROMIUM_PATH;
  if (fromEnv) return executable(fromEnv) ? fromEnv : undefined;
  for (const name of NAMES) {
    for (const dir of [...pathDirs, '/snap/bin']) {
      const file = path.join(dir, name);
      if (executable(file)) return file;
    }
  }
  try {
    const own = chromium.executablePath();
    if (own && executable(own)) return own;
  } catch {
    // playwright-core knows no downloaded browser here
  }
  return undefined;
}

/**
 * How long a browser step may wait for what it expects (ms). Generous on purpose: a wait ends as soon as the
 * page shows what is expected, so this only bounds a hang, and a busy machine must not fail a test.
 */
export const BROWSER_WAIT_MS = 120_000;

/**
 * Launches headless Chromium with the flags this machine needs; throws NO_BROWSER when there is none. Every
 * context and page it makes waits up to BROWSER_WAIT_MS by default.
 */
export async function launchChromium(): Promise<Browser> {
  const executablePath = findChromium();
  if (!executablePath) throw new Error(NO_BROWSER);
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'],
  });
  const newContext = browser.newContext.bind(browser);
  browser.newContext = async (options) => {
    const context = await newContext(options);
    context.setDefaultTimeout(BROWSER_WAIT_MS);
    return context;
  };
  const newPage = browser.newPage.bind(browser);
  browser.newPage = async (options) => {
    const page = await newPage(options);
    page.setDefaultTimeout(BROWSER_WAIT_MS);
    return page;
  };
  return browser;
}
