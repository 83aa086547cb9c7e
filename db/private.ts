// Stored data is for this service's user only: folders 0700, files 0600. The process umask is set to 077
// before any database engine creates its files (SQLite's WAL and shared memory, PGlite's whole cluster,
// whose WAL holds the hub's signing key), and folders and files made before (an older version, another
// umask) are brought to the same modes when opened.
import {
  chmodSync,
  closeSync,
  fchmodSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/**
 * Sets the process umask to 077 so every file and folder this process creates is private. A worker
 * thread cannot change the umask (node refuses); there the modes are set after creation instead.
 */
export function usePrivateUmask(): void {
  try {
    process.umask(0o077);
  } catch {
    // worker thread: privateTree() after creation covers it
  }
}

/** Creates the folder (and parents) as 0700 and makes an existing one 0700. */
export function privateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  chmodSync(dir, PRIVATE_DIR_MODE);
}

/**
 * Brings a folder tree to 0700 folders and 0600 files (symbolic links are left alone, never followed).
 * Files another user owns (a root-owned leftover) are skipped rather than failing the start.
 */
export function privateTree(dir: string): void {
  const walk = (p: string): void => {
    let st;
    try {
      st = lstatSync(p);
    } catch {
      return; // removed meanwhile
    }
    if (st.isSymbolicLink()) return;
    const mode = st.isDirectory() ? PRIVATE_DIR_MODE : PRIVATE_FILE_MODE;
    if ((st.mode & 0o777) !== mode) {
      try {
        chmodSync(p, mode);
      } catch {
        // not ours to change
      }
    }
    if (st.isDirectory()) for (const name of readdirSync(p)) walk(path.join(p, name));
  };
  walk(dir);
}

/** Makes the files directly in a folder 0600 (not its subfolders, which have their own owners' rules). */
export function privateFilesIn(dir: string): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (!e.isFile()) continue;
    try {
      chmodSync(path.join(dir, e.name), PRIVATE_FILE_MODE);
    } catch {
      // not ours to change
    }
  }
}

/** Writes a secret (a first-run PIN, a launch URL with its token) to a file only this user can read. */
export function writePrivateFile(file: string, text: string): void {
  privateDir(path.dirname(file));
  const fd = openSync(file, 'w', PRIVATE_FILE_MODE);
  try {
    // An existing file keeps its old mode on open: set it before writing the secret.
    fchmodSync(fd, PRIVATE_FILE_MODE);
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}
