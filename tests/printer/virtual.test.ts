// The bill as the virtual printer prints it: the QR in the PNG decodes to exactly the bill URL, the token
// in it verifies with the device key, and the Chinese decodes back to the text meant.
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../main/cli.ts';
import { openKiosk } from '../../main/kiosk.ts';
import { decodeQrFromPng } from '../../printer/qr-decode.ts';
import { profiles, withOverrides } from '../../printer/profiles.ts';
import { interpretBytes } from '../../printer/virtual/interpreter.ts';
import { publicKeyFromRaw } from '../../protocol/signing.ts';
import { tokenFromBillUrl, verifyBillToken } from '../../protocol/tokens.ts';
import { outboxTypes } from '../kiosk/helpers.ts';
import { printFixture, RED_LIGHT, type PrintFixture } from './helpers.ts';

let pf: PrintFixture | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await pf?.cleanup();
  pf = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('virtual printer', () => {
  for (const [name, profile] of [
    ['80 mm, GB18030 text, native QR', profiles['generic-80']],
    ['58 mm', profiles['generic-58']],
    ['80 mm without Chinese font (raster text)', profiles['epson-80']],
    ['80 mm all raster (raster QR too)', withOverrides(profiles['epson-80'], { nativeQr: false })],
  ] as const) {
    it(`prints a bill whose QR scans to the signed bill URL: ${name}`, async () => {
      pf = await printFixture({ profile, dots: profile.dots });
      const { f, vp, printing } = pf;
      const bill = f.kiosk.bills.issue(RED_LIGHT);
      expect(bill.ok).toBe(true);
      if (!bill.ok) return;
      const job = await printing.printBill(bill.value.billNo);
      expect(job).toMatchObject({ ok: true, value: { state: 'printed', attempts: 1, kind: 'bill' } });
      const [page] = await vp.waitForPages(1);
      const png = readFileSync(page!.file);
      const scanned = decodeQrFromPng(png);
      expect(scanned).toBe(bill.value.url);
      const token = tokenFromBillUrl(scanned!)!;
      const pub = publicKeyFromRaw(f.kiosk.identity.publicKeyRaw)!;
      expect(
        verifyBillToken(token, (id) => (id === f.kiosk.identity.deviceId ? pub : undefined)),
      ).toMatchObject({
        ok: true,
        value: { billNo: bill.value.billNo, amountFen: bill.value.amountFen, decisionNo: RED_LIGHT },
      });
      if (profile.fontEncoding !== 'none') {
        // What went inside FS & ... FS . decodes from GB18030 to the text meant.
        expect(page!.kanjiSegments).toContain('交通违法罚款缴款单');
        // (On 58 mm the violation wraps over two lines, two segments.)
        expect(page!.kanjiSegments.join('')).toContain('驾驶机动车违反道路交通信号灯通行');
        expect(page!.kanjiSegments.some((s) => /^罚款 Fine +￥$/.test(s))).toBe(true);
        // The masked plate, never the full one.
        expect(page!.lines.some((l) => l.endsWith('沪A***45'))).toBe(true);
      } else {
        expect(page!.kanjiSegments).toEqual([]);
      }
      expect(page!.unknown).toEqual([]);
      expect(page!.lines.join('\n')).not.toContain('沪A12345');
      expect(outboxTypes(f.kiosk)).toContain('print.job');
    });
  }

  it('the Chinese segments of a bill are exactly its Chinese text, in order', async () => {
    pf = await printFixture();
    const bill = pf.f.kiosk.bills.issue(RED_LIGHT);
    if (!bill.ok) throw new Error(bill.error.message);
    await pf.printing.printBill(bill.value.billNo);
    const [page] = await pf.vp.waitForPages(1);
    expect(page!.kanjiSegments.slice(0, 4)).toEqual([
      '交通违法罚款缴款单',
      '决定书编号',
      '车牌 Plate                              沪',
      '违法行为',
    ]);
    expect(page!.kanjiSegments).toContain('上海市黄浦区延安东路与河南中路交叉口');
    expect(page!.kanjiSegments).toContain('请用支付宝或微信扫码缴款');
    // ￥ arrived as the full-width sign.
    expect(page!.lines.some((l) => /罚款 Fine +￥200\.00$/.test(l))).toBe(true);
  });

  it('prints the test page and a receipt', async () => {
    pf = await printFixture();
    expect((await pf.printing.printTest()).ok).toBe(true);
    const bill = pf.f.kiosk.bills.issue(RED_LIGHT);
    if (!bill.ok) throw new Error(bill.error.message);
    const unpaid = await pf.printing.printReceipt(bill.value.billNo);
    expect(unpaid).toMatchObject({ ok: false, error: { code: 'FINE_NOT_PAYABLE' } });
    const c = pf.f.kiosk.payments.confirm(
      pf.f.hub.confirm({ billNo: bill.value.billNo, amountFen: bill.value.amountFen }),
    );
    expect(c.ok).toBe(true);
    expect((await pf.printing.printReceipt(bill.value.billNo)).ok).toBe(true);
    const pages = await pf.vp.waitForPages(2);
    expect(decodeQrFromPng(readFileSync(pages[0]!.file))).toBe('FINEKIOSK-PRINTER-TEST');
    const receipt = pages[1]!.lines.join('\n');
    expect(receipt).toContain('缴款凭证');
    expect(receipt).toContain('支付宝 Alipay');
    expect(receipt).toContain('￥200.00');
  });

  it('the commands: print bill --out, printer render, print bill --printer, printer status', async () => {
    pf = await printFixture();
    const { f, vp } = pf;
    f.kiosk.close();
    // The commands run on the system clock: issue the bill on it too, so it is live now.
    const k = openKiosk({ dataDir: f.dir });
    const bill = k.bills.issue(RED_LIGHT);
    k.close();
    if (!bill.ok) throw new Error(bill.error.message);
    const out: string[] = [];
    const io = { stdout: (t: string) => void out.push(t), stderr: (t: string) => void out.push(t), env: {} };
    const bin = path.join(f.dir, 'bill.bin');
    const png = path.join(f.dir, 'bill.png');
    expect(await main(['print', 'bill', bill.value.billNo, '--out', bin, '--data', f.dir], io)).toBe(0);
    expect(await main(['printer', 'render', bin, '--out', png, '--json'], io)).toBe(0);
    // The command opens the kiosk with its stored hub address; the signed token is the same.
    expect(tokenFromBillUrl(decodeQrFromPng(png)!)).toBe(bill.value.token);
    expect(interpretBytes(readFileSync(bin))[0]!.qrData).toEqual([decodeQrFromPng(png)]);
    out.length = 0;
    expect(await main(['printer', 'status', '--printer', vp.url, '--json'], io)).toBe(0);
    expect(JSON.parse(out[0]!)).toMatchObject({ state: 'ok', url: vp.url });
    out.length = 0;
    expect(
      await main(['print', 'bill', bill.value.billNo, '--printer', vp.url, '--data', f.dir, '--json'], io),
    ).toBe(0);
    expect(JSON.parse(out[0]!)).toMatchObject({ state: 'printed', kind: 'bill', ref: bill.value.billNo });
    vp.set({ coverOpen: true });
    out.length = 0;
    expect(await main(['printer', 'status', '--printer', vp.url, '--json'], io)).toBe(3);
    expect(JSON.parse(out[0]!)).toMatchObject({ error: { code: 'PRINTER_COVER_OPEN' } });
  });

  it('the control endpoint switches faults while it runs', async () => {
    const { startVirtualPrinter } = await import('../../printer/virtual/server.ts');
    const { tempDir } = await import('../kiosk/helpers.ts');
    const outDir = tempDir();
    dirs.push(outDir);
    const vp = await startVirtualPrinter({ outDir, controlPort: 0 });
    try {
      const r = await fetch(vp.controlUrl!, { method: 'POST', body: JSON.stringify({ paperEnd: true }) });
      expect(await r.json()).toMatchObject({ paperEnd: true });
      expect(vp.state.paperEnd).toBe(true);
      const bad = await fetch(vp.controlUrl!, { method: 'POST', body: JSON.stringify({ paperEnd: 'yes' }) });
      expect(bad.status).toBe(400);
      expect(await (await fetch(vp.controlUrl!)).json()).toMatchObject({ paperEnd: true, coverOpen: false });
    } finally {
      await vp.close();
    }
  });

  it('the control endpoint refuses a web page (foreign Origin) and a rebound Host; the state is unchanged', async () => {
    const http = await import('node:http');
    const { startVirtualPrinter } = await import('../../printer/virtual/server.ts');
    const { tempDir } = await import('../kiosk/helpers.ts');
    const outDir = tempDir();
    dirs.push(outDir);
    const vp = await startVirtualPrinter({ outDir, controlPort: 0 });
    const post = (headers: Record<string, string>): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = http.request(
          { host: '127.0.0.1', port: vp.controlPort, path: '/state', method: 'POST', headers },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end(JSON.stringify({ paperEnd: true }));
      });
    try {
      const own = `127.0.0.1:${vp.controlPort}`;
      expect(await post({ host: own, origin: 'http://evil.example' })).toBe(403);
      expect(await post({ host: own, origin: 'null' })).toBe(403);
      expect(await post({ host: `evil.example:${vp.controlPort}` })).toBe(403);
      expect(vp.state.paperEnd).toBe(false);
      // Local tools (curl: no Origin) and the endpoint's own page still switch it.
      expect(await post({ host: own, origin: `http://${own}` })).toBe(200);
      expect(vp.state.paperEnd).toBe(true);
    } finally {
      await vp.close();
    }
  });
});

