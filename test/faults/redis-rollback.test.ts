import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Partitioners } from 'kafkajs';
import { DEFAULT_PARTITIONS } from '@pulsegate/bus';
import { seriesKey, Topics } from '@pulsegate/events';
import { freePort, integration, redisCommand, startKafka, startRedis, type KafkaHandle, type RedisHandle } from '@pulsegate/testkit';
import { counted, launch, report, settledCount, waitFor, type ServiceProc } from './support/pipeline';
import { sendSpans } from './support/spans';

/** Spans per connector in each phase: before the copy, after it (settled), while Redis is killed, after the restart. */
const PER_PHASE = 1_000;
const GROUP = 'pulsegate-aggregator';

/**
 * One connector per partition of the invocations topic (4 on the mock broker), so every partition
 * has records to replay and new ones after the restart. Ingest keys records by tenant/connector;
 * the producer places them with kafkajs' default (murmur2) partitioner.
 */
function connectorsOnEveryPartition(): string[] {
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: DEFAULT_PARTITIONS }, (_, i) => ({ partitionId: i, leader: 1, replicas: [1], isr: [1], partitionErrorCode: 0 }));
  const byPartition = new Map<number, string>();
  for (let i = 0; byPartition.size < DEFAULT_PARTITIONS; i++) {
    const name = `Rollback${i}`;
    const p = partitioner({ topic: Topics.invocations, partitionMetadata, message: { key: seriesKey('default', name), value: null } });
    if (!byPartition.has(p)) byPartition.set(p, name);
  }
  return [...byPartition.values()];
}

describe.skipIf(integration(['redis', 'kafka']).skip)('fault: Redis restarted from an older snapshot (lost its most recent writes)', () => {
  let kafka: KafkaHandle;
  let redis: RedisHandle;
  let ingest: ServiceProc;
  let aggregator: ServiceProc;
  let backupDir: string;

  beforeAll(async () => {
    // RDB only (no AOF): the server is restarted from a dump.rdb copied mid-stream.
    [kafka, redis] = await Promise.all([startKafka(), startRedis()]);
    backupDir = mkdtempSync(join(tmpdir(), 'pulsegate-rollback-'));
    const env = { KAFKA_BROKERS: kafka.brokers.join(','), REDIS_URL: redis.url, KAFKA_SESSION_TIMEOUT_MS: '6000', AGGREGATOR_MAX_BATCH_EVENTS: '300' };
    [ingest, aggregator] = await Promise.all([launch('ingest', await freePort(), env), launch('aggregator', await freePort(), env)]);
  });

  afterAll(async () => {
    await Promise.all([ingest?.stop(), aggregator?.stop()]);
    await redis?.stop();
    await kafka?.stop();
    if (backupDir !== undefined) rmSync(backupDir, { recursive: true, force: true });
  });

  it('resumes from the offsets Redis holds after a restart from an older RDB copy: nothing lost, nothing doubled', async (ctx) => {
    if (redis.dataDir === undefined) {
      const why = `this fault restores a dump.rdb into the data directory of a redis-server process started by the harness; got a ${redis.source} server`;
      if (process.env.CI === 'true') throw new Error(why);
      process.stdout.write(`SKIPPED redis-rollback: ${why}\n`);
      ctx.skip();
      return;
    }
    const connectors = connectorsOnEveryPartition();
    const send = (): Promise<unknown> => Promise.all(connectors.map((c, i) => sendSpans(ingest.url, c, PER_PHASE, { protocol: i % 2 === 0 ? 'json' : 'proto-gzip' })));
    const redisCall = (args: string[]): Promise<string> => redisCommand(redis.host, redis.port, args, 10_000);
    const resumeOffsets = async (): Promise<number[]> => {
      const out: number[] = [];
      for (let p = 0; p < DEFAULT_PARTITIONS; p++) out.push(Number((await redisCall(['HGET', 'pg:w1:{resume}:offsets', `${GROUP}|${Topics.invocations}|${p}`])) || -1));
      return out;
    };

    await send();
    expect(await settledCount(aggregator.url, connectors, connectors.length * PER_PHASE, 60_000, 500)).toBe(connectors.length * PER_PHASE);
    // The snapshot: SAVE writes dump.rdb synchronously; the copy is what an older backup would be.
    expect(await redisCall(['SAVE'])).toBe('OK');
    copyFileSync(join(redis.dataDir!, 'dump.rdb'), join(backupDir, 'dump.rdb'));
    const atSnapshot = await resumeOffsets();

    // Written after the snapshot, applied and committed on Kafka: what the restart loses.
    await send();
    expect(await settledCount(aggregator.url, connectors, 2 * connectors.length * PER_PHASE, 60_000, 500)).toBe(2 * connectors.length * PER_PHASE);
    const beforeCrash = await resumeOffsets();
    for (let p = 0; p < DEFAULT_PARTITIONS; p++) expect(beforeCrash[p]).toBeGreaterThan(atSnapshot[p]!);

    // Kept sending: Redis is killed while these are being applied (ingest needs no Redis, so every
    // request is accepted and lands on the topic).
    const inFlight = send();
    const total = async (): Promise<number> => {
      let n = 0;
      for (const c of connectors) n += await counted(aggregator.url, c).catch(() => 0);
      return n;
    };
    let atKill = 0;
    for (let i = 0; i < 3_000 && atKill <= 2 * connectors.length * PER_PHASE; i++) {
      atKill = await total();
      await new Promise((r) => setTimeout(r, 10));
    }
    await redis.kill();
    await inFlight;
    await waitFor(`${aggregator.url}/readyz`, 503, 30_000, 'aggregator /readyz while Redis is down');
    copyFileSync(join(backupDir, 'dump.rdb'), join(redis.dataDir!, 'dump.rdb'));
    await redis.restart();
    const afterRestart = await resumeOffsets();
    await waitFor(`${aggregator.url}/readyz`, 200, 60_000, 'aggregator /readyz after Redis is back');

    // More records on every partition after the restart.
    await send();
    const sent = 4 * connectors.length * PER_PHASE;
    const count = await settledCount(aggregator.url, connectors, sent, 120_000);
    const { lost, duplicated } = report(
      'Redis restarted from an older RDB',
      sent,
      count,
      `(counted when Redis was killed: ${atKill}; resume offsets at the copy ${atSnapshot.join('/')}, after the last settled phase ${beforeCrash.join('/')}, right after the restart ${afterRestart.join('/')}, at the end ${(await resumeOffsets()).join('/')})`,
    );
    expect({ lost, duplicated }).toEqual({ lost: 0, duplicated: 0 });
    for (const c of connectors) expect(await counted(aggregator.url, c)).toBe(4 * PER_PHASE);
    // Redis came back behind what Kafka had committed on every partition, and the aggregator read
    // each one again from Redis's offset.
    for (let p = 0; p < DEFAULT_PARTITIONS; p++) expect(afterRestart[p]).toBeLessThan(beforeCrash[p]!);
    const rewound = new Set(
      aggregator
        .output()
        .split('\n')
        .filter((l) => l.includes("the handler's store is behind this batch"))
        .map((l) => (JSON.parse(l) as { partition: number }).partition),
    );
    expect([...rewound].sort()).toEqual([0, 1, 2, 3]);
  });
});
