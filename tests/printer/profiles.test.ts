// Every shipped profile: the bill's bytes, decoded with that printer's font model, hold no code the font
// lacks and every line fits the print width; its QR (native or raster) decodes with zbarimg — an
// independent decoder — to exactly the bill URL; fine text with control bytes prints as plain text and
// never as a second QR.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeBill } from '../../printer/documents/index.ts';
import { fontHas } from '../../printer/fontmodel.ts';
import { profiles, SHIPPED_PROFILE_IDS, shippedProfileFiles } from '../../printer/profiles.ts';
import { interpretBytes } from '../../printer/virtual/interpreter.ts';
import { bitmapToPng } from '../../printer/virtual/png.ts';
import { textColumns } from '../../printer/width.ts';
import { signedBill } from './fixtures.ts';

function zbar(png: Uint8Array): string[] {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'zbar-'));
  try {
    const f = path.join(dir, 'page.png');
    writeFileSync(f, png);
    const out = execFileSync('zbarimg', ['--quiet', '--raw', '-Sdisable', '-Sqrcode.enable', f], {
      encoding: 'utf8',
    });
    return out.split('\n').filter((l) => l.length > 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('shipped printer profiles', () => {
  it('every file in printer/profiles is listed and checks', () => {
    expect(shippedProfileFiles()).toEqual([...SHIPPED_PROFILE_IDS].map((id) => `${id}.json`).sort());
  });

  // Place and description as hostile as they come: GS ( k storing another URL and printing it, GS !,
  // ESC @, characters outside GBK (㮾, half-width ¥, •, ½, ñ) and emoji.
  const evil = '\x1d(k\x0b\x001P0https://evil.example\x1d(k\x03\x001Q0';
  const { doc } = signedBill({
    place: `长沙县㮾梨街道${evil}1号 ¥•½ñ🚗`,
    violation: `机动车违反禁令标志指示的\x1d!\x33超速`,
  });

  for (const id of SHIPPED_PROFILE_IDS) {
    it(`${id}: fits the font and the width; the QR scans with zbarimg to the bill URL; no second QR`, () => {
      const p = profiles[id];
      const bytes = encodeBill(doc, p);
      const pages = interpretBytes(bytes, p.dots);
      expect(pages).toHaveLength(1);
      const page = pages[0]!;
      // What went out in Kanji mode is only what this font has.
      for (const seg of page.kanjiSegments)
        for (const ch of seg) expect(fontHas(ch, p.fontEncoding), `${id}: ${ch}`).toBe(true);
      // Every text line fits: the layout counted what was sent.
      for (const l of page.lines) expect(textColumns(l) * 12, `${id}: ${l}`).toBeLessThanOrEqual(p.dots);
      expect(page.unknown).toEqual([]);
      expect(page.qrData.length).toBe(p.nativeQr ? 1 : 0);
      if (p.nativeQr) expect(page.qrData).toEqual([doc.url]);
      expect(zbar(bitmapToPng(page.bitmap))).toEqual([doc.url]);
      // The printable rest of the hostile text is still there, as text.
      if (p.fontEncoding !== 'none') expect(page.lines.join('')).toContain('(k');
    });
  }

  it('the compact raster QR of an 80 mm bill is at most 6 KB', () => {
    const raster = { ...profiles['cn80'], nativeQr: false };
    const native = encodeBill(doc, profiles['cn80']).length;
    expect(encodeBill(doc, raster).length - native).toBeLessThanOrEqual(6144);
  });
});
