// `npm start`'s demo hub carries the service plugins: its operator console answers, and the first-run
// console account's password is in a file only this user reads (never printed), made once.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { DEMO_OPERATOR, firstOperatorFile, startDemoHub, type DemoHub } from '../../main/ui/demo.ts';

let dir: string | undefined;
let demo: DemoHub | undefined;
afterEach(async () => {
  await demo?.close();
  demo = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('serves the console and makes a first-run operator with a private password file, once', async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'fk-demo-'));
  const hubDir = path.join(dir, 'hub');
  demo = await startDemoHub({ dataDir: hubDir });
  expect(demo.consoleUrl).toBe(`${demo.url}/console/`);
  expect(demo.firstOperatorFile).toBe(firstOperatorFile(hubDir));
  expect(statSync(demo.firstOperatorFile!).mode & 0o777).toBe(0o600);
  const password = /password: (\S+)/.exec(readFileSync(demo.firstOperatorFile!, 'utf8'))![1]!;
  const login = await fetch(`${demo.url}/console/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id: DEMO_OPERATOR, password }),
  });
  expect(login.status).toBe(200);
  expect(((await login.json()) as { operator: { role: string } }).operator.role).toBe('admin');
  // The integration API and /metrics are there too (metrics refused without a key).
  expect((await fetch(`${demo.url}/api/v1/openapi.json`)).status).toBe(200);
  expect((await fetch(`${demo.url}/metrics`)).status).toBe(401);
  await demo.close();
  rmSync(firstOperatorFile(hubDir));
  // A second start keeps the account and writes no new password.
  demo = await startDemoHub({ dataDir: hubDir });
  expect(demo.firstOperatorFile).toBeUndefined();
});
