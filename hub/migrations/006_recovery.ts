// Recovery: the identity of this hub's change feed. A kiosk keeps the epoch beside its pull cursor; a
// hub restored from a backup answers with another epoch (see hub/feed/identity.ts), so the kiosk knows
// its cursor belongs to another history and pulls again from the start.
export const sql = `
CREATE TABLE hub_identity (
  id integer PRIMARY KEY CHECK (id = 1),
  epoch text NOT NULL,
  created_at bigint NOT NULL
);
INSERT INTO hub_identity (id, epoch, created_at)
  VALUES (1, md5(random()::text || clock_timestamp()::text), extract(epoch FROM now())::bigint)
`;
