import { readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { deviceIdFromPublicKey, loadOrCreateIdentity } from '../../main/identity/identity.ts';
import { openKiosk } from '../../main/kiosk.ts';
import { DEVICE_ID_RE } from '../../protocol/ids.ts';
import { publicKeyFromRaw, signText, verifyText } from '../../protocol/signing.ts';
import { tempDir } from './helpers.ts';

describe('device identity', () => {
  it('makes an Ed25519 key at first start, mode 0600, and keeps it', () => {
    const dir = tempDir();
    try {
      const a = loadOrCreateIdentity(dir);
      const file = path.join(dir, 'device.key');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(readFileSync(file, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
      expect(a.deviceId).toMatch(/^[a-z2-7]{12}$/);
      expect(a.deviceId).toMatch(DEVICE_ID_RE);
      expect(a.deviceId).toBe(deviceIdFromPublicKey(a.publicKeyRaw));
      const b = loadOrCreateIdentity(dir);
      expect(b.deviceId).toBe(a.deviceId);
      expect(b.publicKeyRaw).toBe(a.publicKeyRaw);
      const pub = publicKeyFromRaw(a.publicKeyRaw)!;
      expect(verifyText(pub, 'hello', signText(b.privateKey, 'hello'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('tightens a loosened key file back to 0600', () => {
    const dir = tempDir();
    try {
      loadOrCreateIdentity(dir);
      const file = path.join(dir, 'device.key');
      chmodSync(file, 0o644);
      loadOrCreateIdentity(dir);
      expect(statSync(file).mode & 0o777).toBe(0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a key file that belongs to another device than the database', () => {
    const dir = tempDir();
    try {
      openKiosk({ dataDir: dir }).close();
      const other = tempDir();
      loadOrCreateIdentity(other);
      writeFileSync(path.join(dir, 'device.key'), readFileSync(path.join(other, 'device.key')), {
        mode: 0o600,
      });
      rmSync(other, { recursive: true, force: true });
      expect(() => openKiosk({ dataDir: dir })).toThrow(/belongs to device/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('two openers of one data folder', () => {
  it('share one identity and one database (a CLI beside the running kiosk)', () => {
    const dir = tempDir();
    try {
      const a = openKiosk({ dataDir: dir });
      const b = openKiosk({ dataDir: dir });
      expect(b.identity.deviceId).toBe(a.identity.deviceId);
      a.trust.addHubKey('k1', b.identity.publicKeyRaw);
      expect(b.trust.hubKey('k1')).toBeDefined();
      a.close();
      b.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
