// Request authentication: the signed headers of a device's request, and its nonce recorded once.
import { DEVICE_ID_RE } from '../../protocol/ids.ts';
import { fail, ok, type Result } from '../../protocol/result.ts';
import { publicKeyFromRaw } from '../../protocol/signing.ts';
import {
  HEADER_DEVICE,
  HEADER_NONCE,
  HEADER_SIGNATURE,
  HEADER_TIME,
  MAX_CLOCK_SKEW_SECONDS,
  nonceSchema,
  verifyRequestSignature,
} from '../../protocol/sync.ts';
import { recordSecurity } from '../trust/security.ts';
import type { HubQueryable } from '../db.ts';
import type { HubCtx } from './context.ts';
import type { HubDevices } from './devices.ts';
import type { Device } from './types.ts';

/** Builds hub.authenticate and the nonce recorder push shares. */
export function createAuth(ctx: HubCtx, devices: HubDevices) {
  const { db, nowS } = ctx;

  interface AuthInput {
    method: string;
    /** Path with query string, as the client signed it. */
    path: string;
    headers: Record<string, string | string[] | undefined>;
    body: string | Uint8Array;
    /** Leave the nonce to the caller's transaction (push records it with the events: one round trip less). */
    deferNonce?: boolean;
  }

  /** Checks the signed headers; records the nonce so the same request is never taken twice. */
  async function authenticate(input: AuthInput): Promise<Result<Device & { nonce: string }>> {
    const h = (n: string): string | undefined => {
      const v = input.headers[n];
      return typeof v === 'string' ? v : undefined;
    };
    const deviceId = h(HEADER_DEVICE);
    const timeText = h(HEADER_TIME);
    const nonce = h(HEADER_NONCE);
    const sig = h(HEADER_SIGNATURE);
    if (!deviceId || !timeText || !nonce || !sig) return fail('UNAUTHORIZED', 'request is not signed');
    if (
      !DEVICE_ID_RE.test(deviceId) ||
      !/^[0-9]{1,12}$/.test(timeText) ||
      !nonceSchema.safeParse(nonce).success
    ) {
      return fail('UNAUTHORIZED', 'signature headers are malformed');
    }
    const time = Number(timeText);
    const now = nowS();
    if (Math.abs(now - time) > MAX_CLOCK_SKEW_SECONDS) {
      return fail(
        'CLOCK_SKEW',
        `device ${time - now > 0 ? 'ahead' : 'behind'} by ${Math.abs(time - now)} s`,
        {
          hubTime: now,
          deviceTime: time,
          offsetSeconds: time - now,
        },
      );
    }
    const dev = await devices.get(deviceId);
    if (!dev) return fail('UNKNOWN_DEVICE', deviceId);
    const key = publicKeyFromRaw(dev.publicKey);
    const signed =
      !!key && verifyRequestSignature(key, input.method, input.path, time, nonce, input.body, sig);
    if (!dev.enabled || !signed) {
      // A disabled device's key still in use, or a forged request naming an enrolled device: the operator
      // must see it.
      const code = !signed ? 'BAD_SIGNATURE' : 'DEVICE_DISABLED';
      await recordSecurity(db, [
        {
          at: now,
          deviceId,
          source: 'auth',
          code,
          reason: `${input.method} ${input.path.split('?')[0]}`,
          eventSeq: null,
          eventType: null,
          subject: null,
        },
      ]);
      return !signed ? fail('BAD_SIGNATURE') : fail('DEVICE_DISABLED', deviceId);
    }
    if (!input.deferNonce && !(await recordNonce(db, deviceId, nonce))) return fail('REPLAYED');
    // Nonces older than twice the clock window can never be replayed successfully: forget them now and then.
    if (Math.random() < 0.01) {
      await db.query('DELETE FROM nonces WHERE at < $1', [now - 2 * MAX_CLOCK_SKEW_SECONDS - 60]);
    }
    return ok({ ...dev, nonce });
  }

  /** Records a request's nonce; false when it was seen before (a replay). */
  async function recordNonce(q: HubQueryable, deviceId: string, nonce: string): Promise<boolean> {
    const ins = await q.query(
      'INSERT INTO nonces (device_id, nonce, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
      [deviceId, nonce, nowS()],
    );
    return ins.rowCount > 0;
  }

  return { authenticate, recordNonce };
}
