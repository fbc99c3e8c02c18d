import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // A Redis for the run when none answers at REDIS_URL; the web page built once for every file that serves it.
    globalSetup: ['test/setup/redis.ts', 'test/setup/ui.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    env: { TRAINYARD_BACKEND: 'wasm' },
  },
});
