// Enrollment: a kiosk trades a one-time code and its public key for a device id.
import { randomBytes } from 'node:crypto';
import { DEVICE_ID_RE } from '../../protocol/ids.ts';
import { fail, failure, FailureError, ok, type Result } from '../../protocol/result.ts';
import { publicKeyFromRaw } from '../../protocol/signing.ts';
import type { EnrollRequest, EnrollResponse } from '../../protocol/sync.ts';
import type { HubQueryable } from '../db.ts';
import type { HubCtx } from './context.ts';
import type { HubConfig } from './config.ts';
import type { HubKeys } from './keys.ts';
import type { DeviceRow } from './rows.ts';

/** Builds hub.enroll. */
export function createEnroll(ctx: HubCtx, keys: HubKeys, config: HubConfig) {
  const { db, nowS } = ctx;

  /**
   * A code already used by this very key (the kiosk never heard the answer and asks again): the same
   * answer, not CODE_INVALID. Any other key with a used code is refused.
   */
  async function sameEnrollment(
    tx: HubQueryable,
    req: EnrollRequest,
    code: { used_at: number | null; device_id: string | null },
  ): Promise<{ id: string; name: string; region: string } | undefined> {
    if (code.used_at === null || !code.device_id) return undefined;
    const d = await tx.query<DeviceRow>('SELECT * FROM devices WHERE id = $1', [code.device_id]);
    const dev = d.rows[0];
    if (!dev || dev.public_key !== req.publicKey) return undefined;
    if (req.deviceId && req.deviceId !== dev.id) return undefined;
    return { id: dev.id, name: dev.name, region: dev.region };
  }

  async function enroll(req: EnrollRequest): Promise<Result<EnrollResponse>> {
    const key = publicKeyFromRaw(req.publicKey);
    if (!key) return fail('MALFORMED', 'not an Ed25519 public key');
    const hubKeys = await keys.list();
    try {
      const dev = await db.transaction(async (tx) => {
        const c = await tx.query<{
          name: string;
          region: string;
          expires_at: number;
          used_at: number | null;
          device_id: string | null;
        }>(
          'SELECT name, region, expires_at, used_at, device_id FROM enroll_codes WHERE code = $1 FOR UPDATE',
          [req.code],
        );
        const code = c.rows[0];
        const again = code ? await sameEnrollment(tx, req, code) : undefined;
        if (again) return again;
        if (!code || code.used_at !== null || Number(code.expires_at) < nowS()) {
          throw new FailureError(failure('CODE_INVALID'));
        }
        let id = req.deviceId;
        if (id) {
          const taken = await tx.query<{ public_key: string }>(
            'SELECT public_key FROM devices WHERE id = $1',
            [id],
          );
          const held = taken.rows[0];
          if (held && held.public_key !== req.publicKey)
            throw new FailureError(failure('UNAUTHORIZED', `device id ${id} is already enrolled`));
          if (held) {
            // The same key with a fresh code: the operator enrolls it again (name and region of the new code).
            await tx.query('UPDATE devices SET name = $2, region = $3 WHERE id = $1', [
              id,
              code.name,
              code.region,
            ]);
            await tx.query('UPDATE enroll_codes SET used_at = $2, device_id = $3 WHERE code = $1', [
              req.code,
              nowS(),
              id,
            ]);
            return { id, name: code.name, region: code.region };
          }
        } else {
          id = 'd' + randomBytes(8).toString('hex');
        }
        if (!DEVICE_ID_RE.test(id)) throw new FailureError(failure('MALFORMED', 'device id'));
        await tx.query(
          'INSERT INTO devices (id, name, region, public_key, created_at) VALUES ($1, $2, $3, $4, $5)',
          [id, code.name, code.region, req.publicKey, nowS()],
        );
        await tx.query('UPDATE enroll_codes SET used_at = $2, device_id = $3 WHERE code = $1', [
          req.code,
          nowS(),
          id,
        ]);
        return { id, name: code.name, region: code.region };
      });
      return ok({
        deviceId: dev.id,
        name: dev.name,
        region: dev.region,
        hubKeys,
        config: await config.get(),
        hubTime: nowS(),
      });
    } catch (e) {
      if (e instanceof FailureError) return { ok: false, error: e.failure };
      throw e;
    }
  }

  return enroll;
}
