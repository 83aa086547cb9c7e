// Migration 002: print jobs. The job keeps the exact bytes sent, so a reprint of a failed bill carries
// the same QR (the same signed token); state, attempts and the last error tell staff what happened.
import type { Migration } from '../migrate.ts';

export const m002Printing: Migration = {
  id: 2,
  name: 'printing',
  sql: `
CREATE TABLE print_jobs (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  ref TEXT NOT NULL,
  printer TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('queued', 'printing', 'printed', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  error_code TEXT,
  error TEXT,
  bytes BLOB NOT NULL,
  bytes_sha256 TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  printed_at INTEGER
) STRICT;

CREATE INDEX print_jobs_ref ON print_jobs (kind, ref, created_at);
CREATE INDEX print_jobs_state ON print_jobs (state, updated_at);
`,
};
