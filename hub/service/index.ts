// The hub's services: devices and enrollment, request authentication, push (apply each (device, seq) once),
// pull (the change feed), fines, bills, payments and hub keys. Stateless between calls: everything lives in
// the database, so several hub processes can share one PostgreSQL.
//
// One file per concern in this folder; this one composes them into the service object the routes use.
// The feed's ordering rule (writers take no position; hub/feed/order.ts sequences after commit) is in context.ts.
import { KEY_ID_RE } from '../../protocol/ids.ts';
import { listSecurity } from '../trust/security.ts';
import { createAuth } from './auth.ts';
import { createBills } from './bills.ts';
import { createChains } from './chains.ts';
import { createConfig } from './config.ts';
import { createHubContext } from './context.ts';
import { createDevices } from './devices.ts';
import { createEnroll } from './enroll.ts';
import { createPull } from './feed.ts';
import { createFines } from './fines.ts';
import { createKeys } from './keys.ts';
import { createPayments } from './payments.ts';
import { createPush } from './push.ts';
import type { HubServiceOptions } from './types.ts';

export type { Device, HubBill, HubKey, HubServiceOptions, SettleInput, SettleResult } from './types.ts';
export { deviceAddSchema } from './devices.ts';

export type HubService = ReturnType<typeof createHubService>;

/** Builds the hub service on a database (PostgreSQL or PGlite, migrated) and a clock (default: system). */
export function createHubService(opts: HubServiceOptions) {
  const ctx = createHubContext(opts);
  const { db, clock, nowS } = ctx;
  const keys = createKeys(ctx);
  const config = createConfig(ctx);
  const devices = createDevices(ctx, config);
  const enroll = createEnroll(ctx, keys, config);
  const { authenticate, recordNonce } = createAuth(ctx, devices);
  const { fines, upsertFines, setFineStatus } = createFines(ctx);
  const bills = createBills(ctx, devices);
  const { payments, settleIn } = createPayments(ctx, keys, setFineStatus);
  const push = createPush(ctx, { keys, settleIn, upsertFines, recordNonce });
  const pull = createPull(ctx);
  const { eventsPage, eventsOf, verifyChains, stats } = createChains(ctx, devices);

  return {
    db,
    clock,
    stats,
    nowS,
    keys,
    config,
    devices,
    enroll,
    authenticate,
    push,
    pull,
    eventsPage,
    fines,
    bills,
    payments,
    eventsOf,
    verifyChains,
    isKeyId: (s: string) => KEY_ID_RE.test(s),
    security: {
      /** The security log, newest first, with counts by code (`finekiosk hub security log`). */
      list: (opts: { deviceId?: string; limit?: number } = {}) => listSecurity(db, opts),
    },
  };
}
