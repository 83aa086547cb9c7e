// Database rows of devices and bills, and their conversion to the service's shapes.
import type { BillState } from '../../protocol/bills.ts';
import { billPayableUntil } from '../../protocol/billtime.ts';
import type { Device, HubBill } from './types.ts';

/** A row of the devices table. */
export interface DeviceRow {
  id: string;
  name: string;
  region: string;
  public_key: string;
  enabled: boolean;
  last_seq: number;
  last_hash: string;
  created_at: number;
  last_seen_at: number | null;
}

/** A devices row as a Device (numbers from PostgreSQL bigints). */
export function deviceFromRow(r: DeviceRow): Device {
  return {
    id: r.id,
    name: r.name,
    region: r.region,
    publicKey: r.public_key,
    enabled: r.enabled,
    lastSeq: Number(r.last_seq),
    createdAt: Number(r.created_at),
    lastSeenAt: r.last_seen_at === null ? null : Number(r.last_seen_at),
  };
}

/** A row of the bills table. */
export interface BillRow {
  bill_no: string;
  device_id: string;
  decision_no: string;
  amount_fen: number;
  issued_at: number;
  expires_at: number;
  token: string;
  status: BillState;
  paid_txn: string | null;
  created_at: number;
}

/** A bills row as a HubBill, with the hub's own payable-until (protocol/billtime.ts). */
export function billFromRow(r: BillRow): HubBill {
  return {
    billNo: r.bill_no,
    deviceId: r.device_id,
    decisionNo: r.decision_no,
    amountFen: Number(r.amount_fen),
    issuedAt: Number(r.issued_at),
    expiresAt: Number(r.expires_at),
    token: r.token,
    status: r.status,
    paidTxn: r.paid_txn,
    firstSeenAt: Number(r.created_at),
    payableUntil: billPayableUntil(
      { issuedAt: Number(r.issued_at), expiresAt: Number(r.expires_at) },
      Number(r.created_at),
    ),
  };
}
