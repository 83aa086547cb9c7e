import { describe, expect, it } from 'vitest';
import { encodeNotice, type NoticeDocument } from '../../printer/documents/notice.ts';
import { profiles } from '../../printer/profiles.ts';
import { decodeQrFromPng } from '../../printer/qr-decode.ts';
import { interpretBytes } from '../../printer/virtual/interpreter.ts';
import { bitmapToPng } from '../../printer/virtual/png.ts';

const doc: NoticeDocument = {
  decisionNo: '310100202690000001',
  standalone: false,
  plate: '沪A12345',
  vehicleIdLast6: '4B5C6D',
  partyName: '张三',
  licenceNo: '31010419800101123X',
  vehicleKind: 'small-car',
  violationCode: '1625',
  violation: '驾驶机动车违反道路交通信号灯通行',
  violationEn: 'Driving through a red traffic light',
  place: '人民广场 西藏中路口',
  occurredAt: '2026-05-01T10:00:00+08:00',
  decidedOn: '2026-05-01',
  fineFen: 20000,
  points: 6,
  officerId: '031234',
  billNo: 'ABCDEF123456-1',
  url:
    'http://127.0.0.1:8080/p/b1.ABCDEF123456-1.310100202690000001.20000.1777600800.1777615200.abcdef123456.' +
    'x'.repeat(86),
  expiresAt: 1777615200,
  deviceId: 'abcdef123456',
};

describe('penalty notice', () => {
  it.each(['generic-58', 'epson-80'] as const)(
    'prints the decision, the 15-day rule and a scannable QR (%s)',
    (id) => {
      const pages = interpretBytes(encodeNotice(doc, profiles[id]), profiles[id].dots);
      expect(pages).toHaveLength(1);
      const page = pages[0]!;
      expect(decodeQrFromPng(bitmapToPng(page.bitmap))).toBe(doc.url);
      if (profiles[id].fontEncoding !== 'none') {
        const all = page.lines.join('\n');
        expect(all).toContain('公安交通管理简易程序处罚决定书');
        expect(all).toContain(doc.decisionNo);
        expect(all).toContain('2026-05-16'); // decidedOn + 15
        expect(all).toContain('3%');
        expect(all).toContain('￥200.00');
        // The driver's own document: full plate, vehicle id's last 6, name and licence number.
        expect(all).toContain('沪A12345');
        expect(all).toContain('4B5C6D');
        expect(all).toContain('张三');
        expect(all).toContain('31010419800101123X');
        expect(all).not.toContain('单机');
      }
    },
  );

  it('prints for a pedestrian too, with no vehicle lines', () => {
    const { vehicleIdLast6: _v, licenceNo: _l, ...rest } = doc;
    const p = interpretBytes(
      encodeNotice({ ...rest, plate: '行人', vehicleKind: 'pedestrian' }, profiles['generic-58']),
      384,
    )[0]!;
    expect(decodeQrFromPng(bitmapToPng(p.bitmap))).toBe(doc.url);
    const all = p.lines.join('\n');
    expect(all).toContain('行人');
    expect(all).not.toContain('VIN');
    expect(all).not.toContain('Licence');
  });

  it('says so when the number is a stand-alone one', () => {
    const p = interpretBytes(encodeNotice({ ...doc, standalone: true }, profiles['generic-58']), 384)[0]!;
    expect(p.lines.join('\n')).toContain('Stand-alone');
  });
});
