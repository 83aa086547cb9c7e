// A hub process for bench/service.bench.ts: PostgreSQL at DATABASE_URL in the given schema, the service
// plugins, port 0; prints its URL, then one line per API key asked on stdin. Its peak memory (VmHWM) is
// the figure the bench reports.
import pino from 'pino';
import { createInterface } from 'node:readline';
import { buildHubApp } from '../hub/app.ts';
import { runAdmin } from '../hub/admin.ts';
import { openHubDb } from '../hub/db.ts';
import { servicePlugins } from '../hub/integration/index.ts';
import { createHubService } from '../hub/service/index.ts';

const db = await openHubDb({ databaseUrl: process.env.DATABASE_URL!, schema: process.argv[2]! });
const hub = createHubService({ db });
await hub.keys.current();
const app = await buildHubApp({
  hub,
  logger: pino({ level: 'silent' }),
  plugins: servicePlugins({ webhooks: false }),
});
await app.listen({ port: 0, host: '127.0.0.1' });
const a = app.server.address();
console.log(JSON.stringify({ url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}` }));
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'quit') break;
  const r = await runAdmin(hub, 'apikey.create', { name: 'bench', scopes: line.split(',') });
  console.log(JSON.stringify(r.ok ? r.value : r.error));
}
await app.close();
await db.close();
