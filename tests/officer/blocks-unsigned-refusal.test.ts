// Issue 10, signed answers: the officer blocks client believes nothing the hub did not sign, failures included.
// An unsigned BLOCK_ALREADY_USED from anyone on the path would make the device drop its pending request id and
// ask again under a new one, so the hub would hand out a second block while the first (given to the genuine
// request, its answer swallowed) is held for the device and never used. It counts as the hub out of reach.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blocksOf } from '../../hub/officer/blocks.ts';
import { refillNumbers } from '../../main/officer/refill.ts';
import { ManualClock } from '../../protocol/time.ts';
import { openDevice, removeDir, T0, type Device } from './helpers.ts';
import { enrollDevice, startTestHub } from './hubfixture.ts';

const clock = new ManualClock(T0);
let hub: Awaited<ReturnType<typeof startTestHub>>;
const devices: Device[] = [];

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

describe('officer blocks: unsigned refusals', () => {
  it('an unsigned BLOCK_ALREADY_USED from the path is not believed (hub out of reach, request id kept)', async () => {
    const d = openDevice(undefined, clock);
    devices.push(d);
    await enrollDevice(hub, d);
    let calls = 0;
    // On the path: the first genuine request reaches the hub (a block is allocated), its answer is
    // swallowed and replaced by an unsigned refusal.
    const mitm: typeof fetch = async (input, init) => {
      calls++;
      const real = await fetch(input, init);
      if (calls > 1) return real;
      await real.text();
      return new Response(JSON.stringify({ error: { code: 'BLOCK_ALREADY_USED', message: 'x', messageZh: '错' }, hubTime: 0 }), {
        status: 409,
        headers: { 'content-type': 'application/json' },
      });
    };
    const r = await refillNumbers(d.kiosk, { fetch: mitm });
    // Expected: the unsigned failure counts as the hub out of reach, nothing changes.
    expect.soft(!r.ok && r.error.code).toBe('HUB_UNREACHABLE');
    // And the hub holds only the one block the device will get on its next (same-id) ask.
    expect(await blocksOf(hub.db, d.kiosk.identity.deviceId)).toHaveLength(1);
  });
});
