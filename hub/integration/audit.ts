// The audit log: every operator action (console, CLI, admin endpoint) with who, what, target, when and
// whether it succeeded. Secrets (passwords, API keys, webhook secrets) never go into `details`.
import type { HubQueryable } from '../db.ts';

export interface AuditEntry {
  id: number;
  at: number;
  actor: string;
  action: string;
  target: string | null;
  ok: boolean;
  details: Record<string, unknown>;
}

export async function audit(
  db: HubQueryable,
  e: { at: number; actor: string; action: string; target?: string | null; ok: boolean; details?: object },
): Promise<void> {
  await db.query(
    'INSERT INTO audit_log (at, actor, action, target, ok, details) VALUES ($1, $2, $3, $4, $5, $6::jsonb)',
    [e.at, e.actor, e.action, e.target ?? null, e.ok, JSON.stringify(e.details ?? {})],
  );
}

export async function readAudit(db: HubQueryable, limit = 200, before?: number): Promise<AuditEntry[]> {
  const r = await db.query<{
    id: number;
    at: number;
    actor: string;
    action: string;
    target: string | null;
    ok: boolean;
    details: Record<string, unknown>;
  }>('SELECT * FROM audit_log WHERE ($2::bigint IS NULL OR id < $2) ORDER BY id DESC LIMIT $1', [
    limit,
    before ?? null,
  ]);
  return r.rows.map((x) => ({ ...x, id: Number(x.id), at: Number(x.at) }));
}
