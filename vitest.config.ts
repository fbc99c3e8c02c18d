import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Starts a Redis for the run when none answers at REDIS_URL.
    globalSetup: ['test/setup/redis.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    env: { TRAINYARD_BACKEND: 'wasm' },
  },
});
