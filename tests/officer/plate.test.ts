import { describe, expect, it } from 'vitest';
import { PROVINCES, parsePlate } from '../../protocol/plate.ts';

describe('plate validation', () => {
  it('knows all 31 province abbreviations', () => {
    expect([...PROVINCES]).toHaveLength(31);
    expect(new Set(PROVINCES).size).toBe(31);
    for (const p of PROVINCES) expect(parsePlate(`${p}A12345`).ok).toBe(true);
  });

  it.each([
    ['京A12345', 'ordinary'],
    ['粤B·8K3L2', 'ordinary'],
    ['沪a 12b45', 'ordinary'],
    ['京AD12345', 'new-energy-small'],
    ['粤BFA1234', 'new-energy-small'],
    ['京AA12345', 'new-energy-small'],
    ['粤B12345D', 'new-energy-large'],
    ['苏E12345F', 'new-energy-large'],
    ['京A1234警', 'police'],
    ['浙A1234学', 'coach'],
    ['鲁B1234挂', 'trailer'],
    ['粤Z1234港', 'hk-macau'],
    ['粤Z12A4澳', 'hk-macau'],
    ['沪A1234领', 'consulate'],
    ['使014578', 'embassy'],
  ])('accepts %s as %s', (plate, kind) => {
    const r = parsePlate(plate);
    expect(r.ok && r.value.kind).toBe(kind);
  });

  it('normalizes separators and case', () => {
    const r = parsePlate(' 京a·12345 ');
    expect(r.ok && r.value.plate).toBe('京A12345');
  });

  it('tells pure-electric from other new-energy plates', () => {
    const d = parsePlate('京AD12345');
    const f = parsePlate('京AF12345');
    const big = parsePlate('京A12345F');
    expect(d.ok && d.value.energy).toBe('electric');
    expect(f.ok && f.value.energy).toBe('hybrid');
    expect(big.ok && big.value.energy).toBe('hybrid');
  });

  it.each([
    ['', 'empty'],
    ['A12345', 'province'],
    ['台A12345', 'province'],
    ['京I12345', 'I and O'],
    ['京A1234O', 'I and O'],
    ['京A1234', 'too short'],
    ['京A123456', 'new-energy'],
    ['京AX12345', 'new-energy'], // X is not a new-energy letter
    ['京AD1234A', 'new-energy'], // small new-energy ends in 4 digits
    ['京A1234D5', 'new-energy'],
    ['京A12345X', 'new-energy'],
    ['京Z1234港', 'Hong Kong'],
    ['京A12345警', 'match'],
    ['京AB234领', 'match'],
    ['使01457', 'short'],
  ])('refuses %s with a reason (%s)', (plate, why) => {
    const r = parsePlate(plate);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('BAD_PLATE');
      expect(r.error.message.toLowerCase()).toContain(why.toLowerCase());
    }
  });
});
