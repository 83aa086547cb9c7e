import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadSampleCodeTable, parseCodeTable } from '../../main/officer/codes.ts';
import { openOfficerMode } from '../../main/officer/officer.ts';
import { openDevice, removeDir, type Device } from './helpers.ts';

const table = (version: string, fixedFen = 30000) => ({
  sample: false,
  version,
  codes: [{ code: '1625', description: '闯红灯', descriptionEn: 'Red light', fine: { fixedFen }, points: 6 }],
});

let devices: Device[] = [];
afterEach(() => {
  for (const d of devices) {
    d.close();
    removeDir(d.dir);
  }
  devices = [];
});

describe('violation code table', () => {
  it('the shipped table is marked as a sample and is valid', () => {
    const t = loadSampleCodeTable();
    expect(t.sample).toBe(true);
    expect(t.source).toBe('sample');
    expect(t.data.note).toMatch(/SAMPLE/);
    expect(t.data.codes.length).toBeGreaterThan(5);
  });

  it('finds by code prefix and by words in either language', () => {
    const t = loadSampleCodeTable();
    expect(t.search('16').map((c) => c.code)).toContain('1625');
    expect(t.search('头盔').map((c) => c.code)).toEqual(expect.arrayContaining(['1240', '2003']));
    expect(t.search('red light').map((c) => c.code)).toContain('1625');
    expect(t.get(' 1625 ')?.points).toBe(6);
  });

  it('refuses a bad table with a reason', () => {
    expect(parseCodeTable({ sample: false, version: 'x', codes: [] }, 'file').ok).toBe(false);
    const dup = { ...table('d'), codes: [...table('d').codes, ...table('d').codes] };
    const r = parseCodeTable(dup, 'file');
    expect(!r.ok && r.error.message).toContain('unique');
    const range = parseCodeTable(
      { ...table('r'), codes: [{ ...table('r').codes[0], fine: { minFen: 500, maxFen: 100 } }] },
      'file',
    );
    expect(!range.ok && range.error.code).toBe('BAD_FILE');
  });

  it('in force: run file over imported file over hub config over sample', () => {
    const d = openDevice();
    devices.push(d);
    const mode = openOfficerMode(d.kiosk);
    if (!mode.ok) throw new Error();
    const o = mode.value;
    expect(o.codes().source).toBe('sample');
    // The hub's config, as the sync engine keeps it.
    d.kiosk.db
      .prepare('INSERT INTO sync_state (id, hub_config) VALUES (1, ?)')
      .run(JSON.stringify({ violationCodes: table('hub-1') }));
    expect(o.codes()).toMatchObject({ source: 'hub', data: { version: 'hub-1' } });
    // An invalid table from the hub leaves the one in force.
    d.kiosk.db
      .prepare('UPDATE sync_state SET hub_config = ?')
      .run(JSON.stringify({ violationCodes: { bad: 1 } }));
    expect(o.codes().data.version).toBe('hub-1');
    expect(o.importCodes(table('file-1')).ok).toBe(true);
    expect(o.codes()).toMatchObject({ source: 'file', data: { version: 'file-1' } });
    const file = path.join(d.dir, 'codes.json');
    writeFileSync(file, JSON.stringify(table('run-1', 10000)));
    const run = openOfficerMode(d.kiosk, { codesFile: file });
    expect(run.ok && run.value.codes().data.version).toBe('run-1');
    o.clearImportedCodes();
    expect(o.codes().data.version).toBe('hub-1');
    // The table in force decides the fine.
    const t = o.tickets;
    o.enableStandalone('310100');
    const r = t.issue({ plate: '沪A12345', code: '1625', place: 'x', officerId: '1' });
    expect(r.ok && r.value.fine.fineFen).toBe(30000);
  });
});
