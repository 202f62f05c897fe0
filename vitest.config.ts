import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// One runner for the whole repo. Integration suites start their own Redis / Kafka-protocol broker
// through @pulsegate/testkit, so they are given generous timeouts and run with limited parallelism
// (the CI machine has two cores).
export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'services/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['**/node_modules/**', 'test/faults/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Suites start the compiled services (dist/): build them once first.
    globalSetup: [fileURLToPath(new URL('./test/support/build-once.ts', import.meta.url))],
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    reporters: ['default'],
  },
});
