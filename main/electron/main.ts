// Electron main process: starts the kiosk backend (UI server, print service, sync) and the shell.
import { runShell } from './shell.ts';
import { parseShellArgs } from './policy.ts';
import { installProcessGuard } from '../process-guard.ts';

// An error thrown in a timer is logged; a program fault exits so the shell's launcher restarts it.
installProcessGuard();

const args = parseShellArgs(process.argv.slice(1));
const { startBackendForShell } = await import('../ui/launch.ts');
await runShell({
  kiosk: args.kiosk,
  startBackend: () => startBackendForShell(args.dataDir),
  log: (l) => process.stderr.write(`${l}\n`),
});
