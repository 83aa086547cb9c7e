// Electron's entry: loads the TypeScript main process through tsx (the same loader as bin/finekiosk.js).
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
