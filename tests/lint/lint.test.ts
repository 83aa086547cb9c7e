// The conventions that lint enforces, shown on planted code: a Result nobody reads, the hub importing the kiosk,
// protocol importing the project, a floating promise, and a switch that misses a case. The planted files are
// written where the rules apply (hub/, protocol/) under unique names and removed afterwards.
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ESLint } from 'eslint';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const planted: string[] = [];
function plant(dir: string, source: string): string {
  const file = path.join(ROOT, dir, `lint-probe-${process.pid}-${planted.length}.ts`);
  writeFileSync(file, source);
  planted.push(file);
  return file;
}
afterAll(() => {
  for (const f of planted) rmSync(f, { force: true });
});

async function rulesHit(file: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: ROOT });
  const [r] = await eslint.lintFiles([file]);
  return (r?.messages ?? []).map((m) => m.ruleId ?? m.message);
}

describe('lint conventions', { timeout: 180_000 }, () => {
  it('catches an unread Result, a main/ import in hub/, a floating promise and a missed switch case', async () => {
    const file = plant(
      'hub',
      `import { fail, ok, type Result } from '../protocol/result.ts';
import { openKiosk } from '../main/kiosk.ts';
export function check(n: number): Result<number> {
  return n > 0 ? ok(n) : fail('MALFORMED');
}
export async function later(): Promise<void> {}
export function use(kind: 'a' | 'b'): number {
  check(1);
  later();
  void check(2);
  switch (kind) {
    case 'a':
      return 1;
  }
  return typeof openKiosk === 'function' ? 0 : 2;
}
`,
    );
    const hits = await rulesHit(file);
    expect(hits.filter((h) => h === 'finekiosk/no-unread-result')).toHaveLength(1);
    expect(hits).toContain('no-restricted-imports');
    expect(hits).toContain('@typescript-eslint/no-floating-promises');
    expect(hits).toContain('@typescript-eslint/switch-exhaustiveness-check');
  });

  it('protocol/ may import nothing else of the project', async () => {
    const file = plant(
      'protocol',
      `import { hubMigrations } from '../hub/migrations/index.ts';\nexport const n = hubMigrations.length;\n`,
    );
    expect(await rulesHit(file)).toContain('no-restricted-imports');
  });

  it('a read Result passes', async () => {
    const file = plant(
      'hub',
      `import { ok, type Result } from '../protocol/result.ts';
const check = (n: number): Result<number> => ok(n);
export function use(): number {
  const r = check(1);
  return r.ok ? r.value : 0;
}
`,
    );
    expect(await rulesHit(file)).toEqual([]);
  });
});
