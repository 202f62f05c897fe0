import { describe, expect, it } from 'vitest';
import { Topics, TOPIC_DEFAULTS } from '@pulsegate/events';
import { loadTopicsConfig, shortName } from '../../src/topics/config';

const HOUR = 3_600_000;

describe('loadTopicsConfig', () => {
  it('defaults: every topic in Topics, with TOPIC_DEFAULTS partitions and retention, broker replication factor', () => {
    const c = loadTopicsConfig({ KAFKA_BROKERS: 'k1:9092, k2:9092' });
    expect(c.brokers).toEqual(['k1:9092', 'k2:9092']);
    expect(c.replicationFactor).toBe(-1);
    expect(c.topics.map((t) => t.name).sort()).toEqual(Object.values(Topics).sort());
    const inv = c.topics.find((t) => t.name === Topics.invocations)!;
    expect(inv).toEqual({ name: Topics.invocations, partitions: TOPIC_DEFAULTS[Topics.invocations].partitions, retentionMs: 24 * HOUR });
    expect(c.topics.find((t) => t.name === Topics.releases)!.retentionMs).toBe(-1);
  });

  it('overrides by short or full name', () => {
    const c = loadTopicsConfig({
      KAFKA_BROKERS: 'k:9092',
      PULSEGATE_TOPIC_PARTITIONS: 'invocations=24, pulsegate.metrics.v1=6',
      PULSEGATE_TOPIC_RETENTION_HOURS: 'invocations.dlq=forever,alerts=1.5',
      PULSEGATE_TOPIC_REPLICATION_FACTOR: '3',
    });
    const by = new Map(c.topics.map((t) => [t.name, t]));
    expect(by.get(Topics.invocations)!.partitions).toBe(24);
    expect(by.get(Topics.metrics)!.partitions).toBe(6);
    expect(by.get(Topics.invocationsDeadLetter)!.retentionMs).toBe(-1);
    expect(by.get(Topics.alerts)!.retentionMs).toBe(1.5 * HOUR);
    expect(by.get(Topics.risk)!.partitions).toBe(TOPIC_DEFAULTS[Topics.risk].partitions);
    expect(c.replicationFactor).toBe(3);
  });

  it('short names', () => {
    expect(Object.values(Topics).map(shortName)).toEqual(['invocations', 'invocations.dlq', 'metrics', 'alerts', 'catalog', 'risk', 'releases', 'dlq']);
  });

  it('one error names every bad variable', () => {
    expect(() => loadTopicsConfig({})).toThrow('KAFKA_BROKERS is required');
    let message = '';
    try {
      loadTopicsConfig({ KAFKA_BROKERS: 'nope', PULSEGATE_TOPIC_PARTITIONS: 'invocations=0', PULSEGATE_TOPIC_RETENTION_HOURS: 'spans=3', PULSEGATE_TOPIC_REPLICATION_FACTOR: 'x' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('KAFKA_BROKERS must be a comma list of host:port, got "nope"');
    expect(message).toContain('PULSEGATE_TOPIC_PARTITIONS: invocations must be an integer 1-10000, got "0"');
    expect(message).toContain('PULSEGATE_TOPIC_RETENTION_HOURS: unknown topic "spans" (known: invocations, invocations.dlq, metrics, alerts, catalog, risk, releases, dlq)');
    expect(message).toContain('PULSEGATE_TOPIC_REPLICATION_FACTOR must be an integer 1-32, got "x"');
    expect(() => loadTopicsConfig({ KAFKA_BROKERS: 'k:1', PULSEGATE_TOPIC_PARTITIONS: 'invocations' })).toThrow('PULSEGATE_TOPIC_PARTITIONS must be a comma list of <topic>=<value>, got "invocations"');
  });
});
