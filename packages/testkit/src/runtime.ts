import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** How long the harness waits for a container runtime to answer, ms. */
export const RUNTIME_PROBE_TIMEOUT_MS = 3_000;

/**
 * Synchronous hint that a container runtime may be reachable (a socket or a configured host).
 * `PULSEGATE_TEST_RUNTIME=local` turns the container path off; `=containers` forces it on.
 */
export function containerRuntimeHinted(): boolean {
  const forced = process.env.PULSEGATE_TEST_RUNTIME;
  if (forced === 'local') return false;
  if (forced === 'containers') return true;
  if (process.env.DOCKER_HOST !== undefined && process.env.DOCKER_HOST !== '') return true;
  if (process.env.TESTCONTAINERS_HOST_OVERRIDE !== undefined) return true;
  const candidates = ['/var/run/docker.sock', join(homedir(), '.docker/run/docker.sock'), join(homedir(), '.testcontainers.properties')];
  if (process.env.XDG_RUNTIME_DIR !== undefined) candidates.push(join(process.env.XDG_RUNTIME_DIR, 'docker.sock'), join(process.env.XDG_RUNTIME_DIR, 'podman/podman.sock'));
  return candidates.some((p) => existsSync(p));
}

let probe: Promise<string | null> | undefined;

/**
 * Host name of a container runtime that answered, or null. Probed once per process with
 * testcontainers' `getContainerRuntimeClient()`, bounded by RUNTIME_PROBE_TIMEOUT_MS; skipped
 * entirely (no import of testcontainers) when nothing hints at a runtime.
 */
export function containerRuntimeHost(): Promise<string | null> {
  if (!containerRuntimeHinted()) return Promise.resolve(null);
  probe ??= (async () => {
    let timer: NodeJS.Timeout | undefined;
    try {
      const { getContainerRuntimeClient } = await import('testcontainers');
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('container runtime did not answer')), RUNTIME_PROBE_TIMEOUT_MS);
      });
      const client = await Promise.race([getContainerRuntimeClient(), timeout]);
      return client.info.containerRuntime.host;
    } catch {
      return null;
    } finally {
      clearTimeout(timer);
    }
  })();
  return probe;
}
