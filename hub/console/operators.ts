// Operator accounts of the console: roles admin (everything, accounts and keys included), operator
// (devices, fines, refunds, config, keys rotation) and auditor (reads only). Passwords are hashed with
// scrypt (N=16384, r=8, p=1, 16-byte salt, 32-byte hash) and compared in constant time.
import { randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { z } from 'zod';
import { fail, ok, type Result } from '../../protocol/result.ts';
import type { HubQueryable } from '../db.ts';

const scrypt = promisify(scryptCb) as (pw: string, salt: Buffer, len: number) => Promise<Buffer>;

export const ROLES = ['admin', 'operator', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

export const operatorAddSchema = z.object({
  id: z.string().regex(/^[a-z][a-z0-9_.-]{1,31}$/, 'user name: lower-case letters, digits, _ . -'),
  name: z.string().min(1).max(100).optional(),
  role: z.enum(ROLES),
  password: z.string().min(10, 'password: at least 10 characters').max(200),
});

export interface OperatorInfo {
  id: string;
  name: string;
  role: Role;
  createdAt: number;
  disabled: boolean;
}

export async function hashPassword(pw: string): Promise<string> {
  const salt = randomBytes(16);
  const h = await scrypt(pw, salt, 32);
  return `scrypt$${salt.toString('base64url')}$${h.toString('base64url')}`;
}

export async function verifyPassword(pw: string, stored: string): Promise<boolean> {
  const [kind, salt, hash] = stored.split('$');
  if (kind !== 'scrypt' || !salt || !hash) return false;
  const want = Buffer.from(hash, 'base64url');
  const got = await scrypt(pw, Buffer.from(salt, 'base64url'), want.length);
  return timingSafeEqual(got, want);
}

export async function addOperator(
  db: HubQueryable,
  a: z.infer<typeof operatorAddSchema>,
  nowS: number,
): Promise<Result<OperatorInfo>> {
  const r = await db.query(
    `INSERT INTO operators (id, name, password_hash, role, created_at) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (id) DO NOTHING`,
    [a.id, a.name ?? a.id, await hashPassword(a.password), a.role, nowS],
  );
  if (!r.rowCount) return fail('MALFORMED', `operator ${a.id} exists`);
  return ok({ id: a.id, name: a.name ?? a.id, role: a.role, createdAt: nowS, disabled: false });
}

export async function listOperators(db: HubQueryable): Promise<OperatorInfo[]> {
  const r = await db.query<{
    id: string;
    name: string;
    role: Role;
    created_at: number;
    disabled_at: number | null;
  }>('SELECT id, name, role, created_at, disabled_at FROM operators ORDER BY created_at, id');
  return r.rows.map((o) => ({
    id: o.id,
    name: o.name,
    role: o.role,
    createdAt: Number(o.created_at),
    disabled: o.disabled_at !== null,
  }));
}

export async function setOperatorDisabled(
  db: HubQueryable,
  id: string,
  at: number | null,
): Promise<Result<{ id: string; disabled: boolean }>> {
  const r = await db.query('UPDATE operators SET disabled_at = $2 WHERE id = $1', [id, at]);
  if (at !== null) await db.query('DELETE FROM operator_sessions WHERE operator_id = $1', [id]);
  return r.rowCount ? ok({ id, disabled: at !== null }) : fail('NOT_FOUND', id);
}
