import { defineConfig } from 'vitest/config';

// Tests run in plain Node; browser tests drive Debian's Chromium through playwright-core themselves.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts', 'tests/**/*.test.tsx'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
