// Child process of bench/ui.bench.ts: the kiosk backend in browser mode (UI server, virtual printer,
// sample fines) in a fresh data folder. Prints "ready URL" when serving; on "bills N" issues N bills through
// the API and prints "done"; exits on "exit".
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { launchKiosk } from '../main/ui/launch.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'fk-bench-ui-'));
const l = await launchKiosk({
  dataDir: dir,
  io: { stdout: () => {}, stderr: (t) => process.stderr.write(t) },
  pinCost: { N: 1024, r: 8, p: 1 },
});
process.stdout.write(`ready ${l.ui.server.launchUrl}\n`);
const fines = [
  '3101012026003040',
  '3101012026005943',
  '1101052026003040',
  '4403052026003040',
  '3301062026003040',
];
for await (const line of createInterface({ input: process.stdin })) {
  const [cmd, arg] = line.split(' ');
  if (cmd === 'bills') {
    for (let i = 0; i < Number(arg); i++) {
      const r = await l.ui.call('issueBill', { decisionNo: fines[i % fines.length] });
      if (!r.ok) throw new Error(r.error.message);
    }
    global.gc?.();
    process.stdout.write('done\n');
  } else if (cmd === 'exit') break;
}
await l.close();
rmSync(dir, { recursive: true, force: true });
process.exit(0);
