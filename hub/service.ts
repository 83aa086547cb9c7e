// The hub's services: devices and enrollment, request authentication, push (apply each (device, seq) once),
// pull (the change feed), fines, bills, payments and hub keys. Stateless between calls: everything lives in
// the database, so several hub processes can share one PostgreSQL.
//
// Feed positions (fines.rev, changes.pos) come from one sequence. Every writer of the feed first takes
// an advisory transaction lock, so positions become visible in the order they were taken and a pull that
// has read up to position p never misses a later commit below p.
import { normalizePlate, normalizeVin6 } from '../protocol/plate.ts';
import { blockHolding } from './officer/blocks.ts';
import { createPublicKey, randomBytes, randomInt } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { statSync } from 'node:fs';
import { z } from 'zod';
import { eventPayloads, firstBrokenEvent, parseEventPayload, type OutboxEvent } from '../protocol/events.ts';
import { type Fine } from '../protocol/fines.ts';
import { DEVICE_ID_RE, KEY_ID_RE, type Channel } from '../protocol/ids.ts';
import { fail, failure, FailureError, ok, type Result } from '../protocol/result.ts';
import {
  generateKeyPair,
  privateKeyFromPem,
  privateKeyToPem,
  publicKeyFromRaw,
  publicKeyToRaw,
} from '../protocol/signing.ts';
import {
  HEADER_DEVICE,
  HEADER_NONCE,
  HEADER_SIGNATURE,
  HEADER_TIME,
  MAX_CLOCK_SKEW_SECONDS,
  nonceSchema,
  verifyRequestSignature,
  type EnrollRequest,
  type EnrollResponse,
  type HubKeyInfo,
  type PullChange,
  type PullResponse,
  type PushResponse,
  type RejectedEvent,
} from '../protocol/sync.ts';
import {
  makeConfirmationToken,
  parseBillToken,
  verifyBillToken,
  type BillClaims,
  type ConfirmationClaims,
} from '../protocol/tokens.ts';
import { systemClock, type Clock } from '../protocol/time.ts';
import { importFines } from './import/fines-import.ts';
import { readFinesFile, rowsOf } from './import/read.ts';
import { acceptPayment, verifyConfirmation, type TrustedHubKey } from '../protocol/acceptance.ts';
import type { BillState } from '../protocol/bills.ts';
import { signHubKey, type HubKeyAnnouncement } from '../protocol/hubkeys.ts';
import { isOwnBillNo, STANDALONE_ID_CHARS, standaloneIdPart, standaloneIdPartOf } from './trust/acts.ts';
import { checkPayable } from './trust/payable.ts';
import { listSecurity, recordSecurity } from './trust/security.ts';
import { enqueueJob } from './pay/jobs.ts';
import { FEED_CHANNEL, type HubDb, type HubQueryable } from './db.ts';
import { feedIdentity } from './feed/identity.ts';
import { billPayableUntil } from '../protocol/billtime.ts';

const FEED_LOCK = 727002;
const KEY_LOCK = 727003;
const DEFAULT_CODE_TTL_S = 24 * 3600;

export interface Device {
  id: string;
  name: string;
  region: string;
  publicKey: string;
  enabled: boolean;
  lastSeq: number;
  createdAt: number;
  lastSeenAt: number | null;
}

export interface HubKey {
  keyId: string;
  publicKey: string;
  privateKey: KeyObject;
  retired: boolean;
  /** Unix seconds when it retired; it then verifies only payments made before. */
  retiredAt: number | null;
}

export interface SettleInput {
  /** The channel order the money came through, when known (the refund flow needs it). */
  outTradeNo?: string;
  billNo: string;
  amountFen: number;
  channel: Channel;
  txnId: string;
  /** Unix seconds. */
  paidAt: number;
}

export interface SettleResult {
  /** settled: this payment pays the bill; duplicate: this txn was settled before (same token);
   *  refund: the bill was already paid by another transaction — flag this one for refund. */
  status: 'settled' | 'duplicate' | 'refund';
  token?: string;
  claims?: ConfirmationClaims;
  /** Why a payment was flagged for refund (an error code: BILL_PAID, FINE_NOT_PAYABLE, ...). */
  reason?: string;
}

export interface HubBill {
  billNo: string;
  deviceId: string;
  decisionNo: string;
  amountFen: number;
  issuedAt: number;
  expiresAt: number;
  token: string;
  /** protocol/bills.ts; the hub stores live, paid and voided. */
  status: BillState;
  paidTxn: string | null;
  /** When the hub first saw the bill (its own clock, Unix seconds). */
  firstSeenAt: number;
  /** Until when the hub keeps it payable by its own clock (protocol/billtime.ts). */
  payableUntil: number;
}

export interface HubServiceOptions {
  db: HubDb;
  clock?: Clock;
}

interface DeviceRow {
  id: string;
  name: string;
  region: string;
  public_key: string;
  enabled: boolean;
  last_seq: number;
  last_hash: string;
  created_at: number;
  last_seen_at: number | null;
}

function deviceFromRow(r: DeviceRow): Device {
  return {
    id: r.id,
    name: r.name,
    region: r.region,
    publicKey: r.public_key,
    enabled: r.enabled,
    lastSeq: Number(r.last_seq),
    createdAt: Number(r.created_at),
    lastSeenAt: r.last_seen_at === null ? null : Number(r.last_seen_at),
  };
}

interface BillRow {
  bill_no: string;
  device_id: string;
  decision_no: string;
  amount_fen: number;
  issued_at: number;
  expires_at: number;
  token: string;
  status: BillState;
  paid_txn: string | null;
  created_at: number;
}

function billFromRow(r: BillRow): HubBill {
  return {
    billNo: r.bill_no,
    deviceId: r.device_id,
    decisionNo: r.decision_no,
    amountFen: Number(r.amount_fen),
    issuedAt: Number(r.issued_at),
    expiresAt: Number(r.expires_at),
    token: r.token,
    status: r.status,
    paidTxn: r.paid_txn,
    firstSeenAt: Number(r.created_at),
    payableUntil: billPayableUntil(
      { issuedAt: Number(r.issued_at), expiresAt: Number(r.expires_at) },
      Number(r.created_at),
    ),
  };
}

const CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
function newCode(): string {
  let s = '';
  for (let i = 0; i < 12; i++) s += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
  return `${s.slice(0, 4)}-${s.slice(4, 8)}-${s.slice(8)}`;
}

