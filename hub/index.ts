// The hub's public surface for other areas (payments, channels): build the app with extra route plugins,
// and call the services (bills.ensureKnown, payments.settle, keys, devices ...).
export { buildHubApp, statusFor, makeLogger, type BuildHubAppOptions } from './app.ts';
export { openHubDb, migrate, type HubDb, type HubQueryable, type OpenHubDbOptions } from './db.ts';
export { hubMigrations, type HubMigration } from './migrations/index.ts';
export {
  createHubService,
  type HubService,
  type HubBill,
  type HubKey,
  type SettleInput,
  type SettleResult,
  type Device,
} from './service/index.ts';
export { startHub, type StartHubOptions, type RunningHub } from './server.ts';
export { runAdmin } from './admin.ts';
