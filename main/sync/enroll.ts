// Enrollment: a kiosk trades a one-time code for its place at a hub; the hub's URL, keys and config are
// stored in one transaction.
import type { EnrollResponse } from '../../protocol/sync.ts';
import { enrollResponseSchema, SYNC_PATHS, wireFailureSchema } from '../../protocol/sync.ts';
import { fail, FailureError, ok, type Result } from '../../protocol/result.ts';
import type { Kiosk } from '../kiosk.ts';
import { defaultTransport, type Transport } from './client.ts';
import { ensureState, isCode } from './state.ts';

/** True for addresses that never leave this machine: localhost, 127.0.0.0/8, ::1. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$/.test(h);
}

/**
 * Enrolls this kiosk with a hub using a one-time code: stores the hub, trusts its keys, keeps its config.
 * Errors: MALFORMED (not an http(s) URL), INSECURE_HUB_URL (plain http off this machine), HUB_UNREACHABLE,
 * UNAUTHORIZED (the hub gave another device id), a key id already held with another key, or the hub's
 * own refusal (CODE_INVALID, ...).
 */
export async function enroll(
  kiosk: Kiosk,
  opts: {
    hubUrl: string;
    code: string;
    transport?: Transport;
    /** Allow plain http to a hub off this machine (a test hall's own network); logged through `log`. */
    allowInsecureHttp?: boolean;
    log?: (line: string) => void;
  },
): Promise<Result<EnrollResponse>> {
  const transport = opts.transport ?? defaultTransport;
  let url: URL;
  try {
    url = new URL(opts.hubUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
  } catch {
    return fail('MALFORMED', 'hub URL must be http:// or https://');
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    if (!opts.allowInsecureHttp) return fail('INSECURE_HUB_URL', url.host);
    (opts.log ?? ((l: string) => process.stderr.write(l + '\n')))(
      `WARNING: enrolling with ${url.host} over plain http (insecure option set): anyone on the network can read and change what the hub sends`,
    );
  }
  const base = url.toString().replace(/\/+$/, '');
  const body = JSON.stringify({
    code: opts.code.trim().toUpperCase(),
    publicKey: kiosk.identity.publicKeyRaw,
    deviceId: kiosk.identity.deviceId,
  });
  let status: number;
  let text: string;
  try {
    const res = await transport(base + SYNC_PATHS.enroll, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(15_000),
    });
    status = res.status;
    text = await res.text();
  } catch (e) {
    return fail('HUB_UNREACHABLE', (e as Error).message);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return fail('HUB_UNREACHABLE', `hub answered ${status} with a body that is not JSON`);
  }
  if (status !== 200) {
    const f = wireFailureSchema.safeParse(json);
    if (f.success && isCode(f.data.error.code))
      return { ok: false, error: { ...f.data.error, code: f.data.error.code } };
    return fail('HUB_UNREACHABLE', `hub answered ${status}`);
  }
  const p = enrollResponseSchema.safeParse(json);
  if (!p.success) return fail('HUB_UNREACHABLE', 'hub answered enrollment with an unexpected body');
  const e = p.data;
  if (e.deviceId !== kiosk.identity.deviceId) {
    return fail(
      'UNAUTHORIZED',
      `hub assigned device id ${e.deviceId}, this kiosk is ${kiosk.identity.deviceId}`,
    );
  }
  const now = Math.floor(kiosk.clock.now() / 1000);
  try {
    kiosk.db.transaction(() => {
      ensureState(kiosk.db);
      kiosk.db
        .prepare(
          `UPDATE sync_state SET hub_url = ?, device_name = ?, region = ?, enrolled_at = ?, hub_config = ?,
           clock_offset_s = ?, cursor = 0, acked_seq = 0 WHERE id = 1`,
        )
        .run(base, e.name, e.region, now, JSON.stringify(e.config), now - e.hubTime);
      for (const k of e.hubKeys) {
        // A key id the kiosk already holds with another key is never replaced: enrollment stops here.
        const added = kiosk.trust.addHubKey(k.keyId, k.publicKey);
        if (!added.ok) throw new FailureError(added.error);
      }
      // Bill QR codes point at the hub's pay page.
      kiosk.settings.set('hubBase', typeof e.config.publicBase === 'string' ? e.config.publicBase : base);
    })();
  } catch (err) {
    if (err instanceof FailureError) return { ok: false, error: err.failure };
    throw err;
  }
  return ok(e);
}
