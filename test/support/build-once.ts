import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Vitest global setup: builds every service and the pulsegate app once before any test file runs
 * (`npm run build`; turbo answers from its cache when nothing changed), because the suites start
 * the compiled JavaScript, as users and the manifests do, never TypeScript through tsx.
 */
export default function setup(): void {
  execFileSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: 'inherit', env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' } });
}
