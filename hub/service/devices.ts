// Devices: one-time enrollment codes, the device list, removal and enabling.
import { randomInt } from 'node:crypto';
import { z } from 'zod';
import { fail, ok, type Result } from '../../protocol/result.ts';
import type { HubQueryable } from '../db.ts';
import type { HubCtx } from './context.ts';
import type { HubConfig } from './config.ts';
import { deviceFromRow, type DeviceRow } from './rows.ts';
import type { Device } from './types.ts';

const DEFAULT_CODE_TTL_S = 24 * 3600;

const CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
function newCode(): string {
  let s = '';
  for (let i = 0; i < 12; i++) s += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
  return `${s.slice(0, 4)}-${s.slice(4, 8)}-${s.slice(8)}`;
}

export const deviceAddSchema = z.object({
  name: z.string().min(1).max(100),
  region: z.union([z.literal(''), z.string().regex(/^[0-9]{6}$/)]).default(''),
  ttlSeconds: z
    .number()
    .int()
    .positive()
    .max(30 * 86400)
    .optional(),
});

/** The devices part of the service (hub.devices). */
export type HubDevices = ReturnType<typeof createDevices>;

/** Builds hub.devices: add (an enrollment code), list, get, remove, setEnabled. */
export function createDevices(ctx: HubCtx, config: HubConfig) {
  const { db, nowS } = ctx;

  const devices = {
    /** Makes a one-time enrollment code for a device to be named `name`. */
    async add(
      input: z.input<typeof deviceAddSchema>,
    ): Promise<Result<{ code: string; name: string; region: string; expiresAt: number }>> {
      const p = deviceAddSchema.safeParse(input);
      if (!p.success) return fail('MALFORMED', p.error.issues.map((i) => i.message).join('; '));
      // A device without a region would get no fines at all, silently: take the hub's default or refuse.
      if (p.data.region === '') {
        const def = (await config.get()).defaultRegion;
        if (typeof def !== 'string' || !/^[0-9]{6}$/.test(def)) {
          return fail(
            'MALFORMED',
            "give the device's region (6-digit code), or set the hub's default: hub config set defaultRegion 110000",
          );
        }
        p.data.region = def;
      }
      const code = newCode();
      const expiresAt = nowS() + (p.data.ttlSeconds ?? DEFAULT_CODE_TTL_S);
      await db.query(
        'INSERT INTO enroll_codes (code, name, region, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)',
        [code, p.data.name, p.data.region, nowS(), expiresAt],
      );
      return ok({ code, name: p.data.name, region: p.data.region, expiresAt });
    },
    async list(): Promise<Device[]> {
      const r = await db.query<DeviceRow>('SELECT * FROM devices ORDER BY created_at, id');
      return r.rows.map(deviceFromRow);
    },
    async get(id: string, q: HubQueryable = db): Promise<Device | undefined> {
      const r = await q.query<DeviceRow>('SELECT * FROM devices WHERE id = $1', [id]);
      return r.rows[0] ? deviceFromRow(r.rows[0]) : undefined;
    },
    /**
     * Removes a device the hub holds no event of (enrolled, but its answer never reached the kiosk, or
     * never used). A device with events stays: disable it instead, its history is the record.
     */
    async remove(id: string): Promise<Result<Device>> {
      return db.transaction(async (tx) => {
        const d = await tx.query<DeviceRow>('SELECT * FROM devices WHERE id = $1 FOR UPDATE', [id]);
        const row = d.rows[0];
        if (!row) return fail<Device>('UNKNOWN_DEVICE', id);
        const held = await tx.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM events WHERE device_id = $1',
          [id],
        );
        const n = Number(held.rows[0]?.n ?? 0);
        if (n > 0)
          return fail<Device>('DEVICE_HAS_EVENTS', `device ${id} has ${n} event(s) at the hub`, {
            events: n,
          });
        await tx.query('DELETE FROM nonces WHERE device_id = $1', [id]);
        await tx.query('DELETE FROM devices WHERE id = $1', [id]);
        return ok(deviceFromRow(row));
      });
    },
    async setEnabled(id: string, enabled: boolean): Promise<Result<Device>> {
      const r = await db.query<DeviceRow>('UPDATE devices SET enabled = $2 WHERE id = $1 RETURNING *', [
        id,
        enabled,
      ]);
      return r.rows[0] ? ok(deviceFromRow(r.rows[0])) : fail('UNKNOWN_DEVICE', id);
    },
  };

  return devices;
}
