// Storage faults as the operator should read them: a full disk, a damaged file, a database held too long
// by another process. SQLite reports a full disk as SQLITE_FULL, or as a plain I/O error when the space
// ran out while making its -wal or -shm file; the free space of the folder tells which.
import { statfsSync } from 'node:fs';
import { failure, type Failure } from '../protocol/result.ts';

/** Below this many free bytes an I/O error is taken for a full disk. */
const NEARLY_FULL_BYTES = 4 * 1024 * 1024;

function freeBytes(dir: string): number | undefined {
  try {
    const s = statfsSync(dir);
    return Number(s.bavail) * Number(s.bsize);
  } catch {
    return undefined;
  }
}

/**
 * The Failure for a storage error (better-sqlite3's SqliteError code, or a Node errno), or undefined
 * when `e` is not one. `dir` is the data folder, to tell a full disk from another I/O error.
 */
export function storageFailure(e: unknown, dir?: string): Failure | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return undefined;
  const detail = (e as Error).message;
  if (code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EDQUOT') return failure('DISK_FULL', detail);
  if (code === 'SQLITE_CORRUPT' || code.startsWith('SQLITE_CORRUPT_') || code === 'SQLITE_NOTADB')
    return failure('DB_CORRUPT', detail);
  if (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_') || code === 'SQLITE_LOCKED')
    return failure('DB_BUSY', detail);
  if (code === 'SQLITE_IOERR' || code.startsWith('SQLITE_IOERR_') || code === 'SQLITE_CANTOPEN') {
    const free = dir === undefined ? undefined : freeBytes(dir);
    if (free !== undefined && free < NEARLY_FULL_BYTES) return failure('DISK_FULL', detail);
    if (code === 'SQLITE_CANTOPEN') return undefined;
    return failure('DB_CORRUPT', detail);
  }
  return undefined;
}
