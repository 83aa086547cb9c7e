// Migration 007: proof of printing. A job is `printed` only when an in-order reply after its last byte
// said so (or a person confirmed the paper came out); `unverified` when every byte was sent to a printer
// that cannot prove it (no status, real-time status only, or no proof in time). `proof` says how it is
// known; `profile` names the printer profile the bytes were encoded for. SQLite cannot change a CHECK,
// so the table is rebuilt with its rows; jobs printed before this migration were judged by real-time
// status only and keep proof 'realtime'.
import type { Migration } from '../migrate.ts';

export const m007PrintProof: Migration = {
  id: 7,
  name: 'print_proof',
  sql: `
CREATE TABLE print_jobs_v7 (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  ref TEXT NOT NULL,
  printer TEXT NOT NULL,
  profile TEXT,
  state TEXT NOT NULL CHECK (state IN ('queued', 'printing', 'printed', 'unverified', 'failed')),
  proof TEXT CHECK (proof IN ('process-id', 'gs-r', 'confirmed', 'realtime')),
  attempts INTEGER NOT NULL DEFAULT 0,
  error_code TEXT,
  error TEXT,
  bytes BLOB NOT NULL,
  bytes_sha256 TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  printed_at INTEGER
) STRICT;

INSERT INTO print_jobs_v7 (id, kind, ref, printer, profile, state, proof, attempts, error_code, error, bytes,
  bytes_sha256, created_at, updated_at, printed_at)
SELECT id, kind, ref, printer, NULL, state, CASE WHEN state = 'printed' THEN 'realtime' END, attempts,
  error_code, error, bytes, bytes_sha256, created_at, updated_at, printed_at
FROM print_jobs;

DROP TABLE print_jobs;
ALTER TABLE print_jobs_v7 RENAME TO print_jobs;
CREATE INDEX print_jobs_ref ON print_jobs (kind, ref, created_at);
CREATE INDEX print_jobs_state ON print_jobs (state, updated_at);
`,
};
