import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('../..', import.meta.url));
const file = `${root}/docker-compose.yml`;

interface ComposeService {
  command?: string[];
  restart?: string;
  build?: { args?: Record<string, string> };
  depends_on?: Record<string, { condition: string }> | string[];
  environment?: Record<string, string>;
}

/** docker-compose.yml as `docker-compose config` resolves it (anchors, merges, ${VAR:-default}). */
function resolved(): Record<string, ComposeService> {
  const onPath = (() => {
    try {
      execFileSync('docker-compose', ['version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  if (!onPath && process.env.CI === 'true') throw new Error('docker-compose is not on PATH: apt-get install -y docker-compose');
  // Without docker-compose (a dev machine), the YAML parser resolves anchors and merge keys.
  const text = onPath ? execFileSync('docker-compose', ['-f', file, 'config'], { encoding: 'utf8', env: { ...process.env, COMPOSE_PROJECT_NAME: 'pulsegate' } }) : readFileSync(file, 'utf8');
  return (parse(text, { merge: true }) as { services: Record<string, ComposeService> }).services;
}

describe('docker-compose.yml', () => {
  const services = resolved();
  const dependsOn = (s: ComposeService): Record<string, string> =>
    Array.isArray(s.depends_on) ? Object.fromEntries(s.depends_on.map((d) => [d, 'service_started'])) : Object.fromEntries(Object.entries(s.depends_on ?? {}).map(([k, v]) => [k, v.condition]));

  it('a one-shot topics service runs `pulsegate topics` (dist/topics.js) once Kafka is healthy, and the broker auto-creates nothing', () => {
    const topics = services.topics!;
    expect(topics.command).toEqual(['node', 'dist/topics.js']);
    expect(topics.build?.args?.WORKSPACE).toBe('apps/pulsegate');
    expect(topics.restart).toBe('no');
    expect(dependsOn(topics)).toEqual({ kafka: 'service_healthy' });
    expect(topics.environment?.KAFKA_BROKERS).toBe('kafka:9092');
    expect(String(services.kafka!.environment?.KAFKA_AUTO_CREATE_TOPICS_ENABLE)).toBe('false');
  });

  it('every service with a Kafka client starts after the topics exist and never asks for auto-creation', () => {
    const clients = Object.entries(services).filter(([name, s]) => name !== 'topics' && s.environment?.KAFKA_BROKERS !== undefined);
    expect(clients.map(([n]) => n).sort()).toEqual(['aggregator', 'anomaly-detector', 'ingest', 'risk-scorer']);
    for (const [name, s] of clients) {
      expect(dependsOn(s).topics, name).toBe('service_completed_successfully');
      expect(String(s.environment?.KAFKA_AUTO_CREATE_TOPICS), name).toBe('false');
    }
  });
});
