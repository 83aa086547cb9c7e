// The fine bill a citizen takes home: Chinese first with English labels, the payment QR in the middle.
import { z } from 'zod';
import {
  billNoSchema,
  decisionNoSchema,
  deviceIdSchema,
  fenSchema,
  unixSecondsSchema,
} from '../../protocol/ids.ts';
import { feed, pair, qr, rule, text, type Block } from '../layout.ts';
import { formatFen, printTime } from './common.ts';

export const billDocumentSchema = z.object({
  billNo: billNoSchema,
  decisionNo: decisionNoSchema,
  /** Already masked (protocol/fines.ts maskPlate): paper leaves the kiosk. */
  plateMasked: z.string().max(16),
  violation: z.string().max(200),
  violationEn: z.string().max(300).optional(),
  place: z.string().max(200),
  /** ISO 8601 or Unix seconds. */
  occurredAt: z.union([z.string(), unixSecondsSchema]),
  fineFen: fenSchema,
  lateFeeFen: fenSchema,
  amountFen: fenSchema,
  points: z.number().int().min(0).max(12),
  /** The pay URL with the signed bill token: the QR payload (ASCII). */
  url: z.string().regex(/^[\x21-\x7e]{1,1000}$/),
  expiresAt: unixSecondsSchema,
  deviceId: deviceIdSchema,
  /** Printed on a reprint so staff can tell copies apart. */
  copy: z.boolean().optional(),
});
export type BillDocument = z.infer<typeof billDocumentSchema>;

export function billBlocks(d: BillDocument): Block[] {
  const blocks: Block[] = [
    text('交通违法罚款缴款单', { align: 'center', bold: true, size: 2 }),
    text('Traffic Fine Payment Bill', { align: 'center' }),
  ];
  if (d.copy) blocks.push(text('（补打 Reprint）', { align: 'center' }));
  blocks.push(
    rule(),
    pair('决定书编号 Decision No.', d.decisionNo),
    pair('车牌 Plate', d.plateMasked),
    text('违法行为 Violation:'),
    text(d.violation, { indent: 2 }),
  );
  if (d.violationEn) blocks.push(text(d.violationEn, { indent: 2 }));
  blocks.push(
    text('地点 Place:'),
    text(d.place, { indent: 2 }),
    pair('时间 Time', printTime(d.occurredAt)),
    pair('记分 Points', String(d.points)),
    pair('罚款 Fine', formatFen(d.fineFen)),
    pair('滞纳金 Late fee', formatFen(d.lateFeeFen)),
    pair('合计 Total', formatFen(d.amountFen), { bold: true }),
    rule(),
    feed(1),
    qr(d.url),
    text('请用支付宝或微信扫码缴款', { align: 'center', bold: true }),
    text('Scan with Alipay or WeChat Pay to pay', { align: 'center' }),
    text(`有效期至 Valid until ${printTime(d.expiresAt)}`, { align: 'center' }),
    text('过期请重新打印 Expired? Print a new bill', { align: 'center' }),
    rule(),
    pair('缴款单号 Bill No.', d.billNo),
    pair('设备 Device', d.deviceId),
  );
  return blocks;
}
