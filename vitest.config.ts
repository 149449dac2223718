import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Provides a private Redis (never 127.0.0.1:6379) as inject('redisUrl').
    globalSetup: ['test/setup/redis-global.ts'],
  },
});