describe('virtual printer for npm start', () => {
  it('starts in-process, falls back to a free port when the asked one is taken, and prints', async () => {
    const net = await import('node:net');
    const { startKioskVirtualPrinter } = await import('../../main/printing/printing.ts');
    const { tempDir } = await import('../kiosk/helpers.ts');
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const taken = (busy.address() as { port: number }).port;
    const dataDir = tempDir();
    dirs.push(dataDir);
    const vp = await startKioskVirtualPrinter({ dataDir, port: taken });
    try {
      expect(vp.url).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
      expect(vp.url).not.toBe(`tcp://127.0.0.1:${taken}`);
      expect(vp.outDir).toBe(path.join(dataDir, 'printed'));
      const { Printer } = await import('../../printer/driver.ts');
      const { transportForUrl } = await import('../../printer/transports/index.ts');
      const p = new Printer(vp.url, () => {
        const t = transportForUrl(vp.url);
        if (!t.ok) throw new Error(t.error.message);
        return t.value;
      });
      expect(await p.status()).toEqual({ state: 'ok' });
    } finally {
      await vp.close();
      busy.close();
    }
  });
});

describe('virtual printer control file', () => {
  it('re-reads a JSON control file while it runs', async () => {
    const { writeFileSync } = await import('node:fs');
    const { startVirtualPrinter } = await import('../../printer/virtual/server.ts');
    const { tempDir } = await import('../kiosk/helpers.ts');
    const dir = tempDir();
    dirs.push(dir);
    const controlFile = path.join(dir, 'control.json');
    writeFileSync(controlFile, JSON.stringify({ coverOpen: true }));
    const vp = await startVirtualPrinter({ outDir: dir, controlFile });
    try {
      expect(vp.state.coverOpen).toBe(true);
      writeFileSync(controlFile, JSON.stringify({ coverOpen: false, nearEnd: true }));
      // Waits for the control file to be read, however long a busy machine takes.
      while (vp.state.coverOpen) await new Promise((r) => setTimeout(r, 20));
      expect(vp.state).toMatchObject({ coverOpen: false, nearEnd: true });
    } finally {
      await vp.close();
    }
  });
});

