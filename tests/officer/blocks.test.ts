import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allocateBlock, blockHolding, blocksOf, officerPrefix } from '../../hub/officer/blocks.ts';
import { openHubDb } from '../../hub/db.ts';
import { refillNumbers } from '../../main/officer/refill.ts';
import { ManualClock } from '../../protocol/time.ts';
import { openDevice, removeDir, T0, type Device } from './helpers.ts';
import { SyncEngine } from '../../main/sync/engine.ts';
import { openOfficerMode } from '../../main/officer/officer.ts';
import { enrollDevice, pointAtHub, startTestHub } from './hubfixture.ts';

const clock = new ManualClock(T0);
let hub: Awaited<ReturnType<typeof startTestHub>>;
const devices: Device[] = [];
const device = (): Device => {
  const d = openDevice(undefined, clock);
  devices.push(d);
  return d;
};

beforeAll(async () => {
  hub = await startTestHub(clock);
});
afterAll(async () => {
  for (const d of devices) {
    d.close();
    removeDir(d.dir);
  }
  await hub?.close();
  if (hub) removeDir(hub.dir);
});

const overlaps = (a: { first: number; last: number }, b: { first: number; last: number }): boolean =>
  a.first <= b.last && b.first <= a.last;

describe('hub decision-number blocks', () => {
  it('a device asks when low and gets a block of region-pattern numbers', async () => {
    const d = device();
    await enrollDevice(hub, d);
    const r = await refillNumbers(d.kiosk);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value).toMatchObject({ asked: true, added: 1, numbers: { remaining: 500, low: false } });
    const t = d.tickets.issue({ plate: '沪A12345', code: '1625', place: '外滩', officerId: '0312' });
    expect(t.ok).toBe(true);
    if (!t.ok) return;
    expect(t.value.decisionNo).toMatch(/^[0-9]{15,20}$/);
    expect(t.value.decisionNo.startsWith(officerPrefix('310100', T0 / 1000))).toBe(true);
    expect(await blockHolding(hub.db, t.value.decisionNo)).toBe(d.kiosk.identity.deviceId);
    // Not low any more: no request made.
    const again = await refillNumbers(d.kiosk);
    expect(again.ok && again.value.asked).toBe(false);
  });

  it('a lost answer costs nothing: the repeat gets the same block', async () => {
    const d = device();
    await enrollDevice(hub, d);
    const lost: typeof fetch = async (input, init) => {
      await fetch(input, init);
      throw new Error('connection reset');
    };
    const r1 = await refillNumbers(d.kiosk, { fetch: lost });
    expect(!r1.ok && r1.error.code).toBe('HUB_UNREACHABLE');
    const r2 = await refillNumbers(d.kiosk);
    expect(r2.ok && r2.value.added).toBe(1);
    expect(await blocksOf(hub.db, d.kiosk.identity.deviceId)).toHaveLength(1);
    // The next request is a new one.
    const r3 = await refillNumbers(d.kiosk, { force: true });
    expect(r3.ok && r3.value.numbers.remaining).toBe(1000);
  });

  it('an unknown device and a device with no region are refused with reasons', async () => {
    const stranger = device();
    pointAtHub(hub, stranger);
    const r = await refillNumbers(stranger.kiosk);
    // The hub refuses it (and says so in an answer it signs); a device that never enrolled trusts no hub key,
    // so it cannot tell that answer from a spoofed one and believes nothing of it (issue 10).
    expect(!r.ok && r.error.code).toBe('HUB_ANSWER_UNVERIFIED');
    expect(await blocksOf(hub.db, stranger.kiosk.identity.deviceId)).toHaveLength(0);
    // A device gets its region when it is added (given, or the hub's default region): with neither, the hub
    // refuses to add it, so no device can ask for numbers without a region.
    const code = await hub.hub.devices.add({ name: 'no region' });
    expect(code.ok).toBe(false);
    expect(!code.ok && code.error.message).toContain('region');
  });

  it("the code table and the block size come from the hub's config, through pull", async () => {
    const d = device();
    await enrollDevice(hub, d);
    const table = {
      sample: false,
      version: 'city-2026-06',
      codes: [
        {
          code: '1625',
          description: '闯红灯',
          descriptionEn: 'Red light',
          fine: { fixedFen: 30000 },
          points: 6,
        },
      ],
    };
    await hub.hub.config.set('violationCodes', table);
    await hub.hub.config.set('officerBlockSize', 50);
    const pulled = await new SyncEngine(d.kiosk).pullAll();
    expect(pulled.ok).toBe(true);
    const mode = openOfficerMode(d.kiosk);
    if (!mode.ok) throw new Error(mode.error.message);
    expect(mode.value.codes()).toMatchObject({
      source: 'hub',
      sample: false,
      data: { version: 'city-2026-06' },
    });
    const r = await mode.value.refill();
    expect(r.ok && r.value.numbers.remaining).toBe(50);
    const t = mode.value.tickets.issue({ plate: '沪A12345', code: '1625', place: '外滩', officerId: '0312' });
    expect(t.ok && t.value.fine.fineFen).toBe(30000);
    // Codes the hub's table does not hold are refused.
    const u = mode.value.tickets.issue({ plate: '沪A12345', code: '1039', place: '外滩', officerId: '0312' });
    expect(!u.ok && u.error.code).toBe('UNKNOWN_CODE');
    await hub.hub.config.set('officerBlockSize', 500);
  });

  it('concurrent allocations never overlap', async () => {
    const devs = Array.from({ length: 6 }, (_, i) => ({ id: `dev${i}aaaaa`, region: '320100' }));
    const got = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        allocateBlock(hub.db, devs[i % devs.length]!, crypto.randomUUID(), T0 / 1000, 100),
      ),
    );
    const blocks = got.map((g) => {
      if (!g.ok) throw new Error(g.error.message);
      return g.value;
    });
    for (let i = 0; i < blocks.length; i++)
      for (let j = i + 1; j < blocks.length; j++) expect(overlaps(blocks[i]!, blocks[j]!)).toBe(false);
    const all = blocks.map((b) => b.first).sort((a, b) => a - b);
    expect(all[0]).toBe(1);
    expect(all.at(-1)).toBe(2901);
  });

  it('refuses a block past the end of the year series, changing nothing', async () => {
    const dev = { id: 'bigdevice1', region: '330100' };
    const a = await allocateBlock(hub.db, dev, crypto.randomUUID(), T0 / 1000, 9_999_990);
    expect(a.ok).toBe(true);
    const b = await allocateBlock(hub.db, dev, crypto.randomUUID(), T0 / 1000, 100);
    expect(!b.ok && b.error.code).toBe('NUMBERS_EXHAUSTED');
    const c = await allocateBlock(hub.db, dev, crypto.randomUUID(), T0 / 1000, 9);
    expect(c.ok && c.value).toMatchObject({ first: 9_999_991, last: 9_999_999 });
  });

  // Two hub processes are two connection pools on one PostgreSQL; PGlite admits one process only,
  // so this case needs DATABASE_URL (CI sets it).
  it.skipIf(!process.env.DATABASE_URL)('two hub processes on one PostgreSQL never overlap', async () => {
    const schema = `officer_mp_${Date.now().toString(36)}`;
    // Opened one after the other: CREATE SCHEMA IF NOT EXISTS itself races on PostgreSQL.
    const a = await openHubDb({ databaseUrl: process.env.DATABASE_URL!, schema, listen: false, poolSize: 4 });
    const b = await openHubDb({ databaseUrl: process.env.DATABASE_URL!, schema, listen: false, poolSize: 4 });
    try {
      const dev = { id: 'mpdevice01', region: '440300' };
      const got = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          allocateBlock(i % 2 ? a : b, dev, crypto.randomUUID(), T0 / 1000, 50),
        ),
      );
      const ranges = got.map((g) => (g.ok ? g.value : { first: -1, last: -1 }));
      expect(ranges.every((r) => r.first > 0)).toBe(true);
      const firsts = new Set(ranges.map((r) => r.first));
      expect(firsts.size).toBe(40);
      for (let i = 0; i < ranges.length; i++)
        for (let j = i + 1; j < ranges.length; j++) expect(overlaps(ranges[i]!, ranges[j]!)).toBe(false);
    } finally {
      await a.query(`DROP SCHEMA ${schema} CASCADE`);
      await Promise.all([a.close(), b.close()]);
    }
  });
});
