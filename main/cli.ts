// The `finekiosk` command. Each area's commands live in main/cli/<area>.ts and are listed here.
import { runCli, type Command, type Io } from './cli/framework.ts';

async function loadCommands(): Promise<Command[]> {
  const areas = await Promise.all([
    // Areas register here, e.g. import('./cli/kiosk.ts'),
    import('./cli/kiosk.ts'),
    import('./cli/officer.ts'),
    import('./cli/printer.ts'),
    import('./cli/hub.ts'),
    import('./cli/sync.ts'),
    import('./cli/recovery.ts'),
    import('./cli/payments.ts'),
    import('./cli/service.ts'),
    import('./cli/ui.ts'),
  ]);
  return areas.flatMap((m: { commands: Command[] }) => m.commands);
}

export async function main(argv: string[], io?: Partial<Io>): Promise<number> {
  // Ctrl-C or SIGTERM asks a long-running command to stop; the listeners go with the command, so
  // many commands run in one process (tests, the app) leave none behind.
  let stopNow!: () => void;
  const stop = new Promise<void>((resolve) => (stopNow = resolve));
  const onSignal = (): void => stopNow();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const full: Io = {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    env: process.env,
    stopSignal: stop,
    ...io,
  };
  try {
    return await runCli(await loadCommands(), argv, full);
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}
