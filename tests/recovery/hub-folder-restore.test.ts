// An embedded (PGlite) hub whose folder is copied back from a backup keeps its cluster identifier, so
// nothing in the database tells the restore. The hub's folder generation (a value in the database and in
// a file beside the folder, changed at every start and stop) does: it starts a new feed epoch by itself,
// and a kiosk whose cursor the restored feed has already passed again pulls from the start.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { feedIdentity } from '../../hub/feed/identity.ts';
import { pgliteDir, startHub, type RunningHub } from '../../hub/server.ts';
import { openKiosk } from '../../main/kiosk.ts';
import { enroll, readState, SyncEngine, syncStatus } from '../../main/sync/engine.ts';
import { sampleFine } from '../hub/helpers.ts';

const NOS = Array.from({ length: 8 }, (_, i) => `11000000000000020${i}`);
const root = mkdtempSync(path.join(os.tmpdir(), 'fk-folderrestore-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('an embedded hub folder copied back from a backup', () => {
  it('starts a new feed epoch by itself; a kiosk past the restored head pulls again and sees the void', async () => {
    const hubDir = path.join(root, 'hub');
    const backup = path.join(root, 'backup');
    let port = 0;
    const serve = async (): Promise<RunningHub> => {
      const h = await startHub({
        dataDir: hubDir,
        port,
        adminFile: false,
        logger: pino({ level: 'silent' }),
      });
      port = h.port;
      return h;
    };
    let h = await serve();
    const kiosk = openKiosk({ dataDir: path.join(root, 'kiosk') });
    try {
      const code = await h.hub.devices.add({ name: 'Hall', region: '110000' });
      if (!code.ok) throw new Error('code');
      expect((await enroll(kiosk, { hubUrl: h.url, code: code.value.code })).ok).toBe(true);
      await h.hub.fines.importRows(NOS.map((n) => sampleFine(n)));
      const engine = new SyncEngine(kiosk, { network: false });
      expect((await engine.pullAll()).ok).toBe(true);
      const bills = NOS.slice(0, 3).map((n) => kiosk.bills.issue(n));
      expect((await engine.pushAll()).ok).toBe(true);
      const first = bills[0]!;
      if (!first.ok) throw new Error('bill');

      // The operator's backup: hub stopped, its pglite/ folder copied.
      await h.close();
      cpSync(pgliteDir(hubDir), backup, { recursive: true });
      h = await serve();
      expect(h.db.folderRestored).toBe(false);
      const epoch = (await feedIdentity(h.db)).epoch;
      for (const n of NOS.slice(3, 6)) expect(kiosk.bills.issue(n).ok).toBe(true);
      expect((await engine.pushAll()).ok).toBe(true);
      await h.hub.fines.importRows(NOS.map((n) => sampleFine(n, '110000', { points: 6 })));
      expect((await engine.pullAll()).ok).toBe(true);
      const cursor = readState(kiosk.db).cursor;

      // The folder is lost and copied back from the backup.
      await h.close();
      rmSync(pgliteDir(hubDir), { recursive: true, force: true });
      cpSync(backup, pgliteDir(hubDir), { recursive: true });
      h = await serve();
      expect(h.db.folderRestored).toBe(true);
      expect((await feedIdentity(h.db)).epoch).not.toBe(epoch);
      // At the restored hub: a void, and enough other changes that its feed passes the kiosk's cursor,
      // so the head check alone would not tell.
      expect((await h.hub.bills.void(first.value.billNo, 'hub')).ok).toBe(true);
      for (let points = 7; (await feedIdentity(h.db)).head < cursor; points++)
        await h.hub.fines.importRows(NOS.map((n) => sampleFine(n, '110000', { points })));

      expect((await engine.pullAll()).ok).toBe(true);
      const voided = kiosk.bills.get(first.value.billNo);
      expect(voided.ok && voided.value.status).toBe('voided');
      // The events the restored hub lost go again, without a new one being needed.
      expect((await engine.pushAll()).ok).toBe(true);
      expect((await h.hub.devices.get(kiosk.identity.deviceId))?.lastSeq).toBe(syncStatus(kiosk).lastSeq);
      expect((await h.hub.verifyChains()).broken).toEqual([]);

      // A plain restart is no restore.
      await h.close();
      h = await serve();
      expect(h.db.folderRestored).toBe(false);
    } finally {
      kiosk.close();
      await h.close();
    }
  }, 300_000);
});
