// Hub migrations, applied in id order and recorded in the hub_migrations ledger. Append new ones; never
// edit one that has shipped.
import { sql as core } from './001_core.ts';
import { sql as pay } from './002_pay.ts';
import { sql as officer } from '../officer/migration.ts';
import { sql as payJobs } from './005_pay_jobs.ts';
import { sql as recovery } from './006_recovery.ts';
import { sql as folderGeneration } from './010_folder_generation.ts';
import { sql as service } from '../integration/migration.ts';
import { sql as money } from './004_money.ts';
import { sql as refundApproval } from './009_refund_approval.ts';
import { sql as feedOrder } from './011_feed_order.ts';
import { sql as serviceGuards } from './013_service_guards.ts';

export interface HubMigration {
  id: number;
  name: string;
  /** Statements separated by ";" at a line end. */
  sql: string;
}

export const hubMigrations: HubMigration[] = [
  { id: 1, name: '001_core', sql: core },
  { id: 2, name: '002_pay', sql: pay },
  { id: 3, name: '003_officer', sql: officer },
  { id: 4, name: '004_money', sql: money },
  { id: 5, name: '005_pay_jobs', sql: payJobs },
  { id: 6, name: '006_recovery', sql: recovery },
  { id: 7, name: '007_service', sql: service },
  { id: 9, name: '009_refund_approval', sql: refundApproval },
  { id: 10, name: '010_folder_generation', sql: folderGeneration },
  { id: 11, name: '011_feed_order', sql: feedOrder },
  { id: 13, name: '013_service_guards', sql: serviceGuards },
  // Further areas add their migration here, e.g. { id: 2, name: '002_pay', sql: pay },
];
