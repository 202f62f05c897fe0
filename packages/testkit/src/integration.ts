import { onPath } from './processes';
import { containerRuntimeHinted } from './runtime';

/** A real service an integration suite needs. */
export type IntegrationNeed = 'redis' | 'kafka' | 'redis-cluster' | 'alertmanager' | 'prometheus';

/** What an integration suite needs and whether it can run here. */
export interface IntegrationStatus {
  /** True when at least one need cannot be met; the suite should skip (never under CI=true). */
  skip: boolean;
  /** The needs that cannot be met. */
  missing: IntegrationNeed[];
}

const INSTALL_HINT: Record<IntegrationNeed, { packages: string[]; env: string }> = {
  redis: { packages: ['redis-server'], env: 'REDIS_URL' },
  'redis-cluster': { packages: ['redis-server'], env: 'REDIS_CLUSTER_NODES' },
  kafka: { packages: ['kcat'], env: 'KAFKA_BROKERS' },
  alertmanager: { packages: ['prometheus-alertmanager'], env: 'PATH' },
  prometheus: { packages: ['prometheus'], env: 'PATH' },
};

function satisfiable(need: IntegrationNeed, containers: boolean): boolean {
  const env = (name: string): boolean => (process.env[name] ?? '') !== '';
  switch (need) {
    case 'redis':
      return env('REDIS_URL') || onPath('redis-server') || containers;
    case 'redis-cluster':
      // Cluster nodes always run as local processes (see startRedisCluster).
      return env('REDIS_CLUSTER_NODES') || (onPath('redis-server') && onPath('redis-cli'));
    case 'kafka':
      return env('KAFKA_BROKERS') || onPath('kcat') || containers;
    case 'alertmanager':
      return onPath('prometheus-alertmanager');
    case 'prometheus':
      return onPath('prometheus') && onPath('promtool');
  }
}

/**
 * Decides, synchronously, whether an integration suite can run:
 * `describe.skipIf(integration(['redis', 'kafka']).skip)(...)`. A need is met by its environment
 * override, its binary on PATH, or a container runtime socket. When one is not, prints one loud
 * line naming what to install and returns skip=true; under `CI=true` it throws instead, because
 * CI must never pass by skipping.
 */
export function integration(needs: IntegrationNeed[]): IntegrationStatus {
  const containers = containerRuntimeHinted();
  const missing = [...new Set(needs)].filter((n) => !satisfiable(n, containers));
  if (missing.length === 0) return { skip: false, missing };
  const packages = [...new Set(missing.flatMap((n) => INSTALL_HINT[n].packages))];
  const envs = missing.map((n) => INSTALL_HINT[n].env);
  const line = `integration suite needs ${missing.join(', ')}: apt-get install -y ${packages.join(' ')} (or set ${envs.join(' / ')}, or start a container runtime)`;
  if (process.env.CI === 'true') throw new Error(`CI=true and ${line}`);
  process.stderr.write(`\n!!! SKIPPING ${line}\n\n`);
  return { skip: true, missing };
}
