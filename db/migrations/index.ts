// Every migration of the kiosk database, in order. Ids are never reused or renumbered.
import type { Migration } from '../migrate.ts';
import { m001Core } from './001_core.ts';
import { m002Printing } from './002_printing.ts';
import { m003Sync } from './003_sync.ts';
import { m004Staff } from './004_staff.ts';
import { m005Officer } from './005_officer.ts';
import { m006Money } from './006_money.ts';
import { m007PrintProof } from './007_print_proof.ts';
import { m008Receipts } from './008_receipts.ts';
import { m009PinGuard } from './009_pin_guard.ts';
import { m010Recovery } from './010_recovery.ts';
import { m016ReceiptAfterVoid } from './016_receipt_after_void.ts';
import { m017ReceiptUnverified } from './017_receipt_unverified.ts';
import { m018TicketParties } from './018_ticket_parties.ts';
import { m022ReceiptCopies } from './022_receipt_copies.ts';

export type { Migration };

export const kioskMigrations: Migration[] = [
  m001Core,
  m002Printing,
  m003Sync,
  m004Staff,
  m005Officer,
  m006Money,
  m007PrintProof,
  m008Receipts,
  m009PinGuard,
  m010Recovery,
  m016ReceiptAfterVoid,
  m017ReceiptUnverified,
  m018TicketParties,
  m022ReceiptCopies,
  // 002 printing, 003 sync, 004 staff, 005 officer
];
