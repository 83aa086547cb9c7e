import { afterEach, describe, expect, it } from 'vitest';
import { appendEvent, verifyChain } from '../../main/outbox/outbox.ts';
import { firstBrokenEvent, GENESIS_HASH } from '../../protocol/events.ts';
import { fixture, type Fixture } from './helpers.ts';

let f: Fixture;
afterEach(() => f.cleanup());

const imported = { count: 1, sha256: 'a'.repeat(64), source: 'test' };

describe('outbox', () => {
  it('chains events from the genesis hash with consecutive seqs', () => {
    f = fixture({ sample: false });
    const db = f.kiosk.db;
    const a = db.transaction(() => appendEvent(db, 'fines.imported', imported, 1000))();
    const b = db.transaction(() => appendEvent(db, 'fines.imported', imported, 2000))();
    expect(a.seq).toBe(1);
    expect(a.prevHash).toBe(GENESIS_HASH);
    expect(a.deviceId).toBe(f.kiosk.identity.deviceId);
    expect(b.seq).toBe(2);
    expect(b.prevHash).toBe(a.hash);
    const list = f.kiosk.outbox.list(0, 10);
    expect(list).toEqual([a, b]);
    expect(firstBrokenEvent(list)).toBe(-1);
    expect(f.kiosk.outbox.list(1, 10)).toEqual([b]);
    expect(verifyChain(db)).toEqual({ events: 2, ok: true });
  });

  it('refuses to append outside a transaction or with a bad payload', () => {
    f = fixture({ sample: false });
    const db = f.kiosk.db;
    expect(() => appendEvent(db, 'fines.imported', imported, 1)).toThrow(/inside a transaction/);
    expect(() => db.transaction(() => appendEvent(db, 'fines.imported', { count: -1 }, 1))()).toThrow(
      /invalid/,
    );
    expect(f.kiosk.outbox.list(0, 10)).toEqual([]);
  });

  it('an event rolls back with the transaction that wrote it', () => {
    f = fixture({ sample: false });
    const db = f.kiosk.db;
    expect(() =>
      db.transaction(() => {
        appendEvent(db, 'fines.imported', imported, 1);
        throw new Error('boom');
      })(),
    ).toThrow('boom');
    expect(verifyChain(db)).toEqual({ events: 0, ok: true });
  });

  it('names the first broken event: edited payload, gap, wrong prevHash', () => {
    f = fixture({ sample: false });
    const db = f.kiosk.db;
    for (let i = 0; i < 5; i++) db.transaction(() => appendEvent(db, 'fines.imported', imported, i))();
    db.prepare(
      'UPDATE outbox SET payload = replace(payload, \'"count":1\', \'"count":2\') WHERE seq = 3',
    ).run();
    expect(verifyChain(db)).toMatchObject({ ok: false, events: 5, firstBroken: { seq: 3 } });
    expect(verifyChain(db).firstBroken!.reason).toMatch(/hash/);

    f.cleanup();
    f = fixture({ sample: false });
    const db2 = f.kiosk.db;
    for (let i = 0; i < 5; i++) db2.transaction(() => appendEvent(db2, 'fines.imported', imported, i))();
    db2.prepare('DELETE FROM outbox WHERE seq = 2').run();
    expect(verifyChain(db2)).toMatchObject({ ok: false, events: 4, firstBroken: { seq: 3 } });
    expect(verifyChain(db2).firstBroken!.reason).toMatch(/gap/);

    db2.prepare('UPDATE outbox SET prev_hash = ? WHERE seq = 1').run('f'.repeat(64));
    expect(verifyChain(db2).firstBroken).toMatchObject({ seq: 1, reason: expect.stringMatching(/prevHash/) });
  });
});
