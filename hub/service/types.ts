// The hub service's public shapes: devices, hub keys, bills and settled payments.
import type { KeyObject } from 'node:crypto';
import type { Channel } from '../../protocol/ids.ts';
import type { BillState } from '../../protocol/bills.ts';
import type { ConfirmationClaims } from '../../protocol/tokens.ts';
import type { Clock } from '../../protocol/time.ts';
import type { HubDb } from '../db.ts';

export interface Device {
  id: string;
  name: string;
  region: string;
  publicKey: string;
  enabled: boolean;
  lastSeq: number;
  createdAt: number;
  lastSeenAt: number | null;
}

export interface HubKey {
  keyId: string;
  publicKey: string;
  privateKey: KeyObject;
  retired: boolean;
  /** Unix seconds when it retired; it then verifies only payments made before. */
  retiredAt: number | null;
}

export interface SettleInput {
  /** The channel order the money came through, when known (the refund flow needs it). */
  outTradeNo?: string;
  billNo: string;
  amountFen: number;
  channel: Channel;
  txnId: string;
  /** Unix seconds. */
  paidAt: number;
}

export interface SettleResult {
  /** settled: this payment pays the bill; duplicate: this txn was settled before (same token);
   *  refund: the bill was already paid by another transaction — flag this one for refund. */
  status: 'settled' | 'duplicate' | 'refund';
  token?: string;
  claims?: ConfirmationClaims;
  /** Why a payment was flagged for refund (an error code: BILL_PAID, FINE_NOT_PAYABLE, ...). */
  reason?: string;
}

export interface HubBill {
  billNo: string;
  deviceId: string;
  decisionNo: string;
  amountFen: number;
  issuedAt: number;
  expiresAt: number;
  token: string;
  /** protocol/bills.ts; the hub stores live, paid and voided. */
  status: BillState;
  paidTxn: string | null;
  /** When the hub first saw the bill (its own clock, Unix seconds). */
  firstSeenAt: number;
  /** Until when the hub keeps it payable by its own clock (protocol/billtime.ts). */
  payableUntil: number;
}

export interface HubServiceOptions {
  db: HubDb;
  clock?: Clock;
}
