// Attacks on issue 14 (recovery). A kiosk database restored from a morning copy issues, before it
// next reaches the hub, bill numbers the hub already holds (by design: DB_ROLLED_BACK is learnt at the
// next contact). docs/operations.md promises "a citizen holding such a bill is refused by the pay page".
import { copyFileSync, existsSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generateSimulatorKeys, type SimulatorKeys } from '../../hub/channels/simulator.ts';
import { DB_FILE, openKiosk, type Kiosk } from '../../main/kiosk.ts';
import { enroll, SyncEngine } from '../../main/sync/engine.ts';
import { ManualClock } from '../../protocol/time.ts';
import { sampleFine } from '../hub/helpers.ts';
import { ALIPAY_UA, openPayPage, startPayHub, type PayHubFixture } from '../payments/helpers.ts';

const NOS = ['110000000000000001', '110000000000000002', '110000000000000003', '110000000000000004'];
let keys: SimulatorKeys;
beforeAll(() => {
  keys = generateSimulatorKeys();
});

describe('a re-used bill number (kiosk restored from the morning copy, offline) at the pay page', () => {
  let f: PayHubFixture;
  let dir: string;
  let kiosk: Kiosk | undefined;
  let clock: ManualClock;
  beforeEach(async () => {
    clock = new ManualClock(Date.now());
    f = await startPayHub('pglite', clock, keys);
    dir = mkdtempSync(path.join(os.tmpdir(), 'atk14-'));
  });
  afterEach(async () => {
    kiosk?.close();
    await f.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const db = (): string => path.join(dir, DB_FILE);
  const reopen = (): Kiosk => {
    kiosk?.close();
    kiosk = openKiosk({ dataDir: dir, clock });
    return kiosk;
  };

  async function scenario(payOriginal: boolean) {
    let k = reopen();
    const code = await f.hub.devices.add({ name: 'Hall', region: '110000' });
    if (!code.ok) throw new Error('code');
    expect((await enroll(k, { hubUrl: f.url, code: code.value.code })).ok).toBe(true);
    await f.hub.fines.importRows(NOS.map((n, i) => sampleFine(n, '110000', { fineFen: 10000 * (i + 1) })));
    let engine = new SyncEngine(k, { network: false });
    expect((await engine.pullAll()).ok).toBe(true);
    expect(k.bills.issue(NOS[0]!).ok).toBe(true);
    expect((await engine.pushAll()).ok).toBe(true);
    k.close();
    kiosk = undefined;
    const morning = path.join(dir, 'morning.db');
    copyFileSync(db(), morning);

    k = reopen();
    engine = new SyncEngine(k, { network: false });
    const b2 = k.bills.issue(NOS[1]!);
    if (!b2.ok) throw new Error('issue');
    expect((await engine.pushAll()).ok).toBe(true);
    if (payOriginal) {
      const paid = await f.hub.payments.settle({
        billNo: b2.value.billNo,
        amountFen: b2.value.amountFen,
        channel: 'alipay',
        txnId: 'T2026000001',
        paidAt: b2.value.issuedAt + 60,
      });
      expect(paid.ok).toBe(true);
    }
    k.close();
    kiosk = undefined;
    for (const x of [db(), `${db()}-wal`, `${db()}-shm`]) if (existsSync(x)) unlinkSync(x);
    copyFileSync(morning, db());

    // The hub is unreachable this morning: the restored kiosk issues a bill for another fine.
    k = reopen();
    const again = k.bills.issue(NOS[2]!);
    if (!again.ok) throw new Error(again.error.message);
    expect(again.value.billNo).toBe(b2.value.billNo);
    expect(again.value.token).not.toBe(b2.value.token);
    return { b2: b2.value, again: again.value };
  }

  it('the re-issued bill (fine 3, 300 yuan) is refused, not sold as the hub\'s bill for fine 2', async () => {
    const { b2, again } = await scenario(false);
    const page = await openPayPage(`${f.url}/p/${again.token}`, ALIPAY_UA);
    // Expected (docs/operations.md): refused. A pay URL here charges the citizen for someone else's fine.
    expect({ status: page.status, payUrl: page.payUrl ?? null, amountOfFine2Shown: page.html.includes(NOS[1]!) }).toEqual({
      status: 400,
      payUrl: null,
      amountOfFine2Shown: false,
    });
    void b2;
  });

  it('the re-issued bill is not shown as "paid" because the hub\'s other bill under that number was paid', async () => {
    const { again } = await scenario(true);
    const page = await openPayPage(`${f.url}/p/${again.token}`, ALIPAY_UA);
    expect(page.status).toBeGreaterThanOrEqual(400);
    // The waiting page's poll refuses it the same way (never "paid" with the other bill's confirmation).
    const st = await fetch(`${f.url}/p/${again.token}/status`);
    expect(st.status).toBe(404);
    expect(((await st.json()) as { error: { code: string } }).error.code).toBe('BILL_CONFLICT');
    expect((await f.hub.security.list()).counts.BILL_CONFLICT).toBeGreaterThanOrEqual(2);
  });
});
