// The `finekiosk` command's small framework: each area registers its commands in main/cli/<area>.ts;
// this file parses arguments, runs one command, and turns its Result into output and an exit code.
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import path from 'node:path';
import { fail, failure, FailureError, ok, type Failure, type Result } from '../../protocol/result.ts';
import { storageFailure } from '../../db/faults.ts';
import type { ErrorCode } from '../../protocol/errors.ts';

export const EXIT = { ok: 0, unexpected: 1, badInput: 2, refused: 3 } as const;

/** Codes that mean "the input was wrong" (exit 2); every other failure is a rule refusing (exit 3). */
const INPUT_CODES = new Set<ErrorCode>(['MALFORMED', 'BAD_FILE', 'TOO_LARGE', 'BAD_PLATE']);

export type Options = NonNullable<ParseArgsConfig['options']>;

export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
  /** Resolves when the process is asked to stop (Ctrl-C, SIGTERM); long-running commands await it. */
  stopSignal: Promise<void>;
}

export interface CommandContext {
  io: Io;
  json: boolean;
  /** The kiosk's data folder: --data, else FINEKIOSK_DATA, else ./.data */
  dataDir: string;
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
}

export interface Command {
  /** Words after `finekiosk`, e.g. ['bill', 'issue']. */
  path: string[];
  usage: string;
  summary: string;
  options?: Options;
  /** Positional arguments required, at least. */
  minPositionals?: number;
  maxPositionals?: number;
  run(ctx: CommandContext): Promise<Result<unknown>>;
  /** Human text for a successful result; JSON is printed when absent. */
  text?(value: unknown): string;
}

const GLOBAL_OPTIONS: Options = {
  data: { type: 'string' },
  /** The hub's own data folder (default <data>/hub); hub commands only. */
  'hub-data': { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
};

export function exitCodeFor(f: Failure): number {
  return INPUT_CODES.has(f.code) ? EXIT.badInput : EXIT.refused;
}

function renderDefault(value: unknown): string {
  if (value === null || typeof value !== 'object') return String(value);
  return Object.entries(value as Record<string, unknown>)
    .map(([k, v]) => `${k}: ${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`)
    .join('\n');
}

function helpText(commands: Command[]): string {
  const lines = ['finekiosk — traffic-fine payment kiosk', '', 'Usage:'];
  for (const c of commands) lines.push(`  finekiosk ${c.usage}`.padEnd(64) + `  ${c.summary}`);
  lines.push(
    '',
    'Global options: --data DIR (or FINEKIOSK_DATA; default ./.data; the hub uses DIR/hub, or --hub-data DIR), --json, --help',
  );
  lines.push('Exit codes: 0 success, 2 bad input, 3 refused by a rule, 1 unexpected error');
  return lines.join('\n');
}

function findCommand(commands: Command[], words: string[]): Command | undefined {
  let best: Command | undefined;
  for (const c of commands) {
    if (c.path.length <= words.length && c.path.every((w, i) => words[i] === w)) {
      if (!best || c.path.length > best.path.length) best = c;
    }
  }
  return best;
}

export async function runCli(commands: Command[], argv: string[], io: Io): Promise<number> {
  const json = argv.includes('--json');
  const printFailure = (f: Failure): void => {
    if (json) io.stdout(JSON.stringify({ error: f }) + '\n');
    else io.stderr(`error ${f.code}: ${f.message}\n  ${f.messageZh}\n`);
  };
  const words = argv.filter((a) => !a.startsWith('-'));
  const cmd = findCommand(commands, words);
  if (!cmd) {
    if (argv.length === 0 || argv.includes('--help') || argv.includes('-h')) {
      io.stdout(helpText(commands) + '\n');
      return EXIT.ok;
    }
    printFailure(
      failure('MALFORMED', `unknown command: ${words.join(' ') || argv.join(' ')}; see finekiosk --help`),
    );
    return EXIT.badInput;
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...GLOBAL_OPTIONS, ...cmd.options },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    printFailure(failure('MALFORMED', `${(e as Error).message}; usage: finekiosk ${cmd.usage}`));
    return EXIT.badInput;
  }
  if (parsed.values.help) {
    io.stdout(`finekiosk ${cmd.usage}\n  ${cmd.summary}\n`);
    return EXIT.ok;
  }
  // Positionals after the command words.
  let rest = parsed.positionals;
  for (const w of cmd.path) {
    const i = rest.indexOf(w);
    rest = [...rest.slice(0, i), ...rest.slice(i + 1)];
  }
  if (
    rest.length < (cmd.minPositionals ?? 0) ||
    rest.length > (cmd.maxPositionals ?? cmd.minPositionals ?? 0)
  ) {
    printFailure(failure('MALFORMED', `usage: finekiosk ${cmd.usage}`));
    return EXIT.badInput;
  }
  const dataDir = path.resolve(
    (parsed.values.data as string | undefined) ?? io.env.FINEKIOSK_DATA ?? path.join(process.cwd(), '.data'),
  );
  try {
    const result = await cmd.run({ io, json, dataDir, values: parsed.values, positionals: rest });
    if (!result.ok) {
      printFailure(result.error);
      return exitCodeFor(result.error);
    }
    if (json) io.stdout(JSON.stringify(result.value) + '\n');
    else if (result.value !== undefined)
      io.stdout((cmd.text ? cmd.text(result.value) : renderDefault(result.value)) + '\n');
    return EXIT.ok;
  } catch (e) {
    // A refusal thrown on the way (opening a database that went back, a full disk, a damaged file) is
    // the operator's to read, with what to do: not an unexpected error.
    const known = e instanceof FailureError ? e.failure : storageFailure(e, dataDir);
    if (known) {
      printFailure(known);
      return exitCodeFor(known);
    }
    const err = e as Error;
    const f = failure('UNEXPECTED', err.message);
    printFailure(f);
    if (!json && io.env.FINEKIOSK_DEBUG) io.stderr(`${err.stack}\n`);
    return EXIT.unexpected;
  }
}

/** A string option's value, or undefined. */
export function optString(ctx: CommandContext, name: string): string | undefined {
  const v = ctx.values[name];
  return typeof v === 'string' ? v : undefined;
}

/** A JSON file's contents; an unreadable or malformed file is BAD_FILE. */
export function readJsonFile(file: string): Result<unknown> {
  try {
    return ok(JSON.parse(readFileSync(file, 'utf8')) as unknown);
  } catch (e) {
    return fail('BAD_FILE', (e as Error).message);
  }
}
