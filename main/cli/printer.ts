// `finekiosk print ...` and `finekiosk printer ...`: print bills, receipts and the test page, read a
// printer's status, run the virtual printer, render saved ESC/POS bytes to PNG.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { fail, ok, type Result } from '../../protocol/result.ts';
import { shanghaiDateTime, unixSeconds, systemClock } from '../../protocol/time.ts';
import { encodeBill, encodeChecked, encodeReceipt, encodeTestPage } from '../../printer/documents/index.ts';
import type { PrinterProfile } from '../../printer/profiles.ts';
import { statusResult } from '../../printer/status.ts';
import { interpretBytes } from '../../printer/virtual/interpreter.ts';
import { bitmapToPng } from '../../printer/virtual/png.ts';
import { mechanismFor, startVirtualPrinter } from '../../printer/virtual/server.ts';
import { openKiosk, type Kiosk } from '../kiosk.ts';
import {
  billDocument,
  createKioskPrinting,
  DEFAULT_PRINTER_URL,
  receiptDocument,
  kioskProfile,
  resolveProfile,
} from '../printing/printing.ts';
import { profiles, SHIPPED_PROFILE_IDS } from '../../printer/profiles.ts';
import { optString, type Command, type CommandContext } from './framework.ts';

const target = {
  printer: { type: 'string' },
  out: { type: 'string' },
  profile: { type: 'string' },
} as const;

function printerUrl(ctx: CommandContext): string {
  return optString(ctx, 'printer') ?? ctx.io.env.FINEKIOSK_PRINTER ?? DEFAULT_PRINTER_URL;
}

/** --profile ID|FILE, else FINEKIOSK_PRINTER_PROFILE, else (with a kiosk) its setting, else the default. */
function profileOf(ctx: CommandContext, kiosk?: Kiosk): Result<PrinterProfile> {
  const asked = optString(ctx, 'profile') ?? ctx.io.env.FINEKIOSK_PRINTER_PROFILE;
  return kiosk ? kioskProfile(kiosk, asked) : resolveProfile(asked);
}

async function withKiosk<T>(ctx: CommandContext, fn: (k: Kiosk) => Promise<Result<T>>): Promise<Result<T>> {
  const kiosk = openKiosk({ dataDir: ctx.dataDir });
  try {
    return await fn(kiosk);
  } finally {
    kiosk.close();
  }
}

function writeOut(file: string, bytes: Uint8Array): Result<{ file: string; bytes: number }> {
  const f = path.resolve(file);
  mkdirSync(path.dirname(f), { recursive: true });
  writeFileSync(f, bytes);
  return ok({ file: f, bytes: bytes.length });
}

function jobText(v: unknown): string {
  const j = v as {
    id?: string;
    state?: string;
    printer?: string;
    attempts?: number;
    file?: string;
    bytes?: number;
  };
  if (j.file) return `wrote ${j.bytes} bytes to ${j.file}`;
  return `job ${j.id}: ${j.state} on ${j.printer} (attempt ${j.attempts})`;
}

function documentCommand(kind: 'bill' | 'receipt'): Command {
  return {
    path: ['print', kind],
    usage: `print ${kind} BILL_NO [--printer URL | --out FILE.bin] [--profile ID]`,
    summary:
      kind === 'bill'
        ? 'Print a fine bill with its payment QR (a failed bill reprints with the same QR)'
        : 'Print the payment receipt of a paid bill',
    options: target,
    minPositionals: 1,
    text: jobText,
    run: (ctx) =>
      withKiosk<unknown>(ctx, async (kiosk) => {
        const billNo = ctx.positionals[0]!;
        const out = optString(ctx, 'out');
        const prof = profileOf(ctx, kiosk);
        if (!prof.ok) return prof;
        if (out) {
          const b = kiosk.bills.get(billNo);
          if (!b.ok) return b;
          if (kind === 'bill') {
            const bytes = encodeChecked(() => encodeBill(billDocument(b.value), prof.value));
            return bytes.ok ? writeOut(out, bytes.value) : bytes;
          }
          const d = receiptDocument(b.value);
          return d.ok ? writeOut(out, encodeReceipt(d.value, prof.value)) : d;
        }
        const p = createKioskPrinting(kiosk, { printerUrl: printerUrl(ctx), profile: prof.value });
        if (!p.ok) return p;
        return kind === 'bill' ? p.value.printBill(billNo) : p.value.printReceipt(billNo);
      }),
  };
}

