// A fine the kiosk has not cached is looked up on the hub when online, by number, by scan and by plate.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openKiosk, type Kiosk } from '../../main/kiosk.ts';
import { enroll, SyncEngine } from '../../main/sync/engine.ts';
import { MemoryPrinter, startUi, type Ui } from '../../main/ui/backend.ts';
import { engineSync } from '../../main/ui/sync-status.ts';
import { sampleFine, startTestHub, type TestHub } from '../hub/helpers.ts';

describe('online lookup through the API', () => {
  let t: TestHub;
  let dir: string;
  let kiosk: Kiosk;
  let ui: Ui;
  beforeEach(async () => {
    t = await startTestHub('pglite');
    dir = mkdtempSync(path.join(os.tmpdir(), 'fk-lookup-'));
    mkdirSync(path.join(dir, 'dist'));
    writeFileSync(path.join(dir, 'dist', 'index.html'), '<!doctype html><title>t</title>');
    kiosk = openKiosk({ dataDir: path.join(dir, 'data') });
    const code = await t.hub.devices.add({ name: 'Hall', region: '110000' });
    if (!code.ok) throw new Error(code.error.message);
    expect((await enroll(kiosk, { hubUrl: t.url, code: code.value.code })).ok).toBe(true);
    // The hub knows fines of another region, which this kiosk's pull never brings.
    await t.hub.fines.importRows([
      sampleFine('320000000000000001', '320000'),
      sampleFine('320000000000000002', '320000'),
    ]);
    const engine = new SyncEngine(kiosk, { network: false });
    ui = await startUi({
      kiosk,
      printer: new MemoryPrinter(),
      sync: engineSync(kiosk, engine),
      staticDir: path.join(dir, 'dist'),
    });
  });
  afterEach(async () => {
    await ui.close();
    kiosk.close();
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds an uncached fine on the hub, caches it, and can bill it', async () => {
    expect(kiosk.fines.findByDecisionNo('320000000000000001').ok).toBe(false);
    const r = (await ui.call('findByDecisionNo', { decisionNo: '320000000000000001' })) as {
      ok: boolean;
      value?: { decisionNo: string };
    };
    expect(r.ok).toBe(true);
    expect(r.value?.decisionNo).toBe('320000000000000001');
    expect(kiosk.fines.findByDecisionNo('320000000000000001').ok).toBe(true);
    expect(kiosk.bills.issue('320000000000000001').ok).toBe(true);
  });

  it('answers FINE_NOT_FOUND when the hub does not know it either', async () => {
    const r = (await ui.call('findByDecisionNo', { decisionNo: '320000000000000099' })) as {
      ok: boolean;
      error?: { code: string };
    };
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe('FINE_NOT_FOUND');
  });

  it('looks up by plate and the last 6 of the vehicle id too', async () => {
    const f = sampleFine('320000000000000002', '320000') as { plate: string; vehicleIdLast6: string };
    const r = (await ui.call('findByPlate', { plate: f.plate, vin6: f.vehicleIdLast6 })) as {
      ok: boolean;
      value?: unknown[];
    };
    expect(r.ok).toBe(true);
    expect(r.value?.length).toBeGreaterThanOrEqual(1);
  });
});
