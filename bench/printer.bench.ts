// Printing: bytes on the wire for one 80 mm bill (native QR + GB18030 text, raster QR, all raster), what
// each costs on a 115,200-baud Bluetooth link and a 9,600-baud serial link, and the encode time of a bill.
import { encodeBill } from '../printer/documents/index.ts';
import { profiles, withOverrides } from '../printer/profiles.ts';
import { interpretBytes } from '../printer/virtual/interpreter.ts';
import { textColumns } from '../printer/width.ts';
import { generateKeyPair } from '../protocol/signing.ts';
import { billUrl, makeBillToken } from '../protocol/tokens.ts';
import os from 'node:os';
import { fmtMs, measure, printSection, stats } from './lib.ts';

const keys = generateKeyPair();

/** A bill as the kiosk prints it: every one has its own signed token, so its own QR payload. */
function sampleBill(i = 0) {
  const claims = {
    billNo: `K8F3A2BQ7ZMD-${1000 + i}`,
    decisionNo: '3101012026003040',
    amountFen: 20000,
    issuedAt: 1_795_226_400,
    expiresAt: 1_795_226_400 + 14_400,
    deviceId: 'k8f3a2bq7zmd',
  };
  return {
    billNo: claims.billNo,
    decisionNo: claims.decisionNo,
    plateMasked: '沪A***45',
    violation: '驾驶机动车违反道路交通信号灯通行',
    violationEn: 'Driving through a red traffic light',
    place: '上海市黄浦区延安东路与河南中路交叉口',
    occurredAt: '2026-11-12T08:31:00+08:00',
    fineFen: 20000,
    lateFeeFen: 0,
    amountFen: 20000,
    points: 6,
    url: billUrl('https://pay.finekiosk.example.cn', makeBillToken(claims, keys.privateKey)),
    expiresAt: claims.expiresAt,
    deviceId: claims.deviceId,
  };
}

/** 8N1 serial: 10 bits on the line per byte. */
const lineSeconds = (bytes: number, baud: number): string => `${((bytes * 10) / baud).toFixed(2)} s`;