export const commands: Command[] = [
  documentCommand('bill'),
  documentCommand('receipt'),
  {
    path: ['printer', 'profiles'],
    usage: 'printer profiles',
    summary:
      'List the shipped printer profiles (width, font, QR, cutter, status); use one with --profile ID or FILE',
    options: {},
    text: (v) =>
      (v as PrinterProfile[])
        .map(
          (p) =>
            `${p.id.padEnd(10)} ${p.paperMm} mm ${p.dots} dots/${p.columns} cols  font ${p.fontEncoding}  QR ${p.nativeQr ? 'native' : 'raster'}  ${p.cutter ? 'cutter' : 'tear'}  status ${p.status}\n           ${p.name}`,
        )
        .join('\n'),
    run: async () => ok(SHIPPED_PROFILE_IDS.map((id) => profiles[id])),
  },
  {
    path: ['print', 'test'],
    usage: 'print test [--printer URL | --out FILE.bin] [--profile ID]',
    summary: 'Print the printer test page (profile, ruler, Chinese text, styles, QR)',
    options: target,
    text: jobText,
    run: async (ctx) => {
      const prof = profileOf(ctx);
      if (!prof.ok) return prof;
      const out = optString(ctx, 'out');
      if (out) {
        const at = shanghaiDateTime(unixSeconds(systemClock));
        return writeOut(out, encodeTestPage({ profile: prof.value, at }));
      }
      return withKiosk(ctx, async (kiosk) => {
        const p = createKioskPrinting(kiosk, { printerUrl: printerUrl(ctx), profile: prof.value });
        return p.ok ? p.value.printTest() : p;
      });
    },
  },
  {
    path: ['printer', 'status'],
    usage: 'printer status --printer URL',
    summary: 'Ask a printer for its status (DLE EOT): ok, near-end, paper-end, cover-open, offline ...',
    options: { printer: { type: 'string' } },
    text: (v) => `printer ${(v as { url: string }).url}: ${(v as { state: string }).state}`,
    run: async (ctx) => {
      const url = printerUrl(ctx);
      // The status command needs no kiosk database: a printer is checked before a kiosk is set up.
      const { Printer } = await import('../../printer/driver.ts');
      const { parsePrinterUrl, transportFor } = await import('../../printer/transports/index.ts');
      const a = parsePrinterUrl(url);
      if (!a.ok) return a;
      const s = await new Printer(url, () => transportFor(a.value)).status();
      const r = statusResult(s);
      return r.ok ? ok({ url, ...s }) : r;
    },
  },
  {
    path: ['printer', 'jobs'],
    usage: 'printer jobs [--limit N]',
    summary: 'List recent print jobs with their state, attempts and error',
    options: { limit: { type: 'string' } },
    text: (v) =>
      (v as { id: string; kind: string; ref: string; state: string; attempts: number; error?: string }[])
        .map((j) => `${j.id}  ${j.kind} ${j.ref}  ${j.state} x${j.attempts}${j.error ? '  ' + j.error : ''}`)
        .join('\n') || 'no print jobs',
    run: (ctx) =>
      withKiosk(ctx, async (kiosk) => {
        const limit = z.coerce
          .number()
          .int()
          .min(1)
          .max(1000)
          .safeParse(optString(ctx, 'limit') ?? '50');
        if (!limit.success) return fail('MALFORMED', '--limit: 1 to 1000');
        const p = createKioskPrinting(kiosk, {});
        return p.ok ? ok(p.value.service.list(limit.data)) : p;
      }),
  },
  {
    path: ['printer', 'virtual'],
    usage: 'printer virtual [--port N] --out DIR [--control-port N] [--control-file FILE] [--profile ID]',
    summary: 'Run a virtual network printer that renders every page to PNG (status switchable over HTTP)',
    options: {
      port: { type: 'string' },
      out: { type: 'string' },
      'control-port': { type: 'string' },
      'control-file': { type: 'string' },
      profile: { type: 'string' },
      host: { type: 'string' },
    },
    run: async (ctx) => {
      const portS = z.coerce.number().int().min(0).max(65535);
      const port = portS.safeParse(optString(ctx, 'port') ?? '9100');
      const cport = portS.safeParse(optString(ctx, 'control-port') ?? '0');
      if (!port.success || !cport.success) return fail('MALFORMED', '--port and --control-port: 0 to 65535');
      const out = optString(ctx, 'out');
      if (!out) return fail('MALFORMED', '--out DIR is required');
      const prof = profileOf(ctx);
      if (!prof.ok) return prof;
      const controlFile = optString(ctx, 'control-file');
      const vp = await startVirtualPrinter({
        port: port.data,
        host: optString(ctx, 'host') ?? '127.0.0.1',
        outDir: path.resolve(out),
        dots: prof.value.dots,
        controlPort: cport.data,
        ...(controlFile ? { controlFile: path.resolve(controlFile) } : {}),
        saveBytes: true,
        // Takes jobs in time as the profile's printer does (printer/mechanism.ts, as the tests' fakes).
        mechanism: mechanismFor(prof.value),
      });
      ctx.io.stdout(
        `virtual printer at ${vp.url} (${prof.value.paperMm} mm), pages to ${path.resolve(out)}\n`,
      );
      ctx.io.stdout(
        `control: curl ${vp.controlUrl} -d '{"paperEnd":true}'  (paperEnd, coverOpen, offline, nearEnd, cutterError, silent, paperEndAfterBytes, dropAfterBytes)\n`,
      );
      await ctx.io.stopSignal;
      await vp.close();
      return ok({ url: vp.url, pages: vp.pages.length });
    },
  },
  {
    path: ['printer', 'render'],
    usage: 'printer render FILE.bin --out FILE.png [--profile ID]',
    summary: 'Render saved ESC/POS bytes to PNG as the virtual printer would print them',
    options: { out: { type: 'string' }, profile: { type: 'string' } },
    minPositionals: 1,
    run: async (ctx) => {
      const out = optString(ctx, 'out');
      if (!out) return fail('MALFORMED', '--out FILE.png is required');
      const prof = profileOf(ctx);
      if (!prof.ok) return prof;
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(readFileSync(ctx.positionals[0]!));
      } catch (e) {
        return fail('BAD_FILE', (e as Error).message);
      }
      const pages = interpretBytes(bytes, prof.value.dots);
      if (pages.length === 0) return fail('BAD_FILE', 'nothing printable in the file');
      const files: string[] = [];
      const base = path.resolve(out);
      pages.forEach((p, i) => {
        const f = i === 0 ? base : base.replace(/(\.png)?$/i, `-${i + 1}.png`);
        writeFileSync(f, bitmapToPng(p.bitmap));
        files.push(f);
      });
      return ok({ files, pages: pages.length, lines: pages.flatMap((p) => p.lines).length });
    },
  },
];
