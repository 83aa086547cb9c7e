// One process per embedded database folder. PGlite is PostgreSQL compiled to WebAssembly, in-process: a
// second process opening the same folder (an operator command while `hub serve` is still starting)
// corrupts it. The lock is a file made with O_EXCL naming its owner: pid, kind, the machine's boot id
// and the process's start time (Linux /proc). A pid alone is not enough: after a crash the pid is
// often taken by another process (PID 1 of a restarted container is the new hub itself), and the lock
// would be held forever. A lock is live only while the process that wrote it runs: same boot, same pid,
// same start time, and not this very process unless it holds the lock now. Anything else is taken over.
// `finekiosk hub unlock` removes a lock by hand (docs/operations.md). PostgreSQL needs no lock.
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { fail, ok, type Result } from '../protocol/result.ts';

export const LOCK_FILE = 'hub.lock';

export interface DirLock {
  release(): void;
}

/** Who holds a lock: a running hub, or an operator command that opened the folder for a moment. */
export type LockKind = 'serve' | 'command';

/** What a lock file says of its owner; bootId and start are absent where /proc is not (or in old files). */
export interface LockOwner {
  pid: number;
  kind: LockKind;
  bootId?: string;
  /** The process's start time, clock ticks after boot (/proc/PID/stat, field 22). */
  start?: string;
}

/** Lock files this process holds now (a lock naming our own pid is live only if listed here). */
const heldHere = new Set<string>();

function readTrim(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** This machine's boot id (changes at every boot), where Linux tells it. */
export function bootId(): string | undefined {
  return readTrim('/proc/sys/kernel/random/boot_id');
}

/** When a process started (clock ticks after boot), where Linux tells it; undefined if unknown or gone. */
export function processStart(pid: number): string | undefined {
  const stat = readTrim(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  // Fields after the command name (which may hold spaces and parentheses): state is field 3.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const start = rest[22 - 3];
  return start && /^[0-9]+$/.test(start) ? start : undefined;
}

function pidRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function ownerLine(kind: LockKind): string {
  return [process.pid, kind, bootId() ?? '-', processStart(process.pid) ?? '-'].join(' ');
}

/** Parses a lock file's line: "PID KIND [BOOT_ID START]" ("-" for a field not known). */
export function parseOwner(line: string): LockOwner | undefined {
  const [p, k, b, s] = line.trim().split(/\s+/);
  const pid = Number(p);
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  const owner: LockOwner = { pid, kind: k === 'command' ? 'command' : 'serve' };
  if (b && b !== '-') owner.bootId = b;
  if (s && s !== '-') owner.start = s;
  return owner;
}

/**
 * Whether the process that wrote a lock still runs: its pid runs on this boot with the same start
 * time, and our own pid counts only for a lock this process holds (`file`). Without /proc (not Linux)
 * a running pid is taken as the owner; `hub unlock --force` is then the way out.
 */
export function ownerIsLive(owner: LockOwner, file: string): boolean {
  if (owner.pid === process.pid) return heldHere.has(path.resolve(file));
  if (!pidRuns(owner.pid)) return false;
  const boot = bootId();
  if (owner.bootId && boot && owner.bootId !== boot) return false;
  const start = processStart(owner.pid);
  if (owner.start && start && owner.start !== start) return false;
  return true;
}

/** The live process holding the folder's lock, else undefined. */
export function lockHolder(dataDir: string): LockOwner | undefined {
  const file = path.join(dataDir, LOCK_FILE);
  const line = readTrim(file);
  const owner = line === undefined ? undefined : parseOwner(line);
  return owner && ownerIsLive(owner, file) ? owner : undefined;
}

function lockedBy(dataDir: string, holder: LockOwner): Result<never> {
  return fail(
    'HUB_DATA_LOCKED',
    `process ${holder.pid} (${holder.kind === 'serve' ? 'hub serve' : 'an operator command'}) holds ${dataDir}`,
    { pid: holder.pid, kind: holder.kind, lockFile: path.join(dataDir, LOCK_FILE) },
  );
}

/**
 * Takes the folder's lock for this process, or HUB_DATA_LOCKED naming the live process holding it
 * (details: pid, kind, lockFile). A lock left by a process that no longer runs is taken over.
 */
export function acquireDirLock(dataDir: string, kind: LockKind): Result<DirLock> {
  mkdirSync(dataDir, { recursive: true });
  const file = path.resolve(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      const line = ownerLine(kind);
      try {
        writeSync(fd, line);
      } finally {
        closeSync(fd);
      }
      heldHere.add(file);
      let released = false;
      return ok({
        release() {
          if (released) return;
          released = true;
          heldHere.delete(file);
          try {
            if (readFileSync(file, 'utf8').trim() === line) unlinkSync(file);
          } catch {
            // already gone
          }
        },
      });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = lockHolder(dataDir);
      if (holder !== undefined) return lockedBy(dataDir, holder);
      // Left by a process that is gone: take it over.
      try {
        unlinkSync(file);
      } catch {
        // another process took it over first; try again
      }
    }
  }
  return fail('HUB_DATA_LOCKED', `could not take the lock of ${dataDir}`, {
    lockFile: file,
  });
}

/**
 * Removes the folder's lock by hand (`finekiosk hub unlock`): a lock whose owner no longer runs is
 * removed; a live owner's lock only with `force` (a machine without /proc, where a reused pid cannot
 * be told from the owner). Answers what was removed; HUB_DATA_LOCKED when a live process holds it.
 */
export function unlockDir(
  dataDir: string,
  force: boolean,
): Result<{ removed: boolean; owner?: LockOwner; wasLive: boolean }> {
  const file = path.join(dataDir, LOCK_FILE);
  const line = readTrim(file);
  if (line === undefined) return ok({ removed: false, wasLive: false });
  const owner = parseOwner(line);
  const live = owner !== undefined && ownerIsLive(owner, file);
  if (live && !force) return lockedBy(dataDir, owner);
  try {
    unlinkSync(file);
  } catch {
    // gone meanwhile
  }
  return ok({ removed: true, wasLive: live, ...(owner ? { owner } : {}) });
}
