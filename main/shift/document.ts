// The end-of-shift report on paper, built from the printer's layout blocks (Chinese first, English labels).
import { pair, rule, text, type Block } from '../../printer/layout.ts';
import { formatFen } from '../../protocol/money.ts';
import { shanghaiDateTime } from '../../protocol/time.ts';
import type { ShiftReport } from './shift.ts';

const ROWS: [string, string][] = [
  ['alipay', '支付宝 Alipay'],
  ['wechat', '微信支付 WeChat'],
  ['issued', '开具缴款单 Bills issued'],
  ['voided', '作废缴款单 Bills voided'],
];

export function shiftReportBlocks(r: ShiftReport): Block[] {
  const blocks: Block[] = [
    text('交班报表', { align: 'center', bold: true, size: 2 }),
    text('End-of-shift report', { align: 'center' }),
    rule(),
    pair('班次 Shift', r.shiftId),
    pair('工作人员 Staff', r.staffName),
    pair('设备 Device', r.deviceId),
    pair('开始 From', r.openedAt > 0 ? shanghaiDateTime(r.openedAt) : '—'),
    pair('结束 To', shanghaiDateTime(r.closedAt)),
    rule(),
  ];
  for (const [key, label] of ROWS) {
    const t = r.totals[key] ?? { count: 0, amountFen: 0 };
    blocks.push(pair(label, `${t.count} 笔 / ${formatFen(t.amountFen)}`));
  }
  if (r.voids?.length) {
    blocks.push(rule(), text('作废原因 Void reasons', { bold: true }));
    for (const v of r.voids) {
      blocks.push(pair(v.billNo, shanghaiDateTime(v.voidedAt)), text(v.reason));
    }
  }
  if (r.reprints?.length) {
    blocks.push(rule(), text('补打回执 Receipt copies', { bold: true }));
    for (const c of r.reprints) {
      const who = c.by === 'staff' ? `工作人员 Staff ${c.staffName ?? c.staffId ?? ''}`.trim() : '扫码 Scan';
      blocks.push(pair(c.billNo, shanghaiDateTime(c.at)), text(who));
    }
  }
  blocks.push(rule(), pair('实收合计 Total received', formatFen(r.paidFen), { bold: true }), rule('='));
  return blocks;
}
