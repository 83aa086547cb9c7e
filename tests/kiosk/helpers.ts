// Shared fixtures for the kiosk tests: a temp data folder, a manual clock, a hub key that signs confirmations.
import type { KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openKiosk, type Kiosk } from '../../main/kiosk.ts';
import { SAMPLE_FINES } from '../../main/start.ts';
import { generateKeyPair, publicKeyToRaw } from '../../protocol/signing.ts';
import { ManualClock } from '../../protocol/time.ts';
import { makeConfirmationToken, type ConfirmationClaims } from '../../protocol/tokens.ts';
import type { Fine } from '../../protocol/fines.ts';

/** 2026-11-21 10:00 in Shanghai. */
export const T0 = Date.parse('2026-11-21T02:00:00Z');

export function tempDir(prefix = 'finekiosk-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface Fixture {
  dir: string;
  clock: ManualClock;
  kiosk: Kiosk;
  hub: {
    keyId: string;
    publicKeyRaw: string;
    /** The hub key's private half: tests sign answers and announcements as the hub would. */
    privateKey: KeyObject;
    confirm(c: Partial<ConfirmationClaims> & { billNo: string; amountFen: number }): string;
  };
  reopen(): Kiosk;
  cleanup(): void;
}

export function fixture(opts: { sample?: boolean } = {}): Fixture {
  const dir = tempDir();
  const clock = new ManualClock(T0);
  let kiosk = openKiosk({ dataDir: dir, clock, hubBase: 'https://hub.test' });
  if (opts.sample !== false) {
    const r = kiosk.fines.importFile(SAMPLE_FINES);
    if (!r.ok) throw new Error(r.error.message);
  }
  const hubKeys = generateKeyPair();
  const keyId = 'hub1';
  const publicKeyRaw = publicKeyToRaw(hubKeys.publicKey);
  const t = kiosk.trust.addHubKey(keyId, publicKeyRaw);
  if (!t.ok) throw new Error(t.error.message);
  let n = 0;
  return {
    dir,
    clock,
    get kiosk() {
      return kiosk;
    },
    hub: {
      keyId,
      publicKeyRaw,
      privateKey: hubKeys.privateKey,
      confirm: (c) =>
        makeConfirmationToken(
          {
            channel: 'alipay',
            txnId: `2026112122001${String(++n).padStart(6, '0')}`,
            paidAt: Math.floor(clock.now() / 1000),
            keyId,
            ...c,
          },
          hubKeys.privateKey,
        ),
    },
    reopen: () => {
      kiosk.close();
      kiosk = openKiosk({ dataDir: dir, clock, hubBase: 'https://hub.test' });
      return kiosk;
    },
    cleanup: () => {
      kiosk.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A valid fine with the given changes. */
export function fine(over: Partial<Fine> = {}): Fine {
  return {
    decisionNo: '3101012026990001',
    region: '310101',
    plate: '沪A99999',
    vehicleIdLast6: 'ABC123',
    violationCode: '1625',
    description: '驾驶机动车违反道路交通信号灯通行',
    descriptionEn: 'Driving through a red traffic light',
    place: '上海市黄浦区人民大道',
    occurredAt: '2026-11-01T08:00:00+08:00',
    decidedOn: '2026-11-05',
    fineFen: 20000,
    points: 6,
    status: 'unpaid',
    ...over,
  };
}

/** Rows of the outbox as stored, for assertions. */
export function outboxTypes(k: Kiosk): string[] {
  return k.outbox.list(0, 1_000_000).map((e) => e.type);
}
