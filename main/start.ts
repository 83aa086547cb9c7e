// `finekiosk start`: opens the kiosk in its data folder, loads the sample fines on first run, says what it
// serves and waits for the stop signal. The UI server is started from here too (kept in one function so
// it can be extended).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Io } from './cli/framework.ts';
import { openKiosk, type Kiosk, type KioskOptions } from './kiosk.ts';

export const SAMPLE_FINES = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  'samples',
  'fines.sample.json',
);

export interface StartOptions extends KioskOptions {
  io: Pick<Io, 'stdout' | 'stderr' | 'stopSignal'>;
  /** Sample fines to load when the fines table is empty (default samples/fines.sample.json). */
  sampleFines?: string | false;
}

/** Opens the kiosk and loads the sample fines into an empty database. The caller closes it. */
export function prepareKiosk(opts: StartOptions): { kiosk: Kiosk; loadedSample: number } {
  const kiosk = openKiosk(opts);
  let loadedSample = 0;
  const sample = opts.sampleFines === undefined ? SAMPLE_FINES : opts.sampleFines;
  if (sample && kiosk.fines.count() === 0 && existsSync(sample)) {
    const r = kiosk.fines.importFile(sample);
    if (!r.ok) {
      kiosk.close();
      throw new Error(`the sample fines file does not load: ${r.error.message}`);
    }
    loadedSample = r.value.imported;
  }
  return { kiosk, loadedSample };
}

export async function startKiosk(opts: StartOptions): Promise<{ deviceId: string; loadedSample: number }> {
  const { kiosk, loadedSample } = prepareKiosk(opts);
  try {
    const { io } = opts;
    io.stdout(`finekiosk device ${kiosk.identity.deviceId}, data in ${kiosk.dataDir}\n`);
    if (loadedSample > 0)
      io.stdout(`loaded ${loadedSample} SAMPLE fines (not real data) from ${SAMPLE_FINES}\n`);
    io.stdout(`${kiosk.fines.count()} fines on file; bills point at ${kiosk.settings.hubBase()}\n`);
    io.stdout('serving the kiosk backend (CLI: finekiosk bill issue|pay confirm ...); Ctrl-C stops\n');
    const expiry = setInterval(() => kiosk.bills.expireDue(), 60_000);
    try {
      await io.stopSignal;
    } finally {
      clearInterval(expiry);
    }
    io.stdout('stopped\n');
    return { deviceId: kiosk.identity.deviceId, loadedSample };
  } finally {
    kiosk.close();
  }
}