function newKeyId(): string {
  return 'k' + randomBytes(8).toString('hex').slice(0, 10);
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

export type HubService = ReturnType<typeof createHubService>;

export function createHubService(opts: HubServiceOptions) {
  const db = opts.db;
  const clock = opts.clock ?? systemClock;
  const nowS = (): number => Math.floor(clock.now() / 1000);

  /** Takes the feed lock (once per transaction) and returns the next feed position. */
  async function lockFeed(tx: HubQueryable): Promise<void> {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [FEED_LOCK]);
  }
  async function notifyFeed(tx: HubQueryable): Promise<void> {
    await tx.query(`SELECT pg_notify('${FEED_CHANNEL}', '')`);
  }
  async function addChange(
    tx: HubQueryable,
    kind: PullChange['kind'],
    target: { region?: string; deviceId?: string },
    data: object,
  ): Promise<void> {
    await tx.query(
      `INSERT INTO changes (pos, kind, region, device_id, data, created_at)
       VALUES (nextval('feed_seq'), $1, $2, $3, $4::jsonb, $5)`,
      [kind, target.region ?? null, target.deviceId ?? null, JSON.stringify(data), nowS()],
    );
  }

  // ---------- hub keys ----------

  async function listKeys(q: HubQueryable = db): Promise<HubKey[]> {
    const r = await q.query<{
      key_id: string;
      public_key: string;
      private_pem: string;
      retired_at: number | null;
    }>('SELECT key_id, public_key, private_pem, retired_at FROM hub_keys ORDER BY created_at, key_id');
    return r.rows.map((k) => ({
      keyId: k.key_id,
      publicKey: k.public_key,
      privateKey: privateKeyFromPem(k.private_pem),
      retired: k.retired_at !== null,
      retiredAt: k.retired_at === null ? null : Number(k.retired_at),
    }));
  }

  async function insertKey(tx: HubQueryable): Promise<HubKey> {
    const kp = generateKeyPair();
    const key: HubKey = {
      keyId: newKeyId(),
      publicKey: publicKeyToRaw(kp.publicKey),
      privateKey: kp.privateKey,
      retired: false,
      retiredAt: null,
    };
    await tx.query(
      'INSERT INTO hub_keys (key_id, public_key, private_pem, created_at) VALUES ($1, $2, $3, $4)',
      [key.keyId, key.publicKey, privateKeyToPem(kp.privateKey), nowS()],
    );
    return key;
  }

  const keys = {
    /** The key that signs new confirmations; made on first use. */
    async current(): Promise<HubKey> {
      const all = await listKeys();
      const active = all.filter((k) => !k.retired).at(-1);
      if (active) return active;
      return db.transaction(async (tx) => {
        await tx.query('SELECT pg_advisory_xact_lock($1)', [KEY_LOCK]);
        const again = (await listKeys(tx)).filter((k) => !k.retired).at(-1);
        return again ?? insertKey(tx);
      });
    },
    async list(): Promise<HubKeyInfo[]> {
      await keys.current();
      return (await listKeys()).map((k) => ({ keyId: k.keyId, publicKey: k.publicKey }));
    },
    /** Every key with its retirement, for verifying confirmations (protocol/acceptance.ts). */
    async trustedMap(q: HubQueryable = db): Promise<Map<string, TrustedHubKey>> {
      const all = await listKeys(q);
      return new Map(
        all.map((k) => [k.keyId, { key: createPublicKey(k.privateKey), retiredAt: k.retiredAt }]),
      );
    },
    /**
     * Makes a new signing key and retires the old ones (still trusted for payments made before). Kiosks
     * learn both from the feed, signed by a key they already trust (protocol/hubkeys.ts): the new key
     * signed by the key it replaces, each retirement signed by the new key.
     */
    async rotate(): Promise<HubKeyInfo> {
      await keys.current();
      return db.transaction(async (tx) => {
        await lockFeed(tx);
        await tx.query('SELECT pg_advisory_xact_lock($1)', [KEY_LOCK]);
        const old = (await listKeys(tx)).filter((k) => !k.retired);
        const at = nowS();
        const k = await insertKey(tx);
        const info = { keyId: k.keyId, publicKey: k.publicKey };
        const signer = old.at(-1) ?? k;
        const a: HubKeyAnnouncement = { ...info, retiredAt: 0, signedBy: signer.keyId };
        await addChange(
          tx,
          'hubKey',
          {},
          {
            key: info,
            retired: false,
            retiredAt: 0,
            signedBy: a.signedBy,
            sig: signHubKey(a, signer.privateKey),
          },
        );
        await tx.query('UPDATE hub_keys SET retired_at = $1 WHERE retired_at IS NULL AND key_id <> $2', [
          at,
          k.keyId,
        ]);
        for (const o of old) {
          const r: HubKeyAnnouncement = {
            keyId: o.keyId,
            publicKey: o.publicKey,
            retiredAt: at,
            signedBy: k.keyId,
          };
          await addChange(
            tx,
            'hubKey',
            {},
            {
              key: { keyId: o.keyId, publicKey: o.publicKey },
              retired: true,
              retiredAt: at,
              signedBy: k.keyId,
              sig: signHubKey(r, k.privateKey),
            },
          );
        }
        await notifyFeed(tx);
        return info;
      });
    },
  };

  // ---------- config ----------

  const config = {
    async get(q: HubQueryable = db): Promise<Record<string, unknown>> {
      const r = await q.query<{ key: string; value: unknown }>('SELECT key, value FROM config ORDER BY key');
      return Object.fromEntries(r.rows.map((x) => [x.key, x.value]));
    },
    /** Sets one key and publishes the whole config to every kiosk. */
    async set(key: string, value: unknown): Promise<Record<string, unknown>> {
      return db.transaction(async (tx) => {
        await lockFeed(tx);
        await tx.query(
          `INSERT INTO config (key, value, updated_at) VALUES ($1, $2::jsonb, $3)
           ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at`,
          [key, JSON.stringify(value), nowS()],
        );
        const all = await config.get(tx);
        await addChange(tx, 'config', {}, { config: all });
        await notifyFeed(tx);
        return all;
      });
    },
  };

  // ---------- devices and enrollment ----------

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

  // ---------- request authentication ----------

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

  // ---------- fines ----------

  async function upsertFines(tx: HubQueryable, fines: Fine[]): Promise<number> {
    if (fines.length === 0) return 0;
    // A fine the hub knows is paid stays paid whatever a later file says.
    const r = await tx.query(
      `INSERT INTO fines AS f (decision_no, region, plate, vin6, status, data, rev, updated_at)
       SELECT d->>'decisionNo', d->>'region', d->>'plate', upper(d->>'vehicleIdLast6'), d->>'status', d,
              nextval('feed_seq'), $2
       FROM jsonb_array_elements($1::jsonb) AS d
       ON CONFLICT (decision_no) DO UPDATE SET
         region = EXCLUDED.region, plate = EXCLUDED.plate, vin6 = EXCLUDED.vin6,
         status = CASE WHEN f.status = 'paid' THEN 'paid' ELSE EXCLUDED.status END,
         data = CASE WHEN f.status = 'paid' THEN jsonb_set(EXCLUDED.data, '{status}', '"paid"') ELSE EXCLUDED.data END,
         rev = EXCLUDED.rev, updated_at = EXCLUDED.updated_at
       WHERE f.data IS DISTINCT FROM EXCLUDED.data AND NOT (f.status = 'paid' AND f.data = jsonb_set(EXCLUDED.data, '{status}', '"paid"'))`,
      // The one plate normalization (protocol/plate.ts), so a lookup by any spelling of a plate finds it.
      [JSON.stringify(fines.map((f) => ({ ...f, plate: normalizePlate(f.plate) }))), nowS()],
    );
    return r.rowCount;
  }

  async function setFineStatus(tx: HubQueryable, decisionNo: string, status: Fine['status']): Promise<void> {
    await tx.query(
      `UPDATE fines SET status = $2, data = jsonb_set(data, '{status}', to_jsonb($2::text)),
         rev = nextval('feed_seq'), updated_at = $3
       WHERE decision_no = $1 AND status <> $2`,
      [decisionNo, status, nowS()],
    );
  }

  const fines = {
    /**
     * Adds or updates fines, all or nothing (hub/import: staged, checked, applied in one transaction).
     * Errors: BAD_FILE with each bad row's number and reason.
     */
    async importRows(rows: unknown[]): Promise<Result<{ received: number; changed: number }>> {
      return importFines(db, rowsOf(rows), { nowS });
    },
    /** A JSON, NDJSON or CSV fines file, read as a stream (any size); as importRows. Errors: BAD_FILE. */
    async importFile(file: string): Promise<Result<{ received: number; changed: number }>> {
      try {
        statSync(file);
      } catch (e) {
        return fail('BAD_FILE', (e as Error).message);
      }
      return importFines(db, readFinesFile(file), { nowS });
    },
    async byDecisionNo(decisionNo: string): Promise<Fine | undefined> {
      const r = await db.query<{ data: Fine }>('SELECT data FROM fines WHERE decision_no = $1', [decisionNo]);
      return r.rows[0]?.data;
    },
    async byPlate(plate: string, vin6: string): Promise<Fine[]> {
      const r = await db.query<{ data: Fine }>(
        'SELECT data FROM fines WHERE plate = $1 AND vin6 = $2 ORDER BY decision_no LIMIT 100',
        [normalizePlate(plate), normalizeVin6(vin6)],
      );
      return r.rows.map((x) => x.data);
    },
    async count(): Promise<number> {
      const r = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM fines');
      return Number(r.rows[0]?.n ?? 0);
    },
  };

  // ---------- bills and payments ----------

  async function deviceKey(id: string, q: HubQueryable = db): Promise<KeyObject | undefined> {
    const d = await devices.get(id, q);
    return d ? publicKeyFromRaw(d.publicKey) : undefined;
  }

  const bills = {
    /** Makes sure the hub knows a bill issued (perhaps offline) by a kiosk: checks the device's signature. */
    async ensureKnown(claims: BillClaims, token: string): Promise<Result<HubBill>> {
      const dk = await deviceKey(claims.deviceId);
      const v = verifyBillToken(token, (id) => (id === claims.deviceId ? dk : undefined));
      if (!v.ok) return v;
      if (v.value.billNo !== claims.billNo || v.value.amountFen !== claims.amountFen) {
        return fail('MALFORMED', 'claims do not match the token');
      }
      const c = v.value;
      const refuse = async (code: 'NOT_OWN_BILL' | 'BILL_CONFLICT' | 'DEVICE_DISABLED', why: string) => {
        await recordSecurity(db, [
          {
            at: nowS(),
            deviceId: c.deviceId,
            source: 'pay',
            code,
            reason: why,
            eventSeq: null,
            eventType: null,
            subject: c.billNo,
          },
        ]);
        return fail<HubBill>(code, why);
      };
      // A device signs bills only in its own number range; anything else is another device's number.
      if (!isOwnBillNo(c.deviceId, c.billNo))
        return refuse('NOT_OWN_BILL', `${c.billNo} is not a number of ${c.deviceId}`);
      const stored = await bills.get(c.billNo);
      if (!stored) {
        const d = await devices.get(c.deviceId);
        if (d && !d.enabled) return refuse('DEVICE_DISABLED', c.deviceId);
        await db.query(
          `INSERT INTO bills (bill_no, device_id, decision_no, amount_fen, issued_at, expires_at, token, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (bill_no) DO NOTHING`,
          [c.billNo, c.deviceId, c.decisionNo, c.amountFen, c.issuedAt, c.expiresAt, token, nowS()],
        );
      }
      const b = stored ?? (await bills.get(c.billNo));
      if (!b) return fail('BILL_NOT_FOUND', c.billNo);
      // The same number with another token (a kiosk whose database went back in time): never serve the
      // stored bill for it, and never take money for either token's fine by mistake.
      if (b.token !== token) return refuse('BILL_CONFLICT', `bill ${c.billNo} is held with another token`);
      return ok(b);
    },
    /** May this bill be paid now (hub/trust/payable.ts)? A refusal is kept in the security log. */
    async payable(b: HubBill): Promise<Result<void>> {
      const r = await checkPayable(db, b, nowS());
      if (!r.ok && ['DEVICE_DISABLED', 'AMOUNT_MISMATCH', 'UNKNOWN_DEVICE'].includes(r.error.code)) {
        await recordSecurity(db, [
          {
            at: nowS(),
            deviceId: b.deviceId,
            source: 'pay',
            code: r.error.code,
            reason: r.error.message,
            eventSeq: null,
            eventType: null,
            subject: b.billNo,
          },
        ]);
      }
      return r;
    },
    async get(billNo: string, q: HubQueryable = db): Promise<HubBill | undefined> {
      const r = await q.query<BillRow>('SELECT * FROM bills WHERE bill_no = $1', [billNo]);
      return r.rows[0] ? billFromRow(r.rows[0]) : undefined;
    },
    /** Voids an open bill at the hub and tells the kiosk that issued it. */
    async void(billNo: string, reason: string): Promise<Result<HubBill>> {
      return db.transaction(async (tx) => {
        await lockFeed(tx);
        const r = await tx.query<BillRow>('SELECT * FROM bills WHERE bill_no = $1 FOR UPDATE', [billNo]);
        const b = r.rows[0];
        if (!b) return fail<HubBill>('BILL_NOT_FOUND', billNo);
        if (b.status === 'paid') return fail<HubBill>('BILL_PAID', billNo);
        await tx.query("UPDATE bills SET status = 'voided' WHERE bill_no = $1", [billNo]);
        await tx.query(
          "UPDATE pay_orders SET close_requested_at = $2, close_reason = 'BILL_VOIDED' WHERE bill_no = $1 AND status = 'open' AND close_requested_at IS NULL",
          [billNo, nowS()],
        );
        await tx.query('INSERT INTO voids (bill_no, reason, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [
          billNo,
          reason,
          nowS(),
        ]);
        await addChange(tx, 'void', { deviceId: b.device_id }, { billNo, reason });
        await notifyFeed(tx);
        return ok(billFromRow({ ...b, status: 'voided' }));
      });
    },
  };

  /**
   * Settles one payment inside the caller's transaction, the feed lock held (so payments of one fine are
   * decided one after the other). The confirmation rules are protocol/acceptance.ts's; then a fine is paid
   * once: a payment of a fine already paid (by another bill, another channel, at a counter) is recorded and
   * flagged for refund with its amount; the first one voids the fine's other live bills (their kiosks pull
   * the voids) and marks their open channel orders to be closed.
   * `o.token`: a hub-signed token the caller verified (a kiosk's push); otherwise `o.signer` signs one.
   */
  async function settleIn(
    tx: HubQueryable,
    input: SettleInput,
    o: { signer?: HubKey; token?: string; source: 'channel' | 'kiosk'; deviceId?: string },
  ): Promise<Result<SettleResult>> {
    const prev = await tx.query<{ token: string | null; status: string; refund_reason: string | null }>(
      'SELECT token, status, refund_reason FROM payments WHERE channel = $1 AND txn_id = $2',
      [input.channel, input.txnId],
    );
    if (prev.rows[0]) {
      const p = prev.rows[0];
      return ok<SettleResult>(
        p.status === 'refund' || !p.token
          ? { status: 'refund', ...(p.refund_reason ? { reason: p.refund_reason } : {}) }
          : { status: 'duplicate', token: p.token },
      );
    }
    const r = await tx.query<BillRow>('SELECT * FROM bills WHERE bill_no = $1 FOR UPDATE', [input.billNo]);
    const b = r.rows[0];
    const flag = async (reason: string): Promise<Result<SettleResult>> => {
      await tx.query(
        `INSERT INTO payments (channel, txn_id, bill_no, amount_fen, paid_at, token, source, status, device_id, refund_fen, refund_reason, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'refund', $8, $4, $9, $10)`,
        [
          input.channel,
          input.txnId,
          input.billNo,
          input.amountFen,
          input.paidAt,
          o.token ?? null,
          o.source,
          o.deviceId ?? null,
          reason,
          nowS(),
        ],
      );
      // Listed for the operator (`hub pay refunds`) and taken by the channels' refund job.
      await tx.query(
        `INSERT INTO pay_refunds (channel, txn_id, bill_no, out_trade_no, amount_fen, reason, created_at)
         VALUES ($1, $2, $3, coalesce($4, (SELECT out_trade_no FROM pay_orders WHERE bill_no = $3 AND channel = $1
                                           ORDER BY (txn_id = $2) DESC, created_at DESC LIMIT 1), ''), $5, $6, $7)
         ON CONFLICT DO NOTHING`,
        [input.channel, input.txnId, input.billNo, input.outTradeNo ?? null, input.amountFen, reason, nowS()],
      );
      return ok<SettleResult>({ status: 'refund', reason });
    };
    const a = acceptPayment(input, {
      // Paid in time means by the hub's own clock: payable until 4 hours after the hub first saw it.
      bill: b
        ? {
            billNo: b.bill_no,
            status: b.status,
            amountFen: Number(b.amount_fen),
            issuedAt: Number(b.issued_at),
            expiresAt: billFromRow(b).payableUntil,
          }
        : undefined,
      txnSeen: 'never',
      repeatIsHarmless: true,
      heldByHub: false,
    });
    if (!a.ok) {
      // Money the channel took for a bill that cannot take it: kept and paid back, never dropped.
      if (b && ['BILL_PAID', 'BILL_VOIDED', 'PAID_AFTER_EXPIRY'].includes(a.error.code))
        return flag(a.error.code);
      // A channel's money dated before its bill (clocks far apart) is still money: paid back. A device's
      // confirmation dated so is no payment at all and records nothing.
      if (b && a.error.code === 'PAID_BEFORE_ISSUE' && o.source === 'channel') return flag(a.error.code);
      return a;
    }
    const bill = b!;
    const f = await tx.query<{ status: string | null; other_paid: number }>(
      `SELECT (SELECT status FROM fines WHERE decision_no = $1) AS status,
              (SELECT count(*)::int FROM bills WHERE decision_no = $1 AND bill_no <> $2 AND status = 'paid') AS other_paid`,
      [bill.decision_no, bill.bill_no],
    );
    const fine = f.rows[0]!;
    if ((fine.status !== null && fine.status !== 'unpaid') || Number(fine.other_paid) > 0) {
      return flag('FINE_NOT_PAYABLE');
    }
    let token = o.token;
    let claims: ConfirmationClaims | undefined;
    if (!token) {
      const signer = o.signer!;
      claims = { ...input, keyId: signer.keyId };
      delete (claims as Partial<SettleInput>).outTradeNo;
      token = makeConfirmationToken(claims, signer.privateKey);
    }
    const keyId = token.split('.')[6] ?? null;
    await tx.query(
      `INSERT INTO payments (channel, txn_id, bill_no, amount_fen, paid_at, key_id, token, source, status, device_id, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'settled', $9, $10)`,
      [
        input.channel,
        input.txnId,
        input.billNo,
        input.amountFen,
        input.paidAt,
        keyId,
        token,
        o.source,
        o.deviceId ?? null,
        nowS(),
      ],
    );
    await tx.query("UPDATE bills SET status = 'paid', paid_txn = $2 WHERE bill_no = $1", [
      input.billNo,
      input.txnId,
    ]);
    // The payment goes into the feed before the fine's new status: a kiosk that saw the fine paid
    // first would void its live bill and then refuse the payment of it.
    await addChange(tx, 'payment', { deviceId: bill.device_id }, { billNo: input.billNo, token });
    await setFineStatus(tx, bill.decision_no, 'paid');
    const others = await tx.query<{ bill_no: string; device_id: string }>(
      "UPDATE bills SET status = 'voided' WHERE decision_no = $1 AND bill_no <> $2 AND status = 'live' RETURNING bill_no, device_id",
      [bill.decision_no, bill.bill_no],
    );
    if (others.rows.length) {
      const nos = others.rows.map((x) => x.bill_no);
      await tx.query(
        `INSERT INTO voids (bill_no, reason, at) SELECT b, 'fine-paid', $2 FROM unnest($1::text[]) AS u(b) ON CONFLICT DO NOTHING`,
        [nos, nowS()],
      );
      for (const x of others.rows) {
        await addChange(
          tx,
          'void',
          { deviceId: x.device_id },
          { billNo: x.bill_no, reason: `fine paid by bill ${bill.bill_no}` },
        );
      }
      // The channels' job closes these orders (a payment that lands before it does is refunded); queued in
      // this transaction, so the decision and the work to do commit together.
      for (const no of nos) await enqueueJob(tx, 'close_orders', no, { billNo: no }, nowS());
      await tx.query(
        "UPDATE pay_orders SET close_requested_at = $2, close_reason = 'FINE_PAID' WHERE bill_no = ANY($1::text[]) AND status = 'open' AND close_requested_at IS NULL",
        [nos, nowS()],
      );
    }
    return ok<SettleResult>({ status: 'settled', token, ...(claims ? { claims } : {}) });
  }

  const payments = {
    /**
     * Records a verified channel payment: marks bill and fine paid once, signs the confirmation token
     * with the current hub key and publishes it to the issuing kiosk's pull feed. Idempotent per
     * (channel, txnId); a second transaction for a paid bill is kept with status 'refund'.
     */
    async settle(input: SettleInput): Promise<Result<SettleResult>> {
      const key = await keys.current();
      return db.transaction(async (tx) => {
        await lockFeed(tx);
        const r = await settleIn(tx, input, { signer: key, source: 'channel' });
        if (r.ok && r.value.status === 'settled') await notifyFeed(tx);
        return r;
      });
    },
    async forBill(
      billNo: string,
    ): Promise<{ channel: string; txnId: string; status: string; token: string | null }[]> {
      const r = await db.query<{ channel: string; txn_id: string; status: string; token: string | null }>(
        'SELECT channel, txn_id, status, token FROM payments WHERE bill_no = $1 ORDER BY created_at',
        [billNo],
      );
      return r.rows.map((x) => ({ channel: x.channel, txnId: x.txn_id, status: x.status, token: x.token }));
    },
  };

  // ---------- push ----------

  interface Applied {
    status: 'applied' | 'rejected';
    reason: string | null;
  }

  /** Applies one event's effect inside the push transaction; returns a rejection for a bad event. */
  async function applyEvent(
    tx: HubQueryable,
    dev: Device,
    e: OutboxEvent,
    pending: Pending,
    feed: { locked: boolean },
  ): Promise<RejectedEvent | undefined> {
    const reject = (code: string, reason: string): RejectedEvent => ({
      seq: e.seq,
      eventId: e.eventId,
      code,
      reason,
    });
    const parsed = parseEventPayload(e.type, e.payload);
    if (!parsed.success)
      return reject(
        'MALFORMED',
        parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') ||
          'payload is not JSON',
      );
    const needFeed = async (): Promise<void> => {
      if (!feed.locked) {
        await lockFeed(tx);
        feed.locked = true;
      }
    };
    switch (e.type) {
      case 'bill.issued': {
        const p = parsed.data as z.infer<(typeof eventPayloads)['bill.issued']>;
        // The push itself is signed by this device's key, so the token in it is the device's word already;
        // checking each token's own signature again would cost an Ed25519 verify per bill for nothing.
        // The pay page verifies the token's signature when it is scanned (bills.ensureKnown).
        const v = parseBillToken(p.token);
        if (!v.ok) return reject(v.error.code, `bill token: ${v.error.message}`);
        if (
          v.value.claims.deviceId !== dev.id ||
          v.value.claims.billNo !== p.billNo ||
          v.value.claims.amountFen !== p.amountFen ||
          v.value.claims.decisionNo !== p.decisionNo ||
          v.value.claims.issuedAt !== p.issuedAt ||
          v.value.claims.expiresAt !== p.expiresAt
        ) {
          // Every claim the signed token carries must equal the event's, or a device could store times
          // (a backdated issue day dodging the late fee) that the printed token does not say.
          return reject('MALFORMED', 'bill token does not match the event');
        }
        // A device issues, replaces and voids only bills in its own number range (hub/trust/acts.ts).
        if (!isOwnBillNo(dev.id, p.billNo))
          return reject('NOT_OWN_BILL', `bill ${p.billNo} is not a number of this device`);
        if (p.replaces && !isOwnBillNo(dev.id, p.replaces)) {
          return reject('NOT_OWN_BILL', `replaced bill ${p.replaces} is not a bill of this device`);
        }
        pending.bills.push({
          e,
          row: [
            v.value.claims.billNo,
            v.value.claims.decisionNo,
            v.value.claims.amountFen,
            v.value.claims.issuedAt,
            v.value.claims.expiresAt,
            p.token,
          ],
        });
        if (p.replaces) {
          pending.voids.push({ e, billNo: p.replaces, reason: 'reissued', at: p.issuedAt, mayReject: false });
        }
        return undefined;
      }
      case 'bill.voided': {
        const p = parsed.data as z.infer<(typeof eventPayloads)['bill.voided']>;
        if (!isOwnBillNo(dev.id, p.billNo))
          return reject('NOT_OWN_BILL', `bill ${p.billNo} is not a bill of this device`);
        pending.voids.push({ e, billNo: p.billNo, reason: p.reason, at: p.at, mayReject: true });
        return undefined;
      }
      case 'payment.confirmed': {
        const p = parsed.data as z.infer<(typeof eventPayloads)['payment.confirmed']>;
        // A device's word is no payment: only a confirmation the hub signed, checked with the hub's own keys,
        // for a bill of this device, at the bill's amount (protocol/acceptance.ts decides the rest).
        if (!p.token)
          return reject('MALFORMED', 'a payment is taken only as a hub-signed confirmation token');
        pending.hubKeys ??= await keys.trustedMap(tx);
        const hubKeys = pending.hubKeys;
        const v = verifyConfirmation(p.token, (id) => hubKeys.get(id));
        if (!v.ok) return reject(v.error.code, `confirmation token: ${v.error.message}`);
        const c = v.value;
        if (
          c.billNo !== p.billNo ||
          c.amountFen !== p.amountFen ||
          c.channel !== p.channel ||
          c.txnId !== p.txnId ||
          c.paidAt !== p.paidAt
        ) {
          return reject('MALFORMED', 'the event does not match its confirmation token');
        }
        // A retired key may have leaked: what it signed is taken only for a payment this hub itself holds.
        const signedBy = hubKeys.get(c.keyId);
        if (signedBy?.retiredAt !== undefined && signedBy.retiredAt !== null) {
          const own = await tx.query('SELECT 1 FROM payments WHERE channel = $1 AND txn_id = $2', [
            c.channel,
            c.txnId,
          ]);
          if (own.rows.length === 0) {
            return reject('KEY_RETIRED', `key ${c.keyId} is retired and payment ${c.txnId} is not held here`);
          }
        }
        await flushPending(tx, dev, pending);
        const b = await tx.query<{ device_id: string; decision_no: string }>(
          'SELECT device_id, decision_no FROM bills WHERE bill_no = $1',
          [c.billNo],
        );
        const bill = b.rows[0];
        if (!bill) return reject('BILL_NOT_FOUND', c.billNo);
        if (bill.device_id !== dev.id)
          return reject('NOT_OWN_BILL', `bill ${c.billNo} is not a bill of this device`);
        // The fine is the bill's, never the payload's.
        if (bill.decision_no !== p.decisionNo)
          return reject('WRONG_BILL', `bill ${c.billNo} is not for ${p.decisionNo}`);
        await needFeed();
        const st = await settleIn(
          tx,
          { billNo: c.billNo, amountFen: c.amountFen, channel: c.channel, txnId: c.txnId, paidAt: c.paidAt },
          { token: p.token, source: 'kiosk', deviceId: dev.id },
        );
        if (!st.ok) return reject(st.error.code, st.error.message);
        return undefined;
      }
      case 'ticket.issued': {
        const p = parsed.data as z.infer<(typeof eventPayloads)['ticket.issued']>;
        // A decision number is the device's to give only if a block handed to it holds the number, or it
        // is the device's own stand-alone sequence ({deviceId}S{digits}); anything else would let two
        // devices issue one number.
        const no = p.fine.decisionNo;
        const part = standaloneIdPart(no);
        if (part !== undefined) {
          // The stand-alone range is the device's own, exactly: its id part equals this device's, and no
          // other enrolled device shares that id part (else the range would name two devices).
          if (part !== standaloneIdPartOf(dev.id)) {
            return reject(
              'NUMBER_NOT_ISSUED',
              `decision number ${no} is in another device's stand-alone range`,
            );
          }
          const shared = await tx.query<{ n: number }>(
            'SELECT count(*)::int AS n FROM devices WHERE left(id, $1) = $2',
            [STANDALONE_ID_CHARS, part],
          );
          if (Number(shared.rows[0]?.n) !== 1) {
            return reject('NUMBER_NOT_ISSUED', `stand-alone range ${part}S is shared by several devices`);
          }
        } else if ((await blockHolding(tx, no)) !== dev.id) {
          return reject('NUMBER_NOT_ISSUED', `decision number ${no} is not in a block issued to this device`);
        }
        // A ticket creates its fine; it never overwrites a fine the hub holds.
        const held = await tx.query<{ data: Fine }>('SELECT data FROM fines WHERE decision_no = $1', [no]);
        const h = held.rows[0]?.data;
        if (h && JSON.stringify({ ...h, status: '' }) !== JSON.stringify({ ...p.fine, status: '' })) {
          return reject('NUMBER_NOT_ISSUED', `decision number ${no} already holds another fine`);
        }
        if (h) return undefined;
        await needFeed();
        // A new ticket's fine is owed: only money (a settled payment) ever marks it paid.
        await upsertFines(tx, [{ ...p.fine, status: 'unpaid' }]);
        return undefined;
      }
      default:
        // fines.imported, print.job, shift.closed: kept in the log for reports; no state to change.
        return undefined;
    }
  }

  interface PendingVoid {
    e: OutboxEvent;
    billNo: string;
    reason: string;
    at: number;
    /** A staff void of a bill the hub knows is paid is refused; a reissue's void is not. */
    mayReject: boolean;
  }
  /** Bills and voids of a batch, written in bulk: a statement per batch, not per event. */
  interface Pending {
    bills: { e: OutboxEvent; row: unknown[] }[];
    voids: PendingVoid[];
    rejected: Map<number, RejectedEvent>;
    /** The hub's keys, read once per push when a payment needs them. */
    hubKeys?: Map<string, TrustedHubKey>;
  }

  async function flushPending(tx: HubQueryable, dev: Device, pending: Pending): Promise<void> {
    await flushBills(tx, dev, pending);
    const voids = pending.voids.splice(0);
    if (voids.length === 0) return;
    const paid = await tx.query<{ bill_no: string }>(
      "SELECT bill_no FROM bills WHERE bill_no = ANY($1::text[]) AND status = 'paid'",
      [voids.filter((v) => v.mayReject).map((v) => v.billNo)],
    );
    const paidSet = new Set(paid.rows.map((r) => r.bill_no));
    const ok = voids.filter((v) => {
      if (v.mayReject && paidSet.has(v.billNo)) {
        pending.rejected.set(v.e.seq, {
          seq: v.e.seq,
          eventId: v.e.eventId,
          code: 'BILL_PAID',
          reason: `bill ${v.billNo} is paid at the hub`,
        });
        return false;
      }
      return true;
    });
    if (ok.length === 0) return;
    const changed = await tx.query<{ bill_no: string }>(
      "UPDATE bills SET status = 'voided' WHERE bill_no = ANY($1::text[]) AND status = 'live' RETURNING bill_no",
      [ok.map((v) => v.billNo)],
    );
    // A void is recorded only where it voided something: a live bill, or a bill the hub does not hold yet
    // (so its token, scanned later, is refused). A paid bill stays paid and is never also listed as voided.
    const held = await tx.query<{ bill_no: string }>(
      'SELECT bill_no FROM bills WHERE bill_no = ANY($1::text[])',
      [ok.map((v) => v.billNo)],
    );
    const heldSet = new Set(held.rows.map((r) => r.bill_no));
    const changedSet = new Set(changed.rows.map((r) => r.bill_no));
    const rec = ok.filter((v) => changedSet.has(v.billNo) || !heldSet.has(v.billNo));
    if (rec.length === 0) return;
    await tx.query(
      `INSERT INTO voids (bill_no, reason, at, device_id)
       SELECT b, r, a, $4 FROM unnest($1::text[], $2::text[], $3::bigint[]) AS u(b, r, a)
       ON CONFLICT DO NOTHING`,
      [rec.map((v) => v.billNo), rec.map((v) => v.reason), rec.map((v) => v.at), dev.id],
    );
  }

  async function flushBills(tx: HubQueryable, dev: Device, pending: Pending): Promise<void> {
    const rows = pending.bills.splice(0);
    if (rows.length === 0) return;
    const cols: unknown[][] = [[], [], [], [], [], []];
    for (const r of rows) r.row.forEach((v, i) => cols[i]!.push(v));
    const ins = await tx.query<{ bill_no: string }>(
      `INSERT INTO bills (bill_no, device_id, decision_no, amount_fen, issued_at, expires_at, token, created_at)
       SELECT b, $1, d, a, i, x, t, $8
       FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::text[]) AS u(b, d, a, i, x, t)
       ON CONFLICT (bill_no) DO NOTHING RETURNING bill_no`,
      [dev.id, ...cols, nowS()],
    );
    if (ins.rows.length === rows.length) return;
    // A number the hub already holds must hold the same token (a pay page may have stored it first);
    // another token under it is a bill number used twice (a kiosk database gone back in time).
    const inserted = new Set(ins.rows.map((r) => r.bill_no));
    const rest = rows.filter((r) => !inserted.has(r.row[0] as string));
    const held = await tx.query<{ bill_no: string; token: string }>(
      'SELECT bill_no, token FROM bills WHERE bill_no = ANY($1::text[])',
      [rest.map((r) => r.row[0])],
    );
    const tokens = new Map(held.rows.map((r) => [r.bill_no, r.token]));
    for (const r of rest) {
      if (tokens.get(r.row[0] as string) !== r.row[5]) {
        pending.rejected.set(r.e.seq, {
          seq: r.e.seq,
          eventId: r.e.eventId,
          code: 'BILL_CONFLICT',
          reason: `bill ${String(r.row[0])} is held with another token`,
        });
      }
    }
  }

  /** Applies a batch of a device's events: each (device, seq) once, the chain checked, all or nothing. */
  async function push(dev: Device, events: OutboxEvent[], nonce?: string): Promise<Result<PushResponse>> {
    if (events.length === 0) return fail('MALFORMED', 'no events');
    const other = events.find((e) => e.deviceId !== dev.id);
    if (other) return fail('UNAUTHORIZED', `event ${other.seq} belongs to device ${other.deviceId}`);
    for (let i = 1; i < events.length; i++) {
      if (events[i]!.seq !== events[i - 1]!.seq + 1) {
        return fail('SEQ_GAP', `events must be consecutive: ${events[i - 1]!.seq} then ${events[i]!.seq}`, {
          seq: events[i]!.seq,
        });
      }
    }
    try {
      return await db.transaction(async (tx) => {
        // The device row lock serializes a device's pushes across hub processes; the nonce (when the
        // caller deferred it) is recorded in the same statement.
        const d = nonce
          ? await tx.query<{ last_seq: number; last_hash: string; enabled: boolean; fresh: number }>(
              `WITH n AS (INSERT INTO nonces (device_id, nonce, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING 1)
               SELECT last_seq, last_hash, enabled, (SELECT count(*)::int FROM n) AS fresh FROM devices WHERE id = $1 FOR UPDATE`,
              [dev.id, nonce, nowS()],
            )
          : await tx.query<{ last_seq: number; last_hash: string; enabled: boolean; fresh: number }>(
              'SELECT last_seq, last_hash, enabled, 1 AS fresh FROM devices WHERE id = $1 FOR UPDATE',
              [dev.id],
            );
        const row = d.rows[0];
        if (row && Number(row.fresh) === 0) throw new FailureError(failure('REPLAYED'));
        if (!row) throw new FailureError(failure('UNKNOWN_DEVICE', dev.id));
        if (!row.enabled) throw new FailureError(failure('DEVICE_DISABLED', dev.id));
        const lastSeq = Number(row.last_seq);
        const dupes = events.filter((e) => e.seq <= lastSeq);
        const fresh = events.filter((e) => e.seq > lastSeq);
        if (dupes.length) {
          // A seq the hub holds must be the very same event, or the device's log was rewritten.
          const held = await tx.query<{ seq: number; hash: string }>(
            'SELECT seq, hash FROM events WHERE device_id = $1 AND seq >= $2 AND seq <= $3',
            [dev.id, dupes[0]!.seq, dupes.at(-1)!.seq],
          );
          const byseq = new Map(held.rows.map((r) => [Number(r.seq), r.hash]));
          const diff = dupes.find((e) => byseq.get(e.seq) !== e.hash);
          if (diff) {
            throw new FailureError(
              failure('CHAIN_BROKEN', `event ${diff.seq} differs from the one the hub holds`, {
                seq: diff.seq,
              }),
            );
          }
        }
        const rejected: RejectedEvent[] = [];
        if (fresh.length) {
          if (fresh[0]!.seq !== lastSeq + 1) {
            throw new FailureError(
              failure('SEQ_GAP', `expected seq ${lastSeq + 1}, got ${fresh[0]!.seq}`, {
                expectedSeq: lastSeq + 1,
              }),
            );
          }
          const broken = firstBrokenEvent(fresh, row.last_hash, lastSeq);
          if (broken >= 0) {
            const s = fresh[broken]!.seq;
            throw new FailureError(failure('CHAIN_BROKEN', `at seq ${s}`, { seq: s }));
          }
          const pending: Pending = { bills: [], voids: [], rejected: new Map() };
          const feed = { locked: false };
          for (const e of fresh) {
            const rej = await applyEvent(tx, dev, e, pending, feed);
            if (rej) pending.rejected.set(e.seq, rej);
          }
          await flushPending(tx, dev, pending);
          rejected.push(...[...pending.rejected.values()].sort((a, b) => a.seq - b.seq));
          if (rejected.length) {
            // Kept, counted for the operator, and sent back to the device (its pull) so staff see it even
            // when this answer is lost.
            const types = new Map(fresh.map((e) => [e.seq, e.type]));
            await recordSecurity(
              tx,
              rejected.map((x) => ({
                at: nowS(),
                deviceId: dev.id,
                source: 'push' as const,
                code: x.code,
                reason: x.reason,
                eventSeq: x.seq,
                eventType: types.get(x.seq) ?? null,
                subject: null,
              })),
            );
            if (!feed.locked) {
              await lockFeed(tx);
              feed.locked = true;
            }
            for (const x of rejected) {
              await addChange(
                tx,
                'refused',
                { deviceId: dev.id },
                { seq: x.seq, eventId: x.eventId, code: x.code, reason: x.reason },
              );
            }
          }
          const status: Applied[] = fresh.map((e) => {
            const rej = pending.rejected.get(e.seq);
            return rej
              ? { status: 'rejected', reason: `${rej.code}: ${rej.reason}` }
              : { status: 'applied', reason: null };
          });
          const cols: unknown[][] = [[], [], [], [], [], [], [], [], [], []];
          fresh.forEach((e, i) => {
            const s = status[i]!;
            [e.seq, e.eventId, e.type, e.at, e.payload, e.prevHash, e.hash, s.status, s.reason].forEach(
              (v, j) => cols[j]!.push(v),
            );
          });
          const last = fresh.at(-1)!;
          const ins = await tx.query<{ n: number }>(
            `WITH ins AS (
               INSERT INTO events (device_id, seq, event_id, type, at, payload, prev_hash, hash, status, reason, received_at)
               SELECT $1, s, i, t, a, p, ph, h, st, r, $11
               FROM unnest($2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])
                 AS u(s, i, t, a, p, ph, h, st, r)
               ON CONFLICT (device_id, seq) DO NOTHING RETURNING 1),
             upd AS (UPDATE devices SET last_seq = $12, last_hash = $13, last_seen_at = $11 WHERE id = $1 RETURNING 1)
             SELECT (SELECT count(*)::int FROM ins) AS n, (SELECT count(*)::int FROM upd) AS u`,
            [dev.id, ...cols.slice(0, 9), nowS(), last.seq, last.hash],
          );
          if (Number(ins.rows[0]?.n) !== fresh.length)
            throw new Error('events were inserted concurrently despite the device lock');
          if (feed.locked) await notifyFeed(tx);
        }
        return ok<PushResponse>({
          highestSeq: Math.max(lastSeq, fresh.at(-1)?.seq ?? 0),
          applied: fresh.length - rejected.length,
          duplicates: dupes.length,
          rejected,
          hubTime: nowS(),
        });
      });
    } catch (e) {
      if (e instanceof FailureError) {
        // A refused request's nonce still counts as used: the same request must not succeed later.
        if (nonce && e.failure.code !== 'REPLAYED') await recordNonce(db, dev.id, nonce);
        return { ok: false, error: e.failure };
      }
      throw e;
    }
  }

  // ---------- pull ----------

  async function pull(dev: Device, cursor: number, limit: number): Promise<PullResponse> {
    const fineRows = dev.region
      ? (
          await db.query<{ rev: number; data: Fine }>(
            'SELECT rev, data FROM fines WHERE region = $1 AND rev > $2 ORDER BY rev LIMIT $3',
            [dev.region, cursor, limit],
          )
        ).rows
      : [];
    const changeRows = (
      await db.query<{ pos: number; kind: PullChange['kind']; data: Record<string, unknown> }>(
        `SELECT pos, kind, data FROM (
           (SELECT pos, kind, data FROM changes WHERE device_id = $1 AND pos > $2 ORDER BY pos LIMIT $4)
           UNION ALL
           (SELECT pos, kind, data FROM changes WHERE region = $3 AND pos > $2 ORDER BY pos LIMIT $4)
           UNION ALL
           (SELECT pos, kind, data FROM changes WHERE device_id IS NULL AND region IS NULL AND pos > $2 ORDER BY pos LIMIT $4)
         ) c ORDER BY pos LIMIT $4`,
        [dev.id, cursor, dev.region || null, limit],
      )
    ).rows;
    const all: PullChange[] = [
      ...fineRows.map((r) => ({ cursor: Number(r.rev), kind: 'fine' as const, fine: r.data })),
      ...changeRows.map((r) => ({ cursor: Number(r.pos), kind: r.kind, ...r.data }) as PullChange),
    ].sort((a, b) => a.cursor - b.cursor);
    const more = fineRows.length >= limit || changeRows.length >= limit;
    const changes = all.slice(0, limit);
    const feedId = await feedIdentity(db);
    return {
      changes,
      cursor: changes.at(-1)?.cursor ?? cursor,
      more: more || all.length > limit,
      hubTime: nowS(),
      epoch: feedId.epoch,
      head: feedId.head,
      deviceSeq: dev.lastSeq,
    };
  }

  /** A page of a device's own events as the hub holds them, for `finekiosk recover`. */
  async function eventsPage(
    dev: Device,
    after: number,
    limit: number,
  ): Promise<{ events: OutboxEvent[]; highestSeq: number; more: boolean }> {
    const r = await db.query<{
      seq: number;
      event_id: string;
      type: string;
      at: number;
      payload: string;
      prev_hash: string;
      hash: string;
    }>(
      `SELECT seq, event_id, type, at, payload, prev_hash, hash FROM events
        WHERE device_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
      [dev.id, after, limit + 1],
    );
    const d = await devices.get(dev.id);
    const rows = r.rows.slice(0, limit);
    return {
      events: rows.map((x) => ({
        deviceId: dev.id,
        seq: Number(x.seq),
        eventId: x.event_id,
        type: x.type as OutboxEvent['type'],
        at: Number(x.at),
        payload: x.payload,
        prevHash: x.prev_hash,
        hash: x.hash,
      })),
      highestSeq: d?.lastSeq ?? 0,
      more: r.rows.length > limit,
    };
  }

  async function eventsOf(deviceId: string): Promise<
    {
      seq: number;
      hash: string;
      prevHash: string;
      status: string;
      reason: string | null;
      type: string;
      eventId: string;
      at: number;
      payload: string;
    }[]
  > {
    const r = await db.query<{
      seq: number;
      hash: string;
      prev_hash: string;
      status: string;
      reason: string | null;
      type: string;
      event_id: string;
      at: number;
      payload: string;
    }>(
      'SELECT seq, hash, prev_hash, status, reason, type, event_id, at, payload FROM events WHERE device_id = $1 ORDER BY seq',
      [deviceId],
    );
    return r.rows.map((x) => ({
      seq: Number(x.seq),
      hash: x.hash,
      prevHash: x.prev_hash,
      status: x.status,
      reason: x.reason,
      type: x.type,
      eventId: x.event_id,
      at: Number(x.at),
      payload: x.payload,
    }));
  }

  /** Checks the stored chain of every device (or one); returns the devices whose chain is broken. */
  async function verifyChains(
    deviceId?: string,
  ): Promise<{ devices: number; events: number; broken: string[] }> {
    const list = deviceId ? [deviceId] : (await devices.list()).map((d) => d.id);
    let n = 0;
    const broken: string[] = [];
    for (const id of list) {
      const evs = await eventsOf(id);
      n += evs.length;
      const asOutbox = evs.map((e) => ({ ...e, deviceId: id, type: e.type as OutboxEvent['type'] }));
      if (firstBrokenEvent(asOutbox) >= 0) broken.push(id);
    }
    return { devices: list.length, events: n, broken };
  }

  /** Row counts, for operators and the crash tests. */
  async function stats(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const t of ['devices', 'events', 'bills', 'payments', 'voids', 'fines', 'changes']) {
      const r = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t}`);
      out[t] = Number(r.rows[0]?.n ?? 0);
    }
    return out;
  }

  return {
    db,
    clock,
    stats,
    nowS,
    keys,
    config,
    devices,
    enroll,
    authenticate,
    push,
    pull,
    eventsPage,
    fines,
    bills,
    payments,
    eventsOf,
    verifyChains,
    isKeyId: (s: string) => KEY_ID_RE.test(s),
    security: {
      /** The security log, newest first, with counts by code (`finekiosk hub security log`). */
      list: (opts: { deviceId?: string; limit?: number } = {}) => listSecurity(db, opts),
    },
  };
}
