// The printer test page: what the profile says, a column ruler, Chinese text, styles and a QR code.
import type { PrinterProfile } from '../profiles.ts';
import { pair, qr, row, rule, text, type Block } from '../layout.ts';

export interface TestPageDocument {
  profile: PrinterProfile;
  /** Printer address, as configured. */
  url?: string;
  /** When it was printed, Shanghai time text. */
  at?: string;
}

export const TEST_QR = 'FINEKIOSK-PRINTER-TEST';

export function testPageBlocks(d: TestPageDocument): Block[] {
  const p = d.profile;
  const ruler = Array.from({ length: p.columns }, (_, i) => String((i + 1) % 10)).join('');
  const blocks: Block[] = [
    text('打印机测试页', { align: 'center', bold: true, size: 2 }),
    text('Printer Test Page', { align: 'center' }),
    rule('='),
    pair('型号 Profile', p.id),
    pair('纸宽 Paper', `${p.paperMm} mm / ${p.columns} cols / ${p.dots} dots`),
    pair('中文字库 CJK font', p.fontEncoding === 'none' ? '无 no (raster)' : p.fontEncoding.toUpperCase()),
    pair('二维码 Native QR', p.nativeQr ? '有 yes' : '无 no (raster)'),
    pair('切刀 Cutter', p.cutter ? '有 yes' : '无 no'),
    pair('状态 Status', p.status === 'none' ? '无 none (unverified)' : p.status),
  ];
  if (d.url) blocks.push(pair('地址 Address', d.url));
  if (d.at) blocks.push(pair('时间 Time', d.at));
  blocks.push(
    rule(),
    text(ruler),
    text('中文：交通违法罚款缴款单 ￥200.00'),
    text('English: The quick brown fox jumps over the lazy dog.'),
    text('粗体 Bold', { bold: true }),
    text('倍大 Double', { size: 2 }),
    text('居中 Centre', { align: 'center' }),
    text('右对齐 Right', { align: 'right' }),
    row(['项目 Item', '数量', '金额'], [p.columns - 16, 6, 10], ['left', 'right', 'right']),
    rule(),
    qr(TEST_QR),
    text('扫码应得 Scan gives: ' + TEST_QR, { align: 'center' }),
  );
  return blocks;
}
