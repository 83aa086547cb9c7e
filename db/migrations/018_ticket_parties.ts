// Migration 018: the party of an on-the-spot ticket (name and driving licence number), printed on the
// decision notice, which is the driver's own document. Kept on the officer device only: never in an
// outbox event, never logged; optional for pedestrians and non-motor vehicles.
import type { Migration } from '../migrate.ts';

export const m018TicketParties: Migration = {
  id: 18,
  name: 'ticket parties',
  sql: `
CREATE TABLE ticket_parties (
  decision_no TEXT PRIMARY KEY REFERENCES tickets (decision_no),
  name TEXT CHECK (name IS NULL OR length(name) BETWEEN 1 AND 40),
  licence_no TEXT CHECK (licence_no IS NULL OR length(licence_no) BETWEEN 6 AND 20)
) STRICT;
`,
};
