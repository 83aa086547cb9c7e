// UI benchmarks: backend start to an interactive kiosk screen in Chromium (browser mode), beside a bare
// Node HTTP server serving a one-line page measured the same way; and the backend's memory (RSS) while
// idle and after 1,000 bills, beside a bare Node process with the same loader.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type Browser } from 'playwright-core';
import { launchChromium } from '../tests/support/browser.ts';
import { printSection, stats } from './lib.ts';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const CHILD = path.join(ROOT, 'bench', 'ui-backend.child.ts');
const BARE = `
const http = require('node:http');
const s = http.createServer((q, r) => { r.setHeader('content-type', 'text/html'); r.end('<!doctype html><title>x</title><main data-screen="start">ok</main>'); });
s.listen(0, '127.0.0.1', () => process.stdout.write('ready http://127.0.0.1:' + s.address().port + '/\\n'));
process.stdin.on('data', (d) => { if (String(d).startsWith('exit')) process.exit(0); });
`;

interface Child {
  proc: ChildProcess;
  url: string;
  readyMs: number;
  send(line: string): void;
  next(): Promise<string>;
}

async function startChild(args: string[]): Promise<Child> {
  const t0 = performance.now();
  const proc = spawn(process.execPath, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
  const next = async () => String((await lines.next()).value ?? '');
  const first = await next();
  if (!first.startsWith('ready ')) throw new Error(`child said: ${first}`);
  return {
    proc,
    url: first.slice(6),
    readyMs: performance.now() - t0,
    send: (l) => proc.stdin!.write(`${l}\n`),
    next,
  };
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function startToInteractive(browser: Browser, args: string[], selector: string) {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  // A busy machine may take long to start the backend; the figure is measured, never a limit.
  page.setDefaultTimeout(300_000);
  const t0 = performance.now();
  const child = await startChild(args);
  await page.goto(child.url);
  await page.waitForSelector(selector);
  const total = performance.now() - t0;
  await ctx.close();
  return { child, total };
}

export async function run(): Promise<void> {
  const browser = await launchChromium();
  try {
    const kioskArgs = ['--import', 'tsx', CHILD];
    const bareArgs = ['--import', 'tsx', '-e', BARE];
    const totals: number[] = [];
    const readies: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < 3; i++) {
      // The kiosk screen counts as interactive when the status bar has its first answer from the API.
      const k = await startToInteractive(
        browser,
        kioskArgs,
        '[data-screen="start"] [data-testid="status-printer"]',
      );
      totals.push(k.total);
      readies.push(k.child.readyMs);
      k.child.send('exit');
      await new Promise((r) => k.child.proc.once('exit', r));
      const b = await startToInteractive(browser, bareArgs, '[data-screen="start"]');
      bare.push(b.total);
      b.child.send('exit');
      await new Promise((r) => b.child.proc.once('exit', r));
    }
    const t = stats(totals);
    const r = stats(readies);
    const a = stats(bare);
    printSection('UI start (browser mode, median of 3)', [
      { name: 'backend start to listening', value: `${r.p50.toFixed(0)} ms` },
      {
        name: 'backend start to kiosk screen interactive',
        value: `${t.p50.toFixed(0)} ms (max ${t.max.toFixed(0)} ms)`,
        anchor: `aim < 2000 ms; bare Node HTTP server + one-line page: ${a.p50.toFixed(0)} ms`,
      },
    ]);

    const kiosk = await startChild(['--expose-gc', '--import', 'tsx', CHILD]);
    const idleBare = await startChild(bareArgs);
    await new Promise((res) => setTimeout(res, 2000));
    const idle = rssMb(kiosk.proc.pid!);
    const bareRss = rssMb(idleBare.proc.pid!);
    const t0 = performance.now();
    kiosk.send('bills 1000');
    await kiosk.next();
    const billsMs = performance.now() - t0;
    const after = rssMb(kiosk.proc.pid!);
    kiosk.send('exit');
    idleBare.send('exit');
    await Promise.all([
      new Promise((res) => kiosk.proc.once('exit', res)),
      new Promise((res) => idleBare.proc.once('exit', res)),
    ]);
    printSection('UI backend memory (RSS)', [
      {
        name: 'idle',
        value: `${idle.toFixed(1)} MB`,
        anchor: `aim < 150 MB; bare Node with tsx: ${bareRss.toFixed(1)} MB`,
      },
      {
        name: 'after 1,000 bills through the API',
        value: `${after.toFixed(1)} MB (issued in ${(billsMs / 1000).toFixed(1)} s)`,
        anchor: 'aim < 150 MB',
      },
    ]);
  } finally {
    await browser.close();
  }
}