describe('the API printer port', () => {
  it('prints bill, test page and shift report documents and reports status', async () => {
    pf = await printFixture();
    const port = pf.printing.port();
    expect(port.describe()).toBe(pf.vp.url);
    expect(await port.status()).toBe('ok');
    const bill = pf.f.kiosk.bills.issue(RED_LIGHT);
    if (!bill.ok) throw new Error(bill.error.message);
    expect((await port.print({ kind: 'bill', bill: bill.value })).ok).toBe(true);
    const report = {
      shiftId: 'S1',
      staffId: 'w01',
      staffName: '王芳',
      deviceId: pf.f.kiosk.identity.deviceId,
      openedAt: 1_795_226_400,
      closedAt: 1_795_255_200,
      totals: {
        alipay: { count: 3, amountFen: 60000 },
        wechat: { count: 1, amountFen: 20000 },
        issued: { count: 5, amountFen: 100000 },
      },
      paidFen: 80000,
    };
    expect((await port.print({ kind: 'shift', report })).ok).toBe(true);
    const pages = await pf.vp.waitForPages(2);
    const text = pages[1]!.lines.join('\n');
    for (const s of [
      '交班报表',
      '王芳',
      '支付宝 Alipay',
      '￥600.00',
      '微信支付 WeChat',
      '实收合计 Total received',
      '￥800.00',
    ])
      expect(text).toContain(s);
    pf.vp.set({ paperEnd: true });
    expect(await port.status()).toBe('paper-end');
  });
});
