// A hub in a child process for the crash test: starts on the data folder (or PostgreSQL schema) given,
// prints its URL (and, when asked, a fresh enrollment code) as one JSON line, and runs until killed.
import pino from 'pino';
import { startHub } from '../../hub/server.ts';

const dataDir = process.argv[2]!;
const running = await startHub({
  dataDir,
  logger: pino({ level: 'silent' }),
  ...(process.env.DATABASE_URL ? { databaseUrl: process.env.DATABASE_URL } : {}),
  ...(process.env.FK_SCHEMA ? { schema: process.env.FK_SCHEMA } : {}),
});
let code: string | undefined;
if (process.env.FK_MAKE_CODE) {
  const r = await running.hub.devices.add({ name: 'crash test', region: '110000' });
  if (r.ok) code = r.value.code;
}
process.stdout.write(JSON.stringify({ url: running.url, code }) + '\n');
