// The hub's sync API on PGlite and, when DATABASE_URL is set, on PostgreSQL: the same suite on both.
import { allocateBlock } from '../../hub/officer/blocks.ts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyConfirmationToken } from '../../protocol/tokens.ts';
import { publicKeyFromRaw } from '../../protocol/signing.ts';
import { enrollDevice, sampleFine, STORAGES, startTestHub, TestDevice, type TestHub } from './helpers.ts';

describe.each(STORAGES)('hub on %s', (storage) => {
  let t: TestHub;
  beforeEach(async () => {
    t = await startTestHub(storage);
  });
  afterEach(async () => {
    await t.close();
  });

  it('answers /healthz', async () => {
    const r = await fetch(`${t.url}/healthz`);
    expect(r.status).toBe(200);
    expect(((await r.json()) as { storage: string }).storage).toBe(storage);
  });

  it('enrolls with a one-time code that works once and expires', async () => {
    const dev = new TestDevice('kiosk0001');
    const code = await t.hub.devices.add({ name: 'Hall 1', region: '110000' });
    expect(code.ok).toBe(true);
    if (!code.ok) return;
    const body = JSON.stringify({ code: code.value.code, publicKey: dev.publicKeyRaw, deviceId: dev.id });
    const post = (b: string) =>
      fetch(`${t.url}/v1/enroll`, {
        method: 'POST',
        body: b,
        headers: { 'content-type': 'application/json' },
      });
    const r1 = await post(body);
    expect(r1.status).toBe(200);
    const j = (await r1.json()) as { deviceId: string; hubKeys: { keyId: string }[]; region: string };
    expect(j.deviceId).toBe(dev.id);
    expect(j.region).toBe('110000');
    expect(j.hubKeys.length).toBe(1);
    const r2 = await post(
      JSON.stringify({ code: code.value.code, publicKey: new TestDevice('kiosk0002').publicKeyRaw }),
    );
    expect(r2.status).toBe(422);
    expect(((await r2.json()) as { error: { code: string } }).error.code).toBe('CODE_INVALID');
    const expired = await t.hub.devices.add({ name: 'Hall 2', region: '110000', ttlSeconds: 1 });
    if (!expired.ok) throw new Error();
    await t.db.query('UPDATE enroll_codes SET expires_at = 0 WHERE code = $1', [expired.value.code]);
    const r3 = await post(
      JSON.stringify({ code: expired.value.code, publicKey: new TestDevice('kiosk0003').publicKeyRaw }),
    );
    expect(((await r3.json()) as { error: { code: string } }).error.code).toBe('CODE_INVALID');
  });

  it('applies pushed events once, answers the highest seq, refuses a gap with the expected seq', async () => {
    const dev = new TestDevice('kiosk0001');
    await enrollDevice(t, dev);
    await t.hub.fines.importRows([sampleFine('100000000000000001')]);
    const b1 = dev.issueBill('100000000000000001', 20000);
    dev.append('print.job', { jobId: 'j1', kind: 'bill', ref: b1.billNo, state: 'printed' });
    let r = await dev.push(t.url, dev.events.slice(0, 2));
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ highestSeq: 2, applied: 2, duplicates: 0, rejected: [] });
    // The same batch again (a lost response) changes nothing.
    r = await dev.push(t.url, dev.events.slice(0, 2));
    expect(r.json).toMatchObject({ highestSeq: 2, applied: 0, duplicates: 2 });
    // A gap: seq 4 without 3.
    dev.append('print.job', { jobId: 'j2', kind: 'bill', ref: b1.billNo, state: 'printed' });
    dev.append('print.job', { jobId: 'j3', kind: 'bill', ref: b1.billNo, state: 'printed' });
    r = await dev.push(t.url, [dev.events[3]!]);
    expect(r.status).toBe(409);
    expect(r.json.error.code).toBe('SEQ_GAP');
    expect(r.json.error.details.expectedSeq).toBe(3);
    r = await dev.push(t.url, dev.events.slice(1, 4));
    expect(r.json).toMatchObject({ highestSeq: 4, applied: 2, duplicates: 1 });
    expect((await t.hub.bills.get(b1.billNo))?.status).toBe('live');
    const chains = await t.hub.verifyChains();
    expect(chains).toEqual({ devices: 1, events: 4, broken: [] });
  });

  it('keeps a bad event with its reason without blocking the queue', async () => {
    const dev = new TestDevice('kiosk0001');
    await enrollDevice(t, dev);
    dev.append('bill.issued', { billNo: 'X-1', nonsense: true });
    dev.append('print.job', { jobId: 'j1', kind: 'bill', ref: 'X-1', state: 'printed' });
    const r = await dev.push(t.url, dev.events);
    expect(r.status).toBe(200);
    expect(r.json.highestSeq).toBe(2);
    expect(r.json.rejected).toHaveLength(1);
    expect(r.json.rejected[0]).toMatchObject({ seq: 1, code: 'MALFORMED' });
    const evs = await t.hub.eventsOf(dev.id);
    expect(evs.map((e) => e.status)).toEqual(['rejected', 'applied']);
  });

  it('settles a payment once, publishes it to the issuing kiosk, and marks the fine paid for the region', async () => {
    const a = new TestDevice('kiosk000a');
    const b = new TestDevice('kiosk000b');
    await enrollDevice(t, a);
    await enrollDevice(t, b);
    await t.hub.fines.importRows([sampleFine('100000000000000001'), sampleFine('100000000000000002')]);
    const bill = a.issueBill('100000000000000001', 20000);
    expect((await a.push(t.url, a.events)).status).toBe(200);
    // b catches up with the fines first.
    let pb = await b.request(t.url, 'GET', '/v1/sync/pull?cursor=0');
    expect(pb.json.changes.filter((c: { kind: string }) => c.kind === 'fine')).toHaveLength(2);
    const cursorB = pb.json.cursor;
    const s = await t.hub.payments.settle({
      billNo: bill.billNo,
      amountFen: 20000,
      channel: 'alipay',
      txnId: 'T1',
      paidAt: Math.floor(Date.now() / 1000),
    });
    expect(s.ok && s.value.status).toBe('settled');
    const again = await t.hub.payments.settle({
      billNo: bill.billNo,
      amountFen: 20000,
      channel: 'alipay',
      txnId: 'T1',
      paidAt: Math.floor(Date.now() / 1000),
    });
    expect(again.ok && again.value.status).toBe('duplicate');
    const second = await t.hub.payments.settle({
      billNo: bill.billNo,
      amountFen: 20000,
      channel: 'wechat',
      txnId: 'T2',
      paidAt: Math.floor(Date.now() / 1000),
    });
    expect(second.ok && second.value.status).toBe('refund');
    const pa = await a.request(t.url, 'GET', '/v1/sync/pull?cursor=0');
    const pay = pa.json.changes.find((c: { kind: string }) => c.kind === 'payment');
    expect(pay.billNo).toBe(bill.billNo);
    const keys = await t.hub.keys.list();
    const v = verifyConfirmationToken(pay.token, (id) => {
      const k = keys.find((x) => x.keyId === id);
      return k ? publicKeyFromRaw(k.publicKey) : undefined;
    });
    expect(v.ok && v.value.txnId).toBe('T1');
    // b learns the fine is paid (paid elsewhere), but not a's payment.
    pb = await b.request(t.url, 'GET', `/v1/sync/pull?cursor=${cursorB}`);
    expect(pb.json.changes).toHaveLength(1);
    expect(pb.json.changes[0]).toMatchObject({
      kind: 'fine',
      fine: { decisionNo: '100000000000000001', status: 'paid' },
    });
    // A re-import saying unpaid does not undo a payment.
    await t.hub.fines.importRows([sampleFine('100000000000000001')]);
    expect((await t.hub.fines.byDecisionNo('100000000000000001'))?.status).toBe('paid');
  });

  it('long-polls: a waiting pull answers when a change lands', async () => {
    const a = new TestDevice('kiosk000a');
    await enrollDevice(t, a);
    const first = await a.request(t.url, 'GET', '/v1/sync/pull?cursor=0');
    // The answer carries the change only if the write woke the poll (an expired poll answers empty).
    const waiting = a.request(t.url, 'GET', `/v1/sync/pull?cursor=${first.json.cursor}&wait=60`);
    await new Promise((r) => setTimeout(r, 200));
    await t.hub.fines.importRows([sampleFine('100000000000000009')]);
    const r = await waiting;
    expect(r.json.changes[0].fine.decisionNo).toBe('100000000000000009');
  });

  it('adds a ticket’s fine to the region and serves online lookup', async () => {
    const a = new TestDevice('kiosk000a');
    await enrollDevice(t, a);
    const block = await allocateBlock(t.hub.db, { id: a.id, region: '110000' }, 'req-1', t.hub.nowS(), 10);
    if (!block.ok) throw new Error(block.error.message);
    const no = `${block.value.prefix}${String(block.value.first).padStart(block.value.width, '0')}`;
    a.append('ticket.issued', { fine: sampleFine(no), vehicleKind: 'car', officerId: 'o1' });
    expect((await a.push(t.url, a.events)).json.applied).toBe(1);
    const r = await a.request(t.url, 'GET', `/v1/fines/lookup?decisionNo=${no}`);
    expect(r.json.fines[0].decisionNo).toBe(no);
    const r2 = await a.request(
      t.url,
      'GET',
      `/v1/fines/lookup?plate=${encodeURIComponent('京A12345')}&vin6=123456`,
    );
    expect(r2.status).toBe(200);
  });

  it('refuses a ticket whose decision number was not issued to the pushing device', async () => {
    const a = new TestDevice('kiosk000n');
    const b = new TestDevice('kiosk000m');
    await enrollDevice(t, a);
    await enrollDevice(t, b);
    const block = await allocateBlock(t.hub.db, { id: b.id, region: '110000' }, 'req-b', t.hub.nowS(), 10);
    if (!block.ok) throw new Error(block.error.message);
    const bs = `${block.value.prefix}${String(block.value.first).padStart(block.value.width, '0')}`;
    // b's number, and a number from no block at all, pushed by a; then a's own stand-alone number.
    a.append('ticket.issued', { fine: sampleFine(bs), vehicleKind: 'car', officerId: 'o1' });
    a.append('ticket.issued', {
      fine: sampleFine('110000202699999999'),
      vehicleKind: 'car',
      officerId: 'o1',
    });
    a.append('ticket.issued', { fine: sampleFine(`${a.id}S00000001`), vehicleKind: 'car', officerId: 'o1' });
    const r = await a.push(t.url, a.events);
    expect(r.json.highestSeq).toBe(3);
    expect(r.json.rejected).toEqual([
      expect.objectContaining({ seq: 1, code: 'NUMBER_NOT_ISSUED' }),
      expect.objectContaining({ seq: 2, code: 'NUMBER_NOT_ISSUED' }),
    ]);
    expect(await t.hub.fines.count()).toBe(1);
  });

  it('voids a reissued bill, refuses a staff void of a bill paid at the hub, and keeps both events', async () => {
    const a = new TestDevice('kiosk000v');
    await enrollDevice(t, a);
    await t.hub.fines.importRows([sampleFine('100000000000000007'), sampleFine('100000000000000008')]);
    const first = a.issueBill('100000000000000007', 20000);
    const second = a.issueBill('100000000000000007', 20000, first.billNo);
    const paid = a.issueBill('100000000000000008', 20000);
    expect((await a.push(t.url, a.events)).json.applied).toBe(3);
    expect((await t.hub.bills.get(first.billNo))?.status).toBe('voided');
    expect((await t.hub.bills.get(second.billNo))?.status).toBe('live');
    const s = await t.hub.payments.settle({
      billNo: paid.billNo,
      amountFen: 20000,
      channel: 'alipay',
      txnId: 'TV1',
      paidAt: Math.floor(Date.now() / 1000),
    });
    expect(s.ok).toBe(true);
    a.append('bill.voided', { billNo: paid.billNo, reason: 'staff', at: Math.floor(Date.now() / 1000) });
    a.append('bill.voided', { billNo: second.billNo, reason: 'staff', at: Math.floor(Date.now() / 1000) });
    const r = await a.push(t.url, a.events.slice(3));
    expect(r.json.highestSeq).toBe(5);
    expect(r.json.rejected).toEqual([expect.objectContaining({ seq: 4, code: 'BILL_PAID' })]);
    expect((await t.hub.bills.get(paid.billNo))?.status).toBe('paid');
    expect((await t.hub.bills.get(second.billNo))?.status).toBe('voided');
    // A hub-side void reaches the issuing kiosk through its pull.
    const third = a.issueBill('100000000000000007', 20000, second.billNo);
    await a.push(t.url, [third.event]);
    expect((await t.hub.bills.void(third.billNo, 'hub')).ok).toBe(true);
    const pull = await a.request(t.url, 'GET', '/v1/sync/pull?cursor=0');
    expect(pull.json.changes.filter((c: { kind: string }) => c.kind === 'void')).toEqual([
      expect.objectContaining({ billNo: third.billNo, reason: 'hub' }),
    ]);
  });
});
