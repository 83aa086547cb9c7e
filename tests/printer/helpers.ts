// A kiosk fixture with a virtual printer next to it.
import path from 'node:path';
import {
  createKioskPrinting,
  type KioskPrinting,
  type KioskPrintingOptions,
} from '../../main/printing/printing.ts';
import { startVirtualPrinter, type VirtualPrinter } from '../../printer/virtual/server.ts';
import { fixture, type Fixture } from '../kiosk/helpers.ts';

export const RED_LIGHT = '3101012026003040';
export const PARKING = '3101012026005943';

export interface PrintFixture {
  f: Fixture;
  vp: VirtualPrinter;
  printing: KioskPrinting;
  cleanup(): Promise<void>;
}

export async function printFixture(
  o: Omit<KioskPrintingOptions, 'printerUrl'> & { dots?: number } = {},
): Promise<PrintFixture> {
  const f = fixture();
  const vp = await startVirtualPrinter({ outDir: path.join(f.dir, 'printed'), dots: o.dots ?? 576 });
  const r = createKioskPrinting(f.kiosk, { ...o, printerUrl: vp.url });
  if (!r.ok) throw new Error(r.error.message);
  return {
    f,
    vp,
    printing: r.value,
    cleanup: async () => {
      await vp.close();
      f.cleanup();
    },
  };
}
