// One migrated PGlite data folder image for every in-memory test hub. PGlite's initdb costs seconds of CPU
// (tens of seconds on a loaded machine); loading an image of a hub that already ran its migrations costs a
// fraction of that. The suite's global setup (tests/support/global-setup.ts) builds the image once into a
// file named in FINEKIOSK_TEST_PGLITE_IMAGE; a test file run on its own builds it in-process on first use.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dumpHubImage, openHubDb } from '../../hub/db.ts';
import { hubMigrations } from '../../hub/migrations/index.ts';

/** A digest of the hub's migrations, part of the image file's name: an image of other migrations is not used. */
export function migrationsDigest(): string {
  const h = createHash('sha256');
  for (const m of hubMigrations) h.update(`${m.id}\0${m.name}\0${m.sql}\0`);
  return h.digest('hex').slice(0, 16);
}

/** Builds the image: a fresh in-memory hub with every migration applied, dumped uncompressed. */
export async function buildHubImage(): Promise<Blob> {
  const db = await openHubDb({ listen: false });
  try {
    return await dumpHubImage(db);
  } finally {
    await db.close();
  }
}

let image: Promise<Blob> | undefined;

/** The image for this process: read from the global setup's file, or built here once. */
export function hubImage(): Promise<Blob> {
  image ??= (async () => {
    const file = process.env.FINEKIOSK_TEST_PGLITE_IMAGE;
    if (file?.endsWith(`-${migrationsDigest()}.tar`)) {
      try {
        return new Blob([readFileSync(file)]);
      } catch {
        // The file is gone (a cleaned temporary folder): build the image here.
      }
    }
    return buildHubImage();
  })();
  return image;
}
