// A hub restored from a pg_dump taken before kiosks pushed their latest events and moved their pull
// cursors: kiosks re-send what it lost as soon as it says so, and pull again from the start of the
// restored feed, so a void made at the hub after the restore still reaches them. Private cluster.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHubApp } from '../../hub/app.ts';
import { openHubDb, type HubDb } from '../../hub/db.ts';
import { createHubService, type HubService } from '../../hub/service/index.ts';
import { openKiosk, type Kiosk } from '../../main/kiosk.ts';
import { enroll, SyncEngine, syncStatus } from '../../main/sync/engine.ts';
import { sampleFine } from '../hub/helpers.ts';
import { privatePgUnavailable, startPrivatePg, type PrivatePg } from './private-pg.ts';

const unavailable = privatePgUnavailable();
const NOS = Array.from({ length: 8 }, (_, i) => `11000000000000010${i}`);

describe.skipIf(unavailable !== undefined)(
  `hub restored from pg_dump${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    let pg: PrivatePg;
    let dir: string;
    beforeAll(async () => {
      pg = await startPrivatePg();
      dir = mkdtempSync(path.join(os.tmpdir(), 'fk-hubrestore-'));
    }, 120_000);
    afterAll(() => {
      pg?.destroy();
      rmSync(dir, { recursive: true, force: true });
    });

    async function serve(
      url: string,
      port = 0,
    ): Promise<{ db: HubDb; hub: HubService; port: number; close(): Promise<void> }> {
      const db = await openHubDb({ databaseUrl: url, poolSize: 3 });
      const hub = createHubService({ db });
      await hub.keys.current();
      const app = await buildHubApp({ hub, logger: pino({ level: 'silent' }), closeGraceMs: 100 });
      await app.listen({ port, host: '127.0.0.1' });
      const a = app.server.address();
      return {
        db,
        hub,
        port: typeof a === 'object' && a ? a.port : 0,
        close: async () => {
          await app.close();
          await db.close();
        },
      };
    }

    it('re-sends lost events without a new one, and pulls the restored feed again from the start', async () => {
      const base = pg.url.replace(/\/postgres$/, '');
      execFileSync(pg.bin('createdb'), ['-h', '127.0.0.1', '-p', String(pg.port), '-U', 'postgres', 'hub']);
      let h = await serve(`${base}/hub`);
      const kiosk: Kiosk = openKiosk({ dataDir: dir });
      try {
        const code = await h.hub.devices.add({ name: 'Hall', region: '110000' });
        if (!code.ok) throw new Error('code');
        expect(
          (await enroll(kiosk, { hubUrl: `http://127.0.0.1:${h.port}`, code: code.value.code })).ok,
        ).toBe(true);
        await h.hub.fines.importRows(NOS.map((n) => sampleFine(n)));
        const engine = new SyncEngine(kiosk, { network: false });
        expect((await engine.pullAll()).ok).toBe(true);
        const bills = NOS.slice(0, 3).map((n) => kiosk.bills.issue(n));
        expect((await engine.pushAll()).ok).toBe(true);
        const dump = path.join(pg.dir, 'hub.dump');
        execFileSync(pg.bin('pg_dump'), [
          '-h',
          '127.0.0.1',
          '-p',
          String(pg.port),
          '-U',
          'postgres',
          '-Fc',
          '-f',
          dump,
          'hub',
        ]);

        // After the backup: more events, and more feed positions the kiosk has pulled.
        for (const n of NOS.slice(3, 7)) expect(kiosk.bills.issue(n).ok).toBe(true);
        expect((await engine.pushAll()).ok).toBe(true);
        await h.hub.fines.importRows(NOS.map((n) => sampleFine(n, '110000', { points: 6 })));
        expect((await engine.pullAll()).ok).toBe(true);
        const before = syncStatus(kiosk);
        expect(before.queued).toBe(0);

        // The hub's database is lost and restored from the dump into a new database, same address.
        const port = h.port;
        await h.close();
        execFileSync(pg.bin('createdb'), [
          '-h',
          '127.0.0.1',
          '-p',
          String(pg.port),
          '-U',
          'postgres',
          'hub2',
        ]);
        execFileSync(pg.bin('pg_restore'), [
          '-h',
          '127.0.0.1',
          '-p',
          String(pg.port),
          '-U',
          'postgres',
          '-d',
          'hub2',
          dump,
        ]);
        h = await serve(`${base}/hub2`, port);
        const first = bills[0]!;
        if (!first.ok) throw new Error('bill');
        expect((await h.hub.bills.void(first.value.billNo, 'hub')).ok).toBe(true);
        expect((await h.hub.devices.get(kiosk.identity.deviceId))?.lastSeq).toBe(3);

        // No new event on the kiosk: the pull alone tells it what the hub lost.
        const pulled = await engine.pullAll();
        expect(pulled.ok).toBe(true);
        // Queued again: what the hub lost, and the kiosk's own record of the void it just pulled.
        const after = syncStatus(kiosk);
        expect(after.lastSeq).toBe(before.lastSeq + 1);
        expect(after.queued).toBe(after.lastSeq - 3);
        expect((await engine.pushAll()).ok).toBe(true);
        expect((await h.hub.devices.get(kiosk.identity.deviceId))?.lastSeq).toBe(after.lastSeq);
        expect((await engine.pullAll()).ok).toBe(true);
        const voided = kiosk.bills.get(first.value.billNo);
        expect(voided.ok && voided.value.status).toBe('voided');
        expect(syncStatus(kiosk).queued).toBe(0);
        expect(syncStatus(kiosk).rolledBack).toBe(false);
        expect((await h.hub.verifyChains()).broken).toEqual([]);
        // The restored feed was pulled from its start: the fines are as the restored hub holds them.
        expect(kiosk.fines.get(NOS[0]!)?.points).toBe(3);
      } finally {
        kiosk.close();
        await h.close();
      }
    }, 180_000);
  },
);
