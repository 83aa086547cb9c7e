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

/** Launches headless Chromium with the flags this machine needs; throws NO_BROWSER when there is none. */
export async function launchChromium(): Promise<Browser> {
  const executablePath = findChromium();
  if (!executablePath) throw new Error(NO_BROWSER);
  return chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'],
  });
}
