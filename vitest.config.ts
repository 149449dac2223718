import { defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

// Tests import the workspaces' TypeScript sources (their "redgrad-source" export condition), never a
// dist/ build that may be stale or missing.
const conditions = ['redgrad-source', ...defaultServerConditions];

// Tests that need Redis or run real processes (services, the CLI bin, docker-compose, the
// AssemblyScript compiler). Everything else under test/ is a unit test: in-process, no Redis.
const E2E = [
  'test/api/example.test.ts',
  'test/package/**/*.test.ts',
  'test/e2e/**/*.test.ts',
  'test/cluster/**/*.test.ts',
  'test/cli/**/*.test.ts',
  'test/compose/compose-tools.test.ts',
  'test/nn/wasm-build.test.ts',
  'test/protocol/dataset-redis.test.ts',
  'test/protocol/results-stream.test.ts',
  'test/setup/**/*.test.ts',
  'test/worker/**/*.test.ts',
];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    coverage: {
      provider: 'v8',
      include: ['libs/*/src/**/*.ts', 'apps/*/src/**/*.ts'],
      reporter: ['text-summary', 'text', 'json-summary'],
      reportsDirectory: 'coverage',
    },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: E2E,
          // Without a URL, a Redis test that lands here by mistake would reach ioredis' default,
          // 127.0.0.1:6379: this one fails to resolve instead.
          provide: { redisUrl: 'redis://no-redis-in-unit-tests.invalid:1' },
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: E2E,
          // Brings dist/ up to date (the bins run it), and provides a private Redis (never
          // 127.0.0.1:6379) as inject('redisUrl').
          globalSetup: ['test/setup/build-global.ts', 'test/setup/redis-global.ts'],
        },
      },
    ],
  },
});
