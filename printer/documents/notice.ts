// The officer's on-the-spot penalty notice (简易程序处罚决定书): the decision, the payment QR of its bill,
// the 15-day rule with its due date, and where else to pay. Portable printers are mostly 58 mm.
import { z } from 'zod';
import {
  billNoSchema,
  decisionNoSchema,
  deviceIdSchema,
  fenSchema,
  unixSecondsSchema,
} from '../../protocol/ids.ts';
import { dueDate } from '../../protocol/latefee.ts';
import { feed, qr, rule, text, pair, renderDocument, type Block, type RenderOptions } from '../layout.ts';
import type { PrinterProfile } from '../profiles.ts';
import { formatFen, printTime } from './common.ts';

export const noticeDocumentSchema = z.object({
  decisionNo: decisionNoSchema,
  /** The number came from the device's stand-alone sequence: said on paper too. */
  standalone: z.boolean(),
  /** The full plate: the notice is the driver's own document (a pedestrian's shows 行人). */
  plate: z.string().max(16),
  vehicleIdLast6: z
    .string()
    .regex(/^[0-9A-Z]{6}$/)
    .optional(),
  partyName: z.string().max(40).optional(),
  licenceNo: z.string().max(20).optional(),
  vehicleKind: z.string().max(32),
  violationCode: z.string().max(16),
  violation: z.string().max(200),
  violationEn: z.string().max(300).optional(),
  place: z.string().max(200),
  occurredAt: z.union([z.string(), unixSecondsSchema]),
  /** YYYY-MM-DD, Asia/Shanghai. */
  decidedOn: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  fineFen: fenSchema,
  points: z.number().int().min(0).max(12),
  officerId: z.string().max(32),
  billNo: billNoSchema,
  /** The pay URL with the signed bill token (the QR payload, ASCII). */
  url: z.string().regex(/^[\x21-\x7e]{1,1000}$/),
  expiresAt: unixSecondsSchema,
  deviceId: deviceIdSchema,
});
export type NoticeDocument = z.infer<typeof noticeDocumentSchema>;

const KIND_ZH: Record<string, string> = {
  'small-car': '小型汽车',
  'large-car': '大型汽车',
  motorcycle: '摩托车',
  'non-motor': '非机动车',
  pedestrian: '行人',
};

export function noticeBlocks(d: NoticeDocument): Block[] {
  const due = dueDate(d.decidedOn);
  const blocks: Block[] = [
    text('公安交通管理简易程序处罚决定书', { align: 'center', bold: true }),
    text('Traffic Penalty Decision (on the spot)', { align: 'center' }),
    rule(),
    pair('编号 No.', d.decisionNo, { bold: true }),
  ];
  if (d.standalone) blocks.push(text('（单机本地编号 Stand-alone local number）', { align: 'center' }));
  blocks.push(
    pair('车牌 Plate', d.plate),
    pair('类别 Kind', `${KIND_ZH[d.vehicleKind] ?? d.vehicleKind} ${d.vehicleKind}`),
  );
  if (d.vehicleIdLast6) blocks.push(pair('车架号后6位 VIN (last 6)', d.vehicleIdLast6));
  if (d.partyName) blocks.push(pair('当事人 Party', d.partyName));
  if (d.licenceNo) blocks.push(pair('驾驶证号 Licence No.', d.licenceNo));
  blocks.push(
    pair('时间 Time', printTime(d.occurredAt)),
    text('地点 Place:'),
    text(d.place, { indent: 2 }),
    text(`违法行为 Violation (${d.violationCode}):`),
    text(d.violation, { indent: 2 }),
  );
  if (d.violationEn) blocks.push(text(d.violationEn, { indent: 2 }));
  blocks.push(
    pair('记分 Points', String(d.points)),
    pair('罚款 Fine', formatFen(d.fineFen), { bold: true }),
    pair('执勤民警 Officer', d.officerId),
    rule(),
    text(`请于15日内（${due}前）缴纳罚款。逾期每日按罚款数额的3%加处罚款，总额不超过罚款数额。`),
    text(
      `Pay within 15 days (by ${due}). After that a late fee of 3% of the fine is added per day, never more than the fine.`,
    ),
    feed(1),
    qr(d.url),
    text('支付宝或微信扫码缴款', { align: 'center', bold: true }),
    text('Scan with Alipay or WeChat Pay', { align: 'center' }),
    text(`二维码有效至 QR valid until ${printTime(d.expiresAt)}`, { align: 'center' }),
    text('之后可在任一缴费机凭编号或扫描本决定书缴款。'),
    text('Later: pay at any kiosk with the number above, or scan this notice there.'),
    text('如不服本决定，可于60日内申请行政复议或6个月内提起行政诉讼。'),
    text('You may apply for review within 60 days or sue within 6 months.'),
    rule(),
    pair('缴款单 Bill', d.billNo),
    pair('设备 Device', d.deviceId),
  );
  return blocks;
}

export function encodeNotice(
  d: NoticeDocument,
  profile: PrinterProfile,
  opts: RenderOptions = {},
): Uint8Array {
  return renderDocument(noticeBlocks(noticeDocumentSchema.parse(d)), profile, opts);
}
