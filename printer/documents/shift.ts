// The staff end-of-shift report: who, when, and counts and totals per channel, built from the layout
// blocks like every other document. Input is plain data (the shift service's report has this shape).
import { pair, row, rule, text, type Block } from '../layout.ts';
import { formatFen, printTime } from './common.ts';

export interface ShiftReportDocument {
  shiftId: string;
  staffId: string;
  staffName: string;
  deviceId: string;
  openedAt: number;
  closedAt: number;
  /** Keys: alipay, wechat (payments), issued, voided (bills); others are printed by name. */
  totals: Record<string, { count: number; amountFen: number }>;
  paidFen: number;
}

const LABELS: Record<string, string> = {
  alipay: '支付宝 Alipay',
  wechat: '微信支付 WeChat Pay',
  issued: '开单 Bills issued',
  voided: '作废 Bills voided',
};

export function shiftReportBlocks(d: ShiftReportDocument, columns: number): Block[] {
  const amountW = 14;
  const countW = 6;
  const nameW = columns - amountW - countW;
  const blocks: Block[] = [
    text('交接班报表', { align: 'center', bold: true, size: 2 }),
    text('End-of-Shift Report', { align: 'center' }),
    rule(),
    pair('班次 Shift', d.shiftId),
    pair('收费员 Staff', `${d.staffName} (${d.staffId})`),
    pair('设备 Device', d.deviceId),
    pair('开始 From', printTime(d.openedAt)),
    pair('结束 To', printTime(d.closedAt)),
    rule(),
    row(['项目 Item', '笔数', '金额'], [nameW, countW, amountW], ['left', 'right', 'right'], true),
  ];
  const keys = [
    ...Object.keys(LABELS).filter((k) => k in d.totals),
    ...Object.keys(d.totals)
      .filter((k) => !(k in LABELS))
      .sort(),
  ];
  for (const k of keys) {
    const t = d.totals[k]!;
    blocks.push(
      row(
        [LABELS[k] ?? k, String(t.count), formatFen(t.amountFen)],
        [nameW, countW, amountW],
        ['left', 'right', 'right'],
      ),
    );
  }
  blocks.push(
    rule(),
    pair('实收合计 Paid total', formatFen(d.paidFen), { bold: true }),
    text(''),
    text('签字 Signature:'),
    text(''),
  );
  return blocks;
}
