// Finds Electron's binary, when it was downloaded: in Node, require('electron') answers its path (and
// throws when the download never happened). FINEKIOSK_BROWSER=1 skips it and serves for a browser.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const SHELL_ENTRY = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  'electron',
  'boot.mjs',
);

export function electronBinary(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.FINEKIOSK_BROWSER === '1') return undefined;
  try {
    const p: unknown = createRequire(import.meta.url)('electron');
    return typeof p === 'string' && existsSync(p) ? p : undefined;
  } catch {
    return undefined;
  }
}

/** Runs the Electron shell until it exits or the stop signal comes; answers its exit code. */
export function runElectron(binary: string, dataDir: string, stop: Promise<void>): Promise<number> {
  const child = spawn(binary, [SHELL_ENTRY, '--data', dataDir], { stdio: 'inherit' });
  void stop.then(() => child.kill('SIGTERM'));
  return new Promise((resolve) => child.on('exit', (code) => resolve(code ?? 0)));
}
