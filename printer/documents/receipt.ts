// The payment receipt, printed once the kiosk has a verified payment confirmation.
import { z } from 'zod';
import {
  billNoSchema,
  channelSchema,
  decisionNoSchema,
  deviceIdSchema,
  fenSchema,
  txnIdSchema,
  unixSecondsSchema,
} from '../../protocol/ids.ts';
import { pair, rule, text, type Block } from '../layout.ts';
import { formatFen, printTime } from './common.ts';

export const receiptDocumentSchema = z.object({
  billNo: billNoSchema,
  decisionNo: decisionNoSchema.optional(),
  amountFen: fenSchema,
  /** The fine, the late fee (加处罚款) and the points, each on its own line when given. */
  fineFen: fenSchema.optional(),
  lateFeeFen: fenSchema.optional(),
  points: z.number().int().min(0).max(12).optional(),
  channel: channelSchema,
  txnId: txnIdSchema,
  paidAt: unixSecondsSchema,
  deviceId: deviceIdSchema,
  copy: z.boolean().optional(),
});
export type ReceiptDocument = z.infer<typeof receiptDocumentSchema>;

const CHANNEL = { alipay: '支付宝 Alipay', wechat: '微信支付 WeChat Pay' } as const;

export function receiptBlocks(d: ReceiptDocument): Block[] {
  const blocks: Block[] = [
    text('缴款凭证', { align: 'center', bold: true, size: 2 }),
    text('Payment Receipt', { align: 'center' }),
  ];
  if (d.copy) blocks.push(text('（补打 Reprint）', { align: 'center' }));
  blocks.push(rule(), pair('缴款单号 Bill No.', d.billNo));
  if (d.decisionNo) blocks.push(pair('决定书编号 Decision No.', d.decisionNo));
  if (d.fineFen !== undefined) blocks.push(pair('罚款 Fine', formatFen(d.fineFen)));
  if (d.lateFeeFen !== undefined) blocks.push(pair('加处罚款 Late fee', formatFen(d.lateFeeFen)));
  if (d.points !== undefined) blocks.push(pair('记分 Points', String(d.points)));
  blocks.push(
    pair('合计 Total paid', formatFen(d.amountFen), { bold: true }),
    pair('渠道 Channel', CHANNEL[d.channel]),
    pair('交易号 Transaction', d.txnId),
    pair('支付时间 Paid at', printTime(d.paidAt)),
    pair('设备 Device', d.deviceId),
    rule(),
    text('已缴款，请妥善保管本凭证', { align: 'center' }),
    text('Paid. Please keep this receipt.', { align: 'center' }),
  );
  return blocks;
}
