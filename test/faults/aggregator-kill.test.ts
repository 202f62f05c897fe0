import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, integration, startKafka, startRedis, type KafkaHandle, type RedisHandle } from '@pulsegate/testkit';
import { counted, launch, report, settledCount, type ServiceProc } from './support/pipeline';
import { sendSpans } from './support/spans';

const CONNECTORS = ['KillA', 'KillB', 'KillC', 'KillD', 'KillE', 'KillF'];
const PER_CONNECTOR = 2_500;
const KILLS = 4;

describe.skipIf(integration(['redis', 'kafka']).skip)('fault: aggregator SIGKILL mid-batch, repeatedly', () => {
  let kafka: KafkaHandle;
  let redis: RedisHandle;
  let ingest: ServiceProc;
  let aggregator: ServiceProc | undefined;
  let env: Record<string, string>;
  let aggregatorPort: number;

  beforeAll(async () => {
    [kafka, redis] = await Promise.all([startKafka(), startRedis({ appendonly: true })]);
    // A short session timeout so a killed member's partitions move on within seconds; small
    // applies so a kill lands between (and inside) many of them.
    env = { KAFKA_BROKERS: kafka.brokers.join(','), REDIS_URL: redis.url, KAFKA_SESSION_TIMEOUT_MS: '6000', AGGREGATOR_MAX_BATCH_EVENTS: '300' };
    aggregatorPort = await freePort();
    ingest = await launch('ingest', await freePort(), env);
  });

  afterAll(async () => {
    await Promise.all([ingest?.stop(), aggregator?.stop()]);
    await redis?.stop();
    await kafka?.stop();
  });

  it('counts every event exactly once although the aggregator is killed while applying batches', async () => {
    // The backlog is on the topic before the aggregator first starts, so every start has work
    // in flight when it is killed.
    await Promise.all(CONNECTORS.map((c, i) => sendSpans(ingest.url, c, PER_CONNECTOR, { protocol: i % 2 === 0 ? 'json' : 'proto-gzip' })));
    const sent = CONNECTORS.length * PER_CONNECTOR;
    const total = async (): Promise<number> => {
      let n = 0;
      for (const c of CONNECTORS) n += await counted(`http://127.0.0.1:${aggregatorPort}`, c);
      return n;
    };
    const progress: number[] = [];
    for (let k = 0; k < KILLS; k++) {
      aggregator = await launch('aggregator', aggregatorPort, env, false);
      // Kill as soon as this incarnation has applied something more but not everything.
      const before = progress.at(-1) ?? 0;
      let now = before;
      for (let i = 0; i < 4_000 && aggregator.alive(); i++) {
        now = await total().catch(() => before);
        if (now > before) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      await aggregator.kill();
      progress.push(now);
      process.stdout.write(`aggregator killed (pid ${aggregator.pid}) with ${now} of ${sent} counted\n`);
      if (now >= sent) break;
    }
    aggregator = await launch('aggregator', aggregatorPort, env);
    const count = await settledCount(aggregator.url, CONNECTORS, sent);
    const { lost, duplicated } = report('aggregator SIGKILL x' + progress.length, sent, count, `(count seen at each kill: ${progress.join(', ')})`);
    // The kills really interrupted the work: at least one came with part of the backlog applied.
    expect(progress.some((p) => p > 0 && p < sent)).toBe(true);
    expect({ lost, duplicated }).toEqual({ lost: 0, duplicated: 0 });
    // Per connector too, not only in sum.
    for (const c of CONNECTORS) expect(await counted(aggregator.url, c)).toBe(PER_CONNECTOR);
  });
});
