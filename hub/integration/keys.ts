// API keys for the traffic authority's systems: made and revoked by an operator, stored as a SHA-256 of
// the secret part (the key is 32 random bytes, so a fast hash is enough; it is shown once at creation and
// never stored or logged). A key reads `fk_<id>_<secret>`; the id finds the row, the hash must match.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { fail, ok, type Result } from '../../protocol/result.ts';
import type { HubQueryable } from '../db.ts';

export const SCOPES = ['fines:write', 'fines:read', 'payments:read', 'reports:read', 'metrics:read'] as const;
export type Scope = (typeof SCOPES)[number];
export const scopeSchema = z.enum(SCOPES);

export interface ApiKeyInfo {
  id: string;
  name: string;
  scopes: Scope[];
  createdAt: number;
  createdBy: string;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

interface KeyRow {
  id: string;
  name: string;
  hash: string;
  scopes: string;
  created_at: number;
  created_by: string;
  revoked_at: number | null;
  last_used_at: number | null;
}

const KEY_RE = /^fk_([a-f0-9]{12})_([A-Za-z0-9_-]{43})$/;

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

function fromRow(r: KeyRow): ApiKeyInfo {
  return {
    id: r.id,
    name: r.name,
    scopes: r.scopes.split(' ').filter(Boolean) as Scope[],
    createdAt: Number(r.created_at),
    createdBy: r.created_by,
    revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
    lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at),
  };
}

export const apiKeyCreateSchema = z.object({
  name: z.string().min(1).max(100),
  scopes: z.array(scopeSchema).min(1),
});

/** Makes a key; the returned `key` is the only time its secret exists outside the caller. */
export async function createApiKey(
  db: HubQueryable,
  input: z.infer<typeof apiKeyCreateSchema>,
  by: string,
  nowS: number,
): Promise<{ key: string; info: ApiKeyInfo }> {
  const id = randomBytes(6).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const scopes = [...new Set(input.scopes)].sort();
  const r = await db.query<KeyRow>(
    `INSERT INTO api_keys (id, name, hash, scopes, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6)
     RETURNING *`,
    [id, input.name, sha256(secret), scopes.join(' '), nowS, by],
  );
  return { key: `fk_${id}_${secret}`, info: fromRow(r.rows[0]!) };
}

export async function listApiKeys(db: HubQueryable): Promise<ApiKeyInfo[]> {
  const r = await db.query<KeyRow>('SELECT * FROM api_keys ORDER BY created_at, id');
  return r.rows.map(fromRow);
}

export async function revokeApiKey(db: HubQueryable, id: string, nowS: number): Promise<Result<ApiKeyInfo>> {
  const r = await db.query<KeyRow>(
    'UPDATE api_keys SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1 RETURNING *',
    [id, nowS],
  );
  return r.rows[0] ? ok(fromRow(r.rows[0])) : fail('NOT_FOUND', `API key ${id}`);
}

/**
 * Checks an `Authorization: Bearer fk_…` value and that the key holds `scope`.
 * Errors: UNAUTHORIZED (absent, malformed, unknown or wrong secret), KEY_REVOKED, FORBIDDEN (scope missing).
 * `keyId` is returned whenever the id part names a key, so even a refused call is logged against it.
 */
export async function authenticateApiKey(
  db: HubQueryable,
  authorization: string | undefined,
  scope: Scope,
  nowS: number,
): Promise<{ keyId: string | null; result: Result<ApiKeyInfo> }> {
  const m = /^Bearer (.+)$/.exec(authorization ?? '');
  const km = m ? KEY_RE.exec(m[1]!) : null;
  if (!km) return { keyId: null, result: fail('UNAUTHORIZED', 'give Authorization: Bearer <API key>') };
  const r = await db.query<KeyRow>('SELECT * FROM api_keys WHERE id = $1', [km[1]]);
  const row = r.rows[0];
  const given = Buffer.from(sha256(km[2]!), 'hex');
  if (!row || !timingSafeEqual(given, Buffer.from(row.hash, 'hex'))) {
    return { keyId: null, result: fail('UNAUTHORIZED') };
  }
  if (row.revoked_at !== null) return { keyId: row.id, result: fail('KEY_REVOKED', row.id) };
  const info = fromRow(row);
  if (!info.scopes.includes(scope))
    return { keyId: row.id, result: fail('FORBIDDEN', `needs scope ${scope}`) };
  if (row.last_used_at === null || Number(row.last_used_at) < nowS - 60) {
    await db.query('UPDATE api_keys SET last_used_at = $2 WHERE id = $1', [row.id, nowS]);
  }
  return { keyId: row.id, result: ok(info) };
}
