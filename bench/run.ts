// `npm run bench`: runs every benchmark in bench/*.bench.ts in turn (or those named on the command line).
// One benchmark that fails is reported and the rest still run; the exit code says whether any failed.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const dir = path.dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort();
const failed: string[] = [];
for (const f of files) {
  console.log(`\n# ${f}`);
  try {
    const mod = (await import(pathToFileURL(path.join(dir, f)).href)) as { run: () => Promise<void> };
    await mod.run();
  } catch (e) {
    failed.push(f);
    console.log(`! ${f} failed: ${e instanceof Error ? e.message : String(e)} (the other benchmarks go on)`);
  }
}
if (failed.length > 0) {
  console.log(`\n${failed.length} of ${files.length} benchmarks failed: ${failed.join(', ')}`);
  process.exitCode = 1;
}
