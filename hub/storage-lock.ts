// One process per embedded database folder. PGlite is PostgreSQL compiled to WebAssembly, in-process: a
// second process opening the same folder (an operator command while `hub serve` is still starting)
// corrupts it. The lock is a file made with O_EXCL holding the owner's pid; a lock whose process is
// gone (killed, crashed) is taken over. PostgreSQL needs no lock: it admits many processes itself.
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { fail, ok, type Result } from '../protocol/result.ts';

export const LOCK_FILE = 'hub.lock';

export interface DirLock {
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Who holds a lock: a running hub, or an operator command that opened the folder for a moment. */
export type LockKind = 'serve' | 'command';

/** The live process holding the folder's lock, else undefined. */
export function lockHolder(dataDir: string): { pid: number; kind: LockKind } | undefined {
  try {
    const [p, k] = readFileSync(path.join(dataDir, LOCK_FILE), 'utf8').trim().split(' ');
    const pid = Number(p);
    if (!Number.isSafeInteger(pid) || pid <= 0 || !alive(pid)) return undefined;
    return { pid, kind: k === 'command' ? 'command' : 'serve' };
  } catch {
    return undefined;
  }
}

/**
 * Takes the folder's lock for this process, or HUB_DATA_LOCKED naming the live process holding it
 * (details: pid, kind).
 */
export function acquireDirLock(dataDir: string, kind: LockKind): Result<DirLock> {
  mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      try {
        writeSync(fd, `${process.pid} ${kind}`);
      } finally {
        closeSync(fd);
      }
      let released = false;
      return ok({
        release() {
          if (released) return;
          released = true;
          try {
            if (readFileSync(file, 'utf8').trim() === `${process.pid} ${kind}`) unlinkSync(file);
          } catch {
            // already gone
          }
        },
      });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = lockHolder(dataDir);
      if (holder !== undefined)
        return fail('HUB_DATA_LOCKED', `process ${holder.pid} (${holder.kind}) holds ${dataDir}`, {
          ...holder,
        });
      // Left by a process that is gone: take it over.
      try {
        unlinkSync(file);
      } catch {
        // another process took it over first; try again
      }
    }
  }
  return fail('HUB_DATA_LOCKED', `could not take the lock of ${dataDir}`);
}
