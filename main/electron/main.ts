// Electron main process: starts the kiosk backend (UI server, print service, sync) and the shell.
import { runShell } from './shell.ts';
import { parseShellArgs } from './policy.ts';

const args = parseShellArgs(process.argv.slice(1));
const { startBackendForShell } = await import('../ui/launch.ts');
await runShell({
  kiosk: args.kiosk,
  startBackend: () => startBackendForShell(args.dataDir),
  log: (l) => process.stderr.write(`${l}\n`),
});
