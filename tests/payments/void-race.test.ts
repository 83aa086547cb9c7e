// Issue 10, case 8, end to end: a kiosk cut off from the hub voids a bill while the payer, who already
// holds the printed QR, pays it and the hub settles the payment. When the kiosk syncs, the hub's payment
// wins over the offline void: the bill becomes paid on the kiosk, with the hub's payment, its receipt
// becomes due and prints, and nothing is dropped.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSimulatorKeys } from '../../hub/channels/simulator.ts';
import { openKiosk, type Kiosk } from '../../main/kiosk.ts';
import { createReceiptsService } from '../../main/payments/receipts.ts';
import { enroll, SyncEngine } from '../../main/sync/engine.ts';
import { encodeReceipt } from '../../printer/documents/index.ts';
import { getProfile } from '../../printer/profiles.ts';
import { interpretBytes } from '../../printer/virtual/interpreter.ts';
import { ok } from '../../protocol/result.ts';
import { ManualClock } from '../../protocol/time.ts';
import { sampleFine, STORAGES } from '../hub/helpers.ts';
import { ALIPAY_UA, openPayPage, startPayHub, type PayHubFixture } from './helpers.ts';

const T0 = Date.parse('2026-11-21T02:00:00Z');
const FINE = '110000000000066601';

describe.each(STORAGES)('a hub payment wins over an offline void on %s', (storage) => {
  let f: PayHubFixture;
  const clock = new ManualClock(T0);
  let dir: string;
  let kiosk: Kiosk;
  let engine: SyncEngine;

  beforeAll(async () => {
    f = await startPayHub(storage, clock, generateSimulatorKeys());
    await f.hub.fines.importRows([sampleFine(FINE, '110000', { decidedOn: '2026-11-20' })]);
    dir = mkdtempSync(path.join(os.tmpdir(), 'fk-voidrace-'));
    kiosk = openKiosk({ dataDir: dir, clock });
    const code = await f.hub.devices.add({ name: 'Hall', region: '110000' });
    if (!code.ok) throw new Error('device add');
    expect((await enroll(kiosk, { hubUrl: f.url, code: code.value.code })).ok).toBe(true);
    engine = new SyncEngine(kiosk, { pullWaitSeconds: 0 });
    expect((await engine.pullAll()).ok).toBe(true);
  });
  afterAll(async () => {
    await engine?.stop();
    kiosk?.close();
    rmSync(dir, { recursive: true, force: true });
    await f?.close();
  });

  it('the bill becomes paid on the kiosk after sync, and its receipt prints with the hub’s payment', async () => {
    const issued = kiosk.bills.issue(FINE);
    if (!issued.ok) throw new Error(issued.error.message);
    const bill = issued.value;
    // The bill reached the hub before the link dropped.
    expect((await engine.pushAll()).ok).toBe(true);

    // Offline: staff void the bill at the kiosk; meanwhile the payer pays the printed QR.
    const voided = kiosk.bills.void(bill.billNo, 'staff');
    expect(voided.ok && voided.value.status).toBe('voided');
    const page = await openPayPage(bill.url, ALIPAY_UA);
    const paid = await f.sim.pay('alipay', page.outTradeNo!);
    expect(paid.ok).toBe(true);
    expect((await f.hub.bills.get(bill.billNo))?.status).toBe('paid');

    // The link is back: the kiosk's void reaches a hub that already holds the payment, then the pull.
    await engine.pushAll();
    expect((await engine.pullAll()).ok).toBe(true);
    const after = kiosk.bills.get(bill.billNo);
    if (!after.ok) throw new Error(after.error.message);
    expect(after.value.status).toBe('paid');
    expect(after.value.payment).toMatchObject({ channel: 'alipay', txnId: paid.txnId, amountFen: bill.amountFen });
    // The hub keeps the payment; its bill is not voided by the late void.
    expect((await f.hub.bills.get(bill.billNo))?.status).toBe('paid');
    expect((await f.hub.payments.forBill(bill.billNo)).map((p) => [p.txnId, p.status])).toEqual([
      [paid.txnId, 'settled'],
    ]);

    // The receipt became due with the payment and prints once, showing the hub's transaction.
    const printed: string[] = [];
    const receipts = createReceiptsService(kiosk.db, clock, async (billNo) => {
      const b = kiosk.bills.get(billNo);
      if (!b.ok || !b.value.payment) throw new Error('no payment on the bill');
      const bytes = encodeReceipt(
        { billNo, decisionNo: b.value.decisionNo, deviceId: b.value.deviceId, ...b.value.payment },
        getProfile('generic-80')!,
      );
      printed.push(
        interpretBytes(bytes)
          .flatMap((p) => [...p.lines, ...p.kanjiSegments])
          .join('\n'),
      );
      return ok({ jobId: `j${printed.length}` });
    });
    expect(receipts.get(bill.billNo)?.state).toBe('due');
    expect(await receipts.drain()).toBe(1);
    expect(receipts.get(bill.billNo)?.state).toBe('printed');
    expect(printed).toHaveLength(1);
    expect(printed[0]).toContain(paid.txnId);
    expect(printed[0]).toContain(bill.billNo);
  });
});
