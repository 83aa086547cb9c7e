// Runs once before the test files: builds the migrated PGlite image every in-memory test hub starts from
// (see pglite-template.ts) and hands its file to the test processes through the environment.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildHubImage, migrationsDigest } from './pglite-template.ts';

export default async function setup(): Promise<() => void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fk-pglite-image-'));
  const file = path.join(dir, `hub-${migrationsDigest()}.tar`);
  writeFileSync(file, Buffer.from(await (await buildHubImage()).arrayBuffer()));
  process.env.FINEKIOSK_TEST_PGLITE_IMAGE = file;
  return () => rmSync(dir, { recursive: true, force: true });
}
