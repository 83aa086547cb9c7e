// A bill document as the kiosk would print it, signed with a fresh device key.
import { generateKeyPair } from '../../protocol/signing.ts';
import { billUrl, makeBillToken, type BillClaims } from '../../protocol/tokens.ts';
import type { BillDocument } from '../../printer/documents/bill.ts';

export function signedBill(over: Partial<BillDocument> = {}): {
  doc: BillDocument;
  keys: ReturnType<typeof generateKeyPair>;
  claims: BillClaims;
} {
  const keys = generateKeyPair();
  const claims: BillClaims = {
    billNo: 'K8F3A2-0001',
    decisionNo: '110105202605010001',
    amountFen: 20000,
    issuedAt: 1_777_600_000,
    expiresAt: 1_777_600_000 + 14_400,
    deviceId: 'kiosk01',
  };
  const token = makeBillToken(claims, keys.privateKey);
  const doc: BillDocument = {
    billNo: claims.billNo,
    decisionNo: claims.decisionNo,
    plateMasked: '京A***45',
    violation: '机动车违反禁令标志指示的',
    violationEn: 'Motor vehicle disobeying a prohibition sign',
    place: '北京市朝阳区建国路与东三环路交叉口',
    occurredAt: '2026-05-01T08:30:00+08:00',
    fineFen: 20000,
    lateFeeFen: 0,
    amountFen: 20000,
    points: 3,
    url: billUrl('https://hub.example.cn', token),
    expiresAt: claims.expiresAt,
    deviceId: claims.deviceId,
    ...over,
  };
  return { doc, keys, claims };
}
