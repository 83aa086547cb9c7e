// The packaging config says what the issue asks: AppImage and deb for x64 and arm64, native modules
// rebuilt for Electron, asar with integrity checks and the hardening fuses; and a unit that boots the
// machine straight into the kiosk. (js-yaml comes with electron-builder, which reads this file the same way.)
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const yaml = createRequire(import.meta.url)('js-yaml') as { load(text: string): unknown };

describe('packaging', () => {
  const cfg = yaml.load(readFileSync(path.join(ROOT, 'electron-builder.yml'), 'utf8')) as {
    asar: boolean;
    npmRebuild: boolean;
    asarUnpack: string[];
    electronFuses: Record<string, boolean>;
    linux: { target: { target: string; arch: string[] }[] };
    deb: { fpm: string[] };
  };

  it("passes electron-builder's own configuration schema", async () => {
    const req = createRequire(import.meta.url);
    const { validateConfiguration } = req('app-builder-lib/out/util/config/config.js') as {
      validateConfiguration(c: unknown, log: unknown): Promise<void>;
    };
    const { DebugLogger } = req('builder-util') as { DebugLogger: new (enabled: boolean) => unknown };
    await expect(validateConfiguration(cfg, new DebugLogger(false))).resolves.toBeUndefined();
  });

  it('builds AppImage and deb for x64 and arm64, rebuilding better-sqlite3 for Electron', () => {
    expect(cfg.linux.target.map((t) => [t.target, [...t.arch].sort()])).toEqual([
      ['AppImage', ['arm64', 'x64']],
      ['deb', ['arm64', 'x64']],
    ]);
    expect(cfg.npmRebuild).toBe(true);
    expect(cfg.asarUnpack).toContain('node_modules/better-sqlite3/**');
  });

  it('turns on asar integrity and the hardening fuses', () => {
    expect(cfg.asar).toBe(true);
    expect(cfg.electronFuses).toMatchObject({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      enableCookieEncryption: true,
    });
  });

  it('ships a systemd unit that starts the kiosk on boot and restarts it', () => {
    const unit = readFileSync(path.join(ROOT, 'packaging', 'finekiosk.service'), 'utf8');
    expect(unit).toMatch(/^ExecStart=.*finekiosk --data \/var\/lib\/finekiosk$/m);
    expect(unit).toMatch(/^Restart=always$/m);
    expect(unit).toMatch(/^WantedBy=graphical.target$/m);
    expect(cfg.deb.fpm.some((f) => f.startsWith('packaging/finekiosk.service='))).toBe(true);
  });

  it('starts cage without -s: no switching from the kiosk to a text console', () => {
    const unit = readFileSync(path.join(ROOT, 'packaging', 'finekiosk.service'), 'utf8');
    const exec = /^ExecStart=(.*)$/m.exec(unit)?.[1] ?? '';
    const [bin, ...args] = exec.split(/\s+/);
    expect(bin).toBe('/usr/bin/cage');
    // cage's own flags come before `--`; what follows is the kiosk's command line.
    const cageFlags = args.slice(0, args.indexOf('--'));
    expect(args).toContain('--');
    expect(cageFlags.filter((f) => /^-[a-z]*s/.test(f))).toEqual([]);
    expect(cageFlags.every((f) => f.startsWith('-'))).toBe(true);
  });

  it('points the app entry at the shell loader', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { main: string };
    expect(pkg.main).toBe('main/electron/boot.mjs');
    expect(readFileSync(path.join(ROOT, pkg.main), 'utf8')).toContain("import('./main.ts')");
  });
});
