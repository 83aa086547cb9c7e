import { defineConfig } from 'vitest/config';

// Tests run in plain Node; browser tests drive Debian's Chromium through playwright-core themselves.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts', 'tests/**/*.test.tsx'],
    // Time-outs only bound a hang: tests wait on events, and a busy machine must not fail them.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // One migrated PGlite image for every in-memory test hub, built once (initdb is the costly part).
    globalSetup: ['tests/support/global-setup.ts'],
  },
});
