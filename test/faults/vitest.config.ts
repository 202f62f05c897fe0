import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The fault suite runs the distributed pipeline as separate processes and attacks it. One file at a
// time: each file starts its own broker, Redis and services, and the machine has two cores.
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // Suites start the compiled services (dist/): build them once first.
    globalSetup: [fileURLToPath(new URL('../support/build-once.ts', import.meta.url))],
    pool: 'forks',
    poolOptions: { forks: { singleFork: true } },
    fileParallelism: false,
    reporters: ['default'],
  },
});
