import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { integration, startKafka, startRedis } from '../src/index';

const saved = { ...process.env };

describe('integration()', () => {
  beforeEach(() => {
    // No binaries, no overrides, no containers: every need is unmet.
    process.env.PATH = '/nonexistent';
    process.env.PULSEGATE_TEST_RUNTIME = 'local';
    delete process.env.REDIS_URL;
    delete process.env.KAFKA_BROKERS;
    delete process.env.REDIS_CLUSTER_NODES;
    delete process.env.CI;
  });
  afterEach(() => {
    process.env = { ...saved };
    vi.restoreAllMocks();
  });

  it('skips with one loud line naming what to install', () => {
    const lines: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    const status = integration(['redis', 'kafka']);
    expect(status).toEqual({ skip: true, missing: ['redis', 'kafka'] });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('apt-get install -y redis-server kcat');
  });

  it('throws under CI=true instead of skipping', () => {
    process.env.CI = 'true';
    expect(() => integration(['kafka'])).toThrow(/CI=true.*apt-get install -y kcat/);
  });

  it('is satisfied by environment overrides', () => {
    process.env.REDIS_URL = 'redis://127.0.0.1:6399';
    process.env.KAFKA_BROKERS = '127.0.0.1:9092';
    process.env.REDIS_CLUSTER_NODES = '127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002';
    expect(integration(['redis', 'kafka', 'redis-cluster'])).toEqual({ skip: false, missing: [] });
  });

  it('hands back overridden services as external handles that refuse kill/restart', async () => {
    process.env.REDIS_URL = 'redis://10.0.0.5:6400';
    process.env.KAFKA_BROKERS = 'a:9092, b:9093';
    const redis = await startRedis();
    const kafka = await startKafka();
    expect(redis).toMatchObject({ source: 'external', host: '10.0.0.5', port: 6400, pid: undefined });
    expect(kafka.brokers).toEqual(['a:9092', 'b:9093']);
    await redis.stop();
    await kafka.stop();
    await expect(redis.kill()).rejects.toThrow(/not owned by the harness/);
    await expect(kafka.restart()).rejects.toThrow(/not owned by the harness/);
  });

  it('explains what is missing when no binary is found', async () => {
    await expect(startRedis()).rejects.toThrow('apt-get install -y redis-server');
    await expect(startKafka()).rejects.toThrow('apt-get install -y kcat');
  });
});