export async function run(): Promise<void> {
  const doc = sampleBill();
  const native = profiles['generic-80'];
  const rasterQr = withOverrides(native, { nativeQr: false });
  const allRaster = withOverrides(native, { nativeQr: false, fontEncoding: 'none' });
  const sizes = {
    native: encodeBill(doc, native).length,
    rasterQr: encodeBill(doc, rasterQr).length,
    allRaster: encodeBill(doc, allRaster).length,
  };
  printSection('Bytes on the wire, one 80 mm bill', [
    { name: 'native QR + GB18030 text', value: `${sizes.native} B`, anchor: 'aim ≤ 1,500 B' },
    {
      name: 'raster QR (GS v 0) + GB18030 text',
      value: `${sizes.rasterQr} B`,
      anchor: `${(sizes.rasterQr / sizes.native).toFixed(1)}× native`,
    },
    {
      name: 'all raster (text and QR as images)',
      value: `${sizes.allRaster} B`,
      anchor: `${(sizes.allRaster / sizes.native).toFixed(1)}× native`,
    },
  ]);
  // Before: the raster QR as it was (GS v 0 at the full module size, 6 dots, no quadruple mode).
  const { qrBitmap } = await import('../printer/encoder.ts');
  const { rasterImage } = await import('../printer/commands.ts');
  const oldQr = qrBitmap(doc.url, 6).pack();
  const newQr = encodeBill(doc, rasterQr).length - sizes.native;
  const before = sizes.native + rasterImage(oldQr.bytesPerRow, oldQr.rows, oldQr.data).length;
  printSection('Raster-QR bill, before (full module size) and after (compact, quadruple mode)', [
    { name: 'before: bytes', value: `${before} B`, anchor: `QR part ${oldQr.data.length + 8} B` },
    { name: 'after: bytes', value: `${sizes.rasterQr} B`, anchor: `QR part ${newQr} B (aim ≤ 6,144 B)` },
    { name: 'before @ 9,600 baud', value: lineSeconds(before, 9_600) },
    { name: 'after @ 9,600 baud', value: lineSeconds(sizes.rasterQr, 9_600) },
    { name: 'before @ 115,200 baud', value: lineSeconds(before, 115_200) },
    { name: 'after @ 115,200 baud', value: lineSeconds(sizes.rasterQr, 115_200) },
  ]);
  // Proof of printing on the fake printer (tests/printer/fake-printer.ts, virtual time): from the job's
  // last byte on the link to the in-order reply, beside the head's own print time of the job.
  const { FakePrinter } = await import('../tests/printer/fake-printer.ts');
  const { Printer, planFor } = await import('../printer/driver.ts');
  const proofRows: { name: string; value: string; anchor?: string }[] = [];
  for (const [name, prof, link] of [
    ['cn80 GS r @ 115,200 baud', profiles['cn80'], 11_520],
    ['tm-t88 GS ( H @ 115,200 baud', profiles['tm-t88'], 11_520],
    ['cn80 GS r @ 9,600 baud', profiles['cn80'], 960],
  ] as const) {
    const fp = new FakePrinter({
      linkBytesPerSecond: link,
      printBytesPerSecond: 2000,
      bufferBytes: 4096,
      status: 'realtime+inorder',
    });
    let lastByteAt = 0;
    const t = fp.transport();
    const spy = {
      ...t,
      write: async (d: Uint8Array, ms: number) => {
        await t.write(d, ms);
        if (d.length > 3) lastByteAt = fp.t;
      },
    };
    const job = encodeBill(doc, prof);
    const pr = new Printer('fake://', () => spy, { now: fp.now, sleep: fp.sleep });
    const r = await pr.print(job, undefined, planFor(prof));
    proofRows.push({
      name,
      value: r.ok && r.value.verified ? `${(fp.t - lastByteAt).toFixed(0)} ms (virtual)` : 'not proved',
      anchor: `head prints the ${job.length} B job in ${((job.length * 1000) / 2000).toFixed(0)} ms at 2,000 B/s`,
    });
  }
  printSection('Last byte to proof of printing (fake printer)', proofRows);
  printSection('Line time (8N1, 10 bits a byte)', [
    { name: 'native @ 115,200 baud (Bluetooth SPP)', value: lineSeconds(sizes.native, 115_200) },
    { name: 'raster QR @ 115,200 baud', value: lineSeconds(sizes.rasterQr, 115_200) },
    { name: 'all raster @ 115,200 baud', value: lineSeconds(sizes.allRaster, 115_200) },
    { name: 'native @ 9,600 baud (serial)', value: lineSeconds(sizes.native, 9_600) },
    { name: 'raster QR @ 9,600 baud', value: lineSeconds(sizes.rasterQr, 9_600) },
    { name: 'all raster @ 9,600 baud', value: lineSeconds(sizes.allRaster, 9_600) },
  ]);

  // Each timed encode gets a bill of its own (own bill number, own signed token): a kiosk never prints
  // the same QR payload twice, so nothing the encoder caches per payload may flatter the figures.
  const N = 5_000;
  const docs = Array.from({ length: N + 400 }, (_, i) => sampleBill(i));
  const pick = (i: number): ReturnType<typeof sampleBill> => docs[i < 0 ? N - i : i]!;
  const enc = await measure(N, (i) => encodeBill(pick(i), native));
  const baseline = await measure(N, (i) => JSON.stringify(pick(i)));
  // The same encodes timed in CPU time of this process: what the encoder costs when another process
  // does not take the core away mid-call (wall-clock p99 on a loaded machine is mostly that).
  const cpuStats = (n: number, fn: (i: number) => unknown) => {
    const cpu: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = process.cpuUsage();
      fn(i);
      const d = process.cpuUsage(t);
      cpu.push((d.user + d.system) / 1000);
    }
    return stats(cpu);
  };
  const encCpu = cpuStats(N, (i) => encodeBill(pick(i), native));
  const encRaster = await measure(2_000, (i) => encodeBill(pick(i), rasterQr));
  const encRasterCpu = cpuStats(2_000, (i) => encodeBill(pick(i), rasterQr));
  const encAll = await measure(1_000, (i) => encodeBill(pick(i), allRaster));
  // Before, in the same run: the QR symbol from the qrcode package (what the encoder used, with its
  // mixed-mode segmentation), beside the symbol from printer/qr.ts, for the same payloads.
  const QRCode = (await import('qrcode')).default;
  const { encodeQr } = await import('../printer/qr.ts');
  const qrLib = await measure(1_000, (i) => QRCode.create(pick(i).url, { errorCorrectionLevel: 'M' }));
  const qrOwn = await measure(1_000, (i) => encodeQr(Buffer.from(pick(i).url, 'latin1'), 'M'));
  // Before, in the same run: a raster text line drawn dot by dot onto a Bitmap and packed, beside the
  // packed drawing the encoder now uses (a line of its own each time: the encoder caches lines).
  const { Bitmap } = await import('../printer/bitmap.ts');
  const { drawText, drawTextPacked, CELL_H, CELL_W } = await import('../printer/font.ts');
  const lineText = (i: number): string => `地点 ${pick(i).place} ${i}`;
  const lineBitmap = await measure(1_000, (i) => {
    const t = lineText(i);
    const bm = new Bitmap(Math.ceil((textColumns(t) * CELL_W) / 8) * 8, CELL_H + 6);
    drawText(bm, t, 0, 0);
    return bm.pack();
  });
  const linePacked = await measure(1_000, (i) => {
    const t = lineText(i);
    const bpr = Math.ceil((textColumns(t) * CELL_W) / 8);
    const out = new Uint8Array(bpr * (CELL_H + 6));
    drawTextPacked(out, bpr, CELL_H + 6, t);
    return out;
  });
  printSection('Encode time of a bill (80 mm), each bill with its own token', [
    {
      name: `native, p50 / p99 over ${N.toLocaleString('en-US')}`,
      value: `${fmtMs(enc.p50)} / ${fmtMs(enc.p99)}`,
      anchor: `aim p99 < 2 ms; JSON.stringify of the same document: p50 ${fmtMs(baseline.p50)} / p99 ${fmtMs(baseline.p99)}`,
    },
    {
      name: `native, CPU time p50 / p99 over ${N.toLocaleString('en-US')}`,
      value: `${fmtMs(encCpu.p50)} / ${fmtMs(encCpu.p99)}`,
      anchor: `load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores during this run`,
    },
    { name: 'raster QR, p50 / p99 over 2,000', value: `${fmtMs(encRaster.p50)} / ${fmtMs(encRaster.p99)}` },
    {
      name: 'raster QR, CPU time p50 / p99 over 2,000',
      value: `${fmtMs(encRasterCpu.p50)} / ${fmtMs(encRasterCpu.p99)}`,
    },
    { name: 'all raster, p50 / p99 over 1,000', value: `${fmtMs(encAll.p50)} / ${fmtMs(encAll.p99)}` },
    {
      name: 'QR symbol of a bill URL, printer/qr.ts, p50 / p99 over 1,000',
      value: `${fmtMs(qrOwn.p50)} / ${fmtMs(qrOwn.p99)}`,
      anchor: `before, the qrcode package on the same URLs: ${fmtMs(qrLib.p50)} / ${fmtMs(qrLib.p99)}`,
    },
    {
      name: 'raster text line, packed drawing, p50 / p99 over 1,000',
      value: `${fmtMs(linePacked.p50)} / ${fmtMs(linePacked.p99)}`,
      anchor: `before, Bitmap + pack on the same lines: ${fmtMs(lineBitmap.p50)} / ${fmtMs(lineBitmap.p99)}`,
    },
  ]);
  const bytes = encodeBill(doc, native);
  const render = await measure(50, () => interpretBytes(bytes, 576));
  printSection('Virtual printer', [
    {
      name: 'render one bill to a 1-bit page, p50 / p99 over 50',
      value: `${fmtMs(render.p50)} / ${fmtMs(render.p99)}`,
    },
  ]);
}
