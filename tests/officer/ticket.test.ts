import { afterEach, describe, expect, it } from 'vitest';
import { addBlocks, enableStandalone, formatDecisionNo, numberStatus } from '../../main/officer/numbers.ts';
import { verifyChain } from '../../main/outbox/outbox.ts';
import { parseEventPayload } from '../../protocol/events.ts';
import { openDevice, removeDir, type Device } from './helpers.ts';

const block = (id: string, first: number, last: number) => ({
  blockId: id,
  region: '310100',
  prefix: '3101002026' + '9',
  width: 7,
  first,
  last,
});

let devices: Device[] = [];
afterEach(() => {
  for (const d of devices) {
    d.close();
    removeDir(d.dir);
  }
  devices = [];
});
const device = (): Device => {
  const d = openDevice();
  devices.push(d);
  return d;
};

const good = { plate: '沪A12345', code: '1625', place: '人民广场 西藏中路口', officerId: '031234' };

describe('ticket issue', () => {
  it('takes the next number, writes fine, bill and events in order', () => {
    const d = device();
    addBlocks(d.kiosk.db, [block('b1', 1, 10)], d.clock.now());
    const r = d.tickets.issue(good);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const t = r.value;
    expect(t.decisionNo).toBe(formatDecisionNo('31010020269', 7, 1));
    expect(t.decisionNo).toMatch(/^[0-9]{15,20}$/);
    expect(t.standalone).toBe(false);
    expect(t.fine).toMatchObject({
      region: '310100',
      plate: '沪A12345',
      violationCode: '1625',
      fineFen: 20000,
      points: 6,
      status: 'unpaid',
      decidedOn: '2026-05-01',
      occurredAt: '2026-05-01T10:00:00+08:00',
    });
    expect(t.bill.amountFen).toBe(20000);
    expect(t.bill.status).toBe('live');
    expect(t.bill.url).toContain('/p/b1.');
    // A kiosk finds it by its decision number.
    const found = d.kiosk.fines.findByDecisionNo(t.decisionNo);
    expect(found.ok && found.value.plate).toBe('沪A12345');
    const events = d.kiosk.outbox.list(0, 10);
    expect(events.map((e) => e.type)).toEqual(['ticket.issued', 'bill.issued']);
    const p = parseEventPayload('ticket.issued', events[0]!.payload);
    expect(p.success && (p.data as { billNo: string }).billNo).toBe(t.bill.billNo);
    expect(verifyChain(d.kiosk.db).ok).toBe(true);
    expect(d.tickets.recentPlaces()).toEqual(['人民广场 西藏中路口']);
  });

  it('numbers run through blocks in order and are never repeated', () => {
    const d = device();
    addBlocks(d.kiosk.db, [block('b1', 1, 3), block('b2', 101, 102)], d.clock.now());
    const nos: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = d.tickets.issue(good);
      expect(r.ok).toBe(true);
      if (r.ok) nos.push(r.value.decisionNo.slice(-3));
    }
    expect(nos).toEqual(['001', '002', '003', '101', '102']);
    const r = d.tickets.issue(good);
    expect(!r.ok && r.error.code).toBe('NUMBERS_EXHAUSTED');
    expect(numberStatus(d.kiosk.db)).toMatchObject({ remaining: 0, exhausted: true, low: true });
  });

  it('a refused ticket uses no number', () => {
    const d = device();
    addBlocks(d.kiosk.db, [block('b1', 1, 10)], d.clock.now());
    expect(d.tickets.issue({ ...good, plate: '沪I12345' }).ok).toBe(false);
    const r = d.tickets.issue(good);
    expect(r.ok && r.value.decisionNo.endsWith('0000001')).toBe(true);
  });

  it.each([
    [{ plate: '沪A1234' }, 'BAD_PLATE'],
    [{ plate: 'XA12345' }, 'BAD_PLATE'],
    [{ plate: undefined }, 'BAD_PLATE'],
    [{ code: '9999' }, 'UNKNOWN_CODE'],
    [{ code: '2001' }, 'UNKNOWN_CODE'], // a non-motor code for a car
    [{ fineFen: 10000 }, 'FINE_OUT_OF_RANGE'], // 1625 is fixed at 200
    [{ code: '1039', fineFen: 1000 }, 'FINE_OUT_OF_RANGE'],
    [{ code: '1039', fineFen: 20001 }, 'FINE_OUT_OF_RANGE'],
    [{ place: '  ' }, 'MALFORMED'],
    [{ officerId: 'a.b' }, 'MALFORMED'],
  ])('refuses %j with %s and writes nothing', (patch, code) => {
    const d = device();
    addBlocks(d.kiosk.db, [block('b1', 1, 10)], d.clock.now());
    const r = d.tickets.issue({ ...good, ...patch });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe(code);
      expect(r.error.messageZh.length).toBeGreaterThan(0);
    }
    expect(d.kiosk.outbox.list(0, 10)).toHaveLength(0);
    expect(d.kiosk.fines.count()).toBe(0);
  });

  it('refuses when no numbers were ever received (exhausted), with the reason', () => {
    const d = device();
    const r = d.tickets.issue(good);
    expect(!r.ok && r.error.code).toBe('NUMBERS_EXHAUSTED');
    expect(!r.ok && r.error.messageZh).toContain('决定书编号');
  });

  it('a range code takes the amount typed, or its default', () => {
    const d = device();
    addBlocks(d.kiosk.db, [block('b1', 1, 10)], d.clock.now());
    const a = d.tickets.issue({ ...good, code: '1039', fineFen: 5000 });
    const b = d.tickets.issue({ ...good, code: '1039' });
    expect(a.ok && a.value.fine.fineFen).toBe(5000);
    expect(b.ok && b.value.fine.fineFen).toBe(15000);
  });

  it('pedestrians and non-motor vehicles need no plate', () => {
    const d = device();
    addBlocks(d.kiosk.db, [block('b1', 1, 10)], d.clock.now());
    const r = d.tickets.issue({
      vehicleKind: 'pedestrian',
      code: '3001',
      place: '南京东路',
      officerId: '031234',
    });
    expect(r.ok && r.value.fine.plate).toBe('行人');
    expect(r.ok && r.value.fine.fineFen).toBe(1000);
  });

  it('warns when numbers run low', () => {
    const d = device();
    addBlocks(d.kiosk.db, [block('b1', 1, 101)], d.clock.now());
    const r = d.tickets.issue(good);
    expect(r.ok && r.value.numbers).toMatchObject({ remaining: 100, low: false });
    const r2 = d.tickets.issue(good);
    expect(r2.ok && r2.value.numbers).toMatchObject({ remaining: 99, low: true });
  });

  it('stand-alone: a device-prefixed local sequence, stated as such', () => {
    const d = device();
    enableStandalone(d.kiosk.db, d.kiosk.identity.deviceId, '310100', d.clock.now());
    const r = d.tickets.issue(good);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.standalone).toBe(true);
    expect(r.value.decisionNo).toBe(`${d.kiosk.identity.deviceId}S00000001`);
    expect(r.value.decisionNo).toMatch(/^[0-9A-Za-z]{1,32}$/);
    expect(r.value.bill.decisionNo).toBe(r.value.decisionNo);
    // Hub blocks, once they come, are used before the local sequence.
    addBlocks(d.kiosk.db, [block('b1', 1, 10)], d.clock.now());
    const h = d.tickets.issue(good);
    expect(h.ok && h.value.standalone).toBe(false);
  });
});
