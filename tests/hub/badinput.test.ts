// Hostile and broken pushes: each is refused with its reason and nothing is stored.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../protocol/signing.ts';
import { eventHash } from '../../protocol/events.ts';
import { enrollDevice, STORAGES, startTestHub, TestDevice, type TestHub } from './helpers.ts';

describe.each(STORAGES)('bad pushes on %s', (storage) => {
  let t: TestHub;
  let n = 0;
  beforeAll(async () => {
    t = await startTestHub(storage);
  });
  afterAll(async () => {
    await t.close();
  });

  async function fresh(): Promise<TestDevice> {
    const d = new TestDevice(`kioskbad${++n}`);
    await enrollDevice(t, d);
    d.append('print.job', { jobId: 'j1', kind: 'bill', ref: 'R', state: 'printed' });
    d.append('print.job', { jobId: 'j2', kind: 'bill', ref: 'R', state: 'printed' });
    return d;
  }
  async function stored(d: TestDevice): Promise<number> {
    return (await t.hub.eventsOf(d.id)).length;
  }

  it('refuses an unsigned push', async () => {
    const d = await fresh();
    const r = await fetch(`${t.url}/v1/sync/push`, {
      method: 'POST',
      body: JSON.stringify({ events: d.events }),
      headers: { 'content-type': 'application/json' },
    });
    expect(r.status).toBe(401);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
    expect(await stored(d)).toBe(0);
  });

  it('refuses a push signed with another key, and a body changed after signing', async () => {
    const d = await fresh();
    let r = await d.push(t.url, d.events, { key: generateKeyPair().privateKey });
    expect(r.status).toBe(401);
    expect(r.json.error.code).toBe('BAD_SIGNATURE');
    const body = JSON.stringify({ events: d.events });
    const headers = d.headers('POST', '/v1/sync/push', body);
    const res = await fetch(`${t.url}/v1/sync/push`, {
      method: 'POST',
      headers,
      body: body.replace('j1', 'j9'),
    });
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('BAD_SIGNATURE');
    r = await d.push(t.url, d.events, { time: Math.floor(Date.now() / 1000) - 301 });
    expect(r.json.error.code).toBe('CLOCK_SKEW');
    expect(typeof r.json.hubTime).toBe('number');
    expect(await stored(d)).toBe(0);
  });

  it('refuses a replayed request', async () => {
    const d = await fresh();
    const nonce = randomBytes(16).toString('base64url');
    const r1 = await d.push(t.url, d.events.slice(0, 1), { nonce });
    expect(r1.status).toBe(200);
    const r2 = await d.push(t.url, d.events.slice(0, 1), { nonce });
    expect(r2.status).toBe(401);
    expect(r2.json.error.code).toBe('REPLAYED');
    expect(await stored(d)).toBe(1);
  });

  it('refuses an oversized and a malformed push', async () => {
    const d = await fresh();
    const big = JSON.stringify({ events: d.events, pad: 'x'.repeat(9 * 1024 * 1024) });
    const r1 = await fetch(`${t.url}/v1/sync/push`, {
      method: 'POST',
      headers: d.headers('POST', '/v1/sync/push', big),
      body: big,
    });
    expect(r1.status).toBe(413);
    expect(((await r1.json()) as { error: { code: string } }).error.code).toBe('TOO_LARGE');
    const r2 = await d.request(t.url, 'POST', '/v1/sync/push', '{"events": [ {"seq": "one"} ]');
    expect(r2.json.error.code).toBe('MALFORMED');
    const r3 = await d.request(
      t.url,
      'POST',
      '/v1/sync/push',
      JSON.stringify({ events: [{ ...d.events[0], seq: -1 }] }),
    );
    expect(r3.json.error.code).toBe('MALFORMED');
    expect(await stored(d)).toBe(0);
  });

  it('refuses out-of-order events', async () => {
    const d = await fresh();
    const r = await d.push(t.url, [d.events[1]!, d.events[0]!]);
    expect(r.status).toBe(409);
    expect(r.json.error.code).toBe('SEQ_GAP');
    expect(await stored(d)).toBe(0);
  });

  it('refuses a device pushing as another device', async () => {
    const victim = await fresh();
    const thief = await fresh();
    // The thief signs with its own key but sends the victim's events...
    let r = await thief.push(t.url, victim.events);
    expect(r.json.error.code).toBe('UNAUTHORIZED');
    // ...or claims the victim's id in the headers.
    r = await thief.push(t.url, victim.events, { id: victim.id });
    expect(r.json.error.code).toBe('BAD_SIGNATURE');
    expect(await stored(victim)).toBe(0);
    expect(await stored(thief)).toBe(0);
  });

  it('refuses a broken chain, and a rewritten event the hub already holds', async () => {
    const d = await fresh();
    const tampered = {
      ...d.events[1]!,
      payload: JSON.stringify({ jobId: 'evil', kind: 'bill', ref: 'R', state: 'printed' }),
    };
    let r = await d.push(t.url, [d.events[0]!, tampered]);
    expect(r.json.error.code).toBe('CHAIN_BROKEN');
    // Rehashing alone does not help: the next event's prevHash no longer matches.
    const rehashed = { ...tampered, hash: eventHash(tampered) };
    d.append('print.job', { jobId: 'j3', kind: 'bill', ref: 'R', state: 'printed' });
    r = await d.push(t.url, [d.events[0]!, rehashed, d.events[2]!]);
    expect(r.json.error.code).toBe('CHAIN_BROKEN');
    expect(await stored(d)).toBe(0);
    expect((await d.push(t.url, d.events.slice(0, 2))).status).toBe(200);
    r = await d.push(t.url, [d.events[0]!, rehashed]);
    expect(r.json.error.code).toBe('CHAIN_BROKEN');
    expect(await stored(d)).toBe(2);
  });

  it('refuses a disabled device and an unknown one', async () => {
    const d = await fresh();
    await t.hub.devices.setEnabled(d.id, false);
    expect((await d.push(t.url, d.events)).json.error.code).toBe('DEVICE_DISABLED');
    const stranger = new TestDevice('stranger01');
    stranger.append('print.job', { jobId: 'j1', kind: 'bill', ref: 'R', state: 'printed' });
    expect((await stranger.push(t.url, stranger.events)).json.error.code).toBe('UNKNOWN_DEVICE');
    expect(await stored(d)).toBe(0);
  });
});
