#!/usr/bin/env node
// The `finekiosk` command: runs the TypeScript CLI through tsx's loader, so `npx finekiosk` works right
// after `npm install` with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../main/cli.ts');
process.exitCode = await main(process.argv.slice(2));
