// Byte-level checks of every command against the Epson ESC/POS reference values.
import { describe, expect, it } from 'vitest';
import * as cmd from '../../printer/commands.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('ESC/POS commands', () => {
  it('ESC @ initialize = 1B 40', () => expect(hex(cmd.init())).toBe('1b40'));

  it('ESC a n justification: 1B 61 00/01/02', () => {
    expect(hex(cmd.align('left'))).toBe('1b6100');
    expect(hex(cmd.align('center'))).toBe('1b6101');
    expect(hex(cmd.align('right'))).toBe('1b6102');
  });

  it('ESC E n emphasized: 1B 45 01 / 1B 45 00', () => {
    expect(hex(cmd.bold(true))).toBe('1b4501');
    expect(hex(cmd.bold(false))).toBe('1b4500');
  });

  it('GS ! n character size: width-1 in the high nibble, height-1 in the low', () => {
    expect(hex(cmd.size(1, 1))).toBe('1d2100');
    expect(hex(cmd.size(2, 2))).toBe('1d2111');
    expect(hex(cmd.size(2, 1))).toBe('1d2110');
    expect(hex(cmd.size(1, 2))).toBe('1d2101');
    expect(hex(cmd.size(8, 8))).toBe('1d2177');
    expect(() => cmd.size(9, 1)).toThrow(RangeError);
  });

  it('FS & = 1C 26 (Kanji mode on), FS . = 1C 2E (off)', () => {
    expect(hex(cmd.kanjiOn())).toBe('1c26');
    expect(hex(cmd.kanjiOff())).toBe('1c2e');
  });

  it('ESC d n print and feed n lines = 1B 64 n', () => {
    expect(hex(cmd.feedLines(3))).toBe('1b6403');
    expect(hex(cmd.feedLines(300))).toBe('1b64ff');
  });

  it('ESC B n t beep = 1B 42 n t', () => expect(hex(cmd.beep(2, 3))).toBe('1b420203'));

  it('GS V cut: function A 1D 56 00/01, function B 1D 56 41/42 n', () => {
    expect(hex(cmd.cut('full'))).toBe('1d5600');
    expect(hex(cmd.cut('partial'))).toBe('1d5601');
    expect(hex(cmd.cut('full', 10))).toBe('1d56410a');
    expect(hex(cmd.cut('partial', 0))).toBe('1d564200');
  });

  it('DLE EOT n real-time status = 10 04 n', () => {
    expect(hex(cmd.statusRequest(1))).toBe('100401');
    expect(hex(cmd.statusRequest(2))).toBe('100402');
    expect(hex(cmd.statusRequest(3))).toBe('100403');
    expect(hex(cmd.statusRequest(4))).toBe('100404');
  });

  it('GS ( k function 165: select model 2 = 1D 28 6B 04 00 31 41 32 00', () => {
    expect(hex(cmd.qrModel(2))).toBe('1d286b0400314132' + '00');
    expect(hex(cmd.qrModel(1))).toBe('1d286b040031413100');
  });

  it('GS ( k function 167: module size n = 1D 28 6B 03 00 31 43 n', () => {
    expect(hex(cmd.qrModuleSize(6))).toBe('1d286b0300314306');
    expect(() => cmd.qrModuleSize(17)).toThrow(RangeError);
  });

  it('GS ( k function 169: error level M = 1D 28 6B 03 00 31 45 31 (L 30, Q 32, H 33)', () => {
    expect(hex(cmd.qrErrorLevel('M'))).toBe('1d286b0300314531');
    expect(hex(cmd.qrErrorLevel('L'))).toBe('1d286b0300314530');
    expect(hex(cmd.qrErrorLevel('H'))).toBe('1d286b0300314533');
  });

  it('GS ( k function 180: store = 1D 28 6B pL pH 31 50 30 d1..dk with pL+pH*256 = k+3', () => {
    const data = new TextEncoder().encode('ABC');
    expect(hex(cmd.qrStore(data))).toBe('1d286b0600315030414243');
    const big = new Uint8Array(300).fill(0x41);
    const b = cmd.qrStore(big);
    expect(b[3]! + b[4]! * 256).toBe(303);
    expect(hex(b.subarray(0, 8))).toBe('1d286b2f01315030');
  });

  it('GS ( k function 181: print = 1D 28 6B 03 00 31 51 30', () => {
    expect(hex(cmd.qrPrint())).toBe('1d286b0300315130');
  });

  it('GS v 0 raster = 1D 76 30 m xL xH yL yH data', () => {
    const data = Uint8Array.from([0xff, 0x00, 0x81, 0x7e]);
    expect(hex(cmd.rasterImage(2, 2, data))).toBe('1d763000020002' + '00' + 'ff00817e');
    const wide = cmd.rasterImage(72, 300, new Uint8Array(72 * 300));
    expect(hex(wide.subarray(0, 8))).toBe('1d76300048002c01');
    expect(() => cmd.rasterImage(2, 2, new Uint8Array(3))).toThrow(RangeError);
  });
});
