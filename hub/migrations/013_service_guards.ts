// Guards of the service API and the console:
// - fine_batches.body_hash: the SHA-256 of a batch's checked items, so a batch id reused with another body
//   is refused (BATCH_ID_REUSED) instead of answering the first upload's result (hub/integration/batches.ts).
// - console_login_failures: failed console logins counted per operator id and per client address; after
//   a few, that subject is locked for a while (hub/console/throttle.ts).
export const sql = `
ALTER TABLE fine_batches ADD COLUMN body_hash text;
CREATE TABLE console_login_failures (
  subject text PRIMARY KEY,
  failures integer NOT NULL DEFAULT 0,
  first_at bigint NOT NULL,
  locked_until bigint NOT NULL DEFAULT 0
)
`;
