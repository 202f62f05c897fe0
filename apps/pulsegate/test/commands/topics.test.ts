import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import kafkajs from 'kafkajs';
import { Topics } from '@pulsegate/events';
import { freePort, integration, startKafka, type KafkaHandle } from '@pulsegate/testkit';
import { runTopicsCommand, TOPICS_EXIT } from '../../src/commands/topics';

const ALL_FOUR = Object.values(Topics)
  .map((t) => `${t}=4`)
  .join(',');

async function topics(args: string[], env: Record<string, string | undefined>): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runTopicsCommand(args, { env, io: { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } } });
  return { code, out, err };
}

describe('pulsegate topics: configuration', () => {
  it('no KAFKA_BROKERS: exit 2 naming the variable, before any connection', async () => {
    const r = await topics([], {});
    expect(r.code).toBe(TOPICS_EXIT.couldNotRun);
    expect(r.err).toBe('topics: KAFKA_BROKERS is required (comma list of host:port)\n');
  });

  it('bad override and unknown flag: exit 2', async () => {
    expect((await topics([], { KAFKA_BROKERS: 'k:9092', PULSEGATE_TOPIC_PARTITIONS: 'metrics=-1' })).err).toContain('PULSEGATE_TOPIC_PARTITIONS: metrics must be an integer 1-10000');
    const r = await topics(['--force'], { KAFKA_BROKERS: 'k:9092' });
    expect(r.code).toBe(TOPICS_EXIT.couldNotRun);
    expect(r.err).toContain('unknown option --force');
  });

  it('nothing listening on KAFKA_BROKERS: exit 2 naming the brokers, no hang', async () => {
    const port = await freePort();
    const r = await topics([], { KAFKA_BROKERS: `127.0.0.1:${port}` });
    expect(r.code).toBe(TOPICS_EXIT.couldNotRun);
    expect(r.err).toMatch(new RegExp(`^topics: reading the topics on KAFKA_BROKERS=127\\.0\\.0\\.1:${port} failed: .*ECONNREFUSED`));
  }, 60_000);
});

/**
 * The librdkafka mock broker answers metadata and produce requests and auto-creates topics with
 * 4 partitions, but names no controller, so CreateTopics, CreatePartitions and DescribeConfigs
 * fail: the command's error paths against a real Kafka-protocol broker.
 */
describe.skipIf(integration(['kafka']).skip)('pulsegate topics on the Kafka mock broker', () => {
  let kafka: KafkaHandle;
  let env: Record<string, string>;
  const existing = async (): Promise<string[]> => {
    const admin = new kafkajs.Kafka({ brokers: kafka.brokers, clientId: 'topics-test', logLevel: kafkajs.logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      return (await admin.listTopics()).filter((t) => t.startsWith('pulsegate.')).sort();
    } finally {
      await admin.disconnect();
    }
  };

  beforeAll(async () => {
    kafka = await startKafka();
    env = { KAFKA_BROKERS: kafka.brokers.join(',') };
  }, 60_000);
  afterAll(async () => {
    await kafka?.stop();
  });

  it('--dry-run on an empty cluster: plans every topic, changes nothing, exit 0', async () => {
    const r = await topics(['--dry-run'], env);
    expect(r.err).toBe('');
    expect(r.code).toBe(TOPICS_EXIT.ok);
    expect(r.out).toContain(`Pulsegate topics on ${env.KAFKA_BROKERS} (dry run, nothing changed):\n`);
    for (const t of Object.values(Topics)) expect(r.out).toMatch(new RegExp(`  ${t.replace(/\./g, '\\.')} +would create \\(\\d+ partitions, retention `));
    expect(r.out).toContain('  pulsegate.invocations.v1      would create (12 partitions, retention 24 h)');
    expect(await existing()).toEqual([]);
  }, 60_000);

  it('create on a broker without CreateTopics: exit 1 with the broker\'s reason, no hang', async () => {
    const r = await topics(['--timeout-ms', '20000'], env);
    expect(r.code).toBe(TOPICS_EXIT.failed);
    expect(r.err).toMatch(/^topics: could not create pulsegate\.invocations\.v1, .*pulsegate\.dlq\.v1: .*the cluster names no controller broker, which kafkajs sends CreateTopics, CreatePartitions and DescribeConfigs to\)\n$/);
    expect(await existing()).toEqual([]);
  }, 60_000);

  it('topics that exist with enough partitions: exit 0 and "topics ready", retention noted as unchecked', async () => {
    // Produce once to each topic: the mock creates it with 4 partitions.
    const producer = new kafkajs.Kafka({ brokers: kafka.brokers, clientId: 'topics-test', logLevel: kafkajs.logLevel.NOTHING }).producer({ allowAutoTopicCreation: true });
    await producer.connect();
    for (const t of Object.values(Topics)) await producer.send({ topic: t, messages: [{ value: 'x' }] });
    await producer.disconnect();
    expect(await existing()).toEqual(Object.values(Topics).sort());

    const r = await topics([], { ...env, PULSEGATE_TOPIC_PARTITIONS: ALL_FOUR });
    expect(r.err).toBe('');
    expect(r.code).toBe(TOPICS_EXIT.ok);
    expect(r.out).toContain('  pulsegate.metrics.v1          exists (4 partitions)');
    expect(r.out).toContain('note: retention of existing topics not checked: ');
    expect(r.out).toContain(`topics ready: 8 topics on ${env.KAFKA_BROKERS}\n`);
  }, 60_000);

  it('fewer partitions than wanted: plan names the topic and the fix, exit 1; --add-partitions fails clearly on this broker', async () => {
    const dry = await topics(['--dry-run'], env);
    expect(dry.code).toBe(TOPICS_EXIT.failed);
    expect(dry.out).toContain('  pulsegate.invocations.v1      has 4 partitions, wants 12: rerun with --add-partitions');

    const json = await topics(['--dry-run', '--json'], env);
    const plan = JSON.parse(json.out) as { blocked: boolean; steps: Array<{ topic: string; action: string }> };
    expect(plan.blocked).toBe(true);
    expect(plan.steps.filter((s) => s.action === 'too-few-partitions').map((s) => s.topic)).toEqual([Topics.invocations, Topics.metrics]);

    const apply = await topics([], env);
    expect(apply.code).toBe(TOPICS_EXIT.failed);
    expect(apply.err).toBe('topics: not in shape after the run: pulsegate.invocations.v1 (4 of 12 partitions), pulsegate.metrics.v1 (4 of 12 partitions)\n');

    const grow = await topics(['--add-partitions'], env);
    expect(grow.code).toBe(TOPICS_EXIT.failed);
    expect(grow.err).toMatch(/^topics: could not add partitions to pulsegate\.invocations\.v1, pulsegate\.metrics\.v1: .*no controller broker/);
  }, 60_000);

  it('the pulsegate command exits with the same codes (process.exit once the answer is known)', async () => {
    // The compiled command, as the init job runs it (the test setup builds dist/ once).
    const dist = join(__dirname, '..', '..', 'dist');
    const run = async (env: Record<string, string>, command = [join(dist, 'main.js'), 'topics']): Promise<{ code: number; stdout: string; stderr: string }> => {
      try {
        const r = await promisify(execFile)(process.execPath, [...command, '--dry-run'], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 });
        return { code: 0, stdout: r.stdout, stderr: r.stderr };
      } catch (err) {
        const e = err as { code: number; stdout: string; stderr: string };
        return { code: e.code, stdout: e.stdout, stderr: e.stderr };
      }
    };
    const ok = await run({ ...env, PULSEGATE_TOPIC_PARTITIONS: ALL_FOUR });
    expect(ok.code, ok.stderr).toBe(TOPICS_EXIT.ok);
    expect(ok.stdout).toContain('  pulsegate.dlq.v1              exists (4 partitions)');
    const short = await run(env);
    expect(short.code).toBe(TOPICS_EXIT.failed);
    // dist/topics.js, what the init jobs run: the same command bundled alone.
    const alone = await run({ ...env, PULSEGATE_TOPIC_PARTITIONS: ALL_FOUR }, [join(dist, 'topics.js')]);
    expect(alone.code, alone.stderr).toBe(TOPICS_EXIT.ok);
    expect(alone.stdout).toBe(ok.stdout);
    expect((await run(env, [join(dist, 'topics.js')])).code).toBe(TOPICS_EXIT.failed);
    const none = await run({});
    expect(none.code).toBe(TOPICS_EXIT.couldNotRun);
    expect(none.stderr).toBe('topics: KAFKA_BROKERS is required (comma list of host:port)\n');
  }, 120_000);

  it('a broker that stops answering: exit 2 once --timeout-ms has passed', async () => {
    await kafka.pause();
    try {
      const r = await topics(['--timeout-ms', '3000'], env);
      expect(r.code).toBe(TOPICS_EXIT.couldNotRun);
      expect(r.err).toBe(`topics: reading the topics did not finish within --timeout-ms 3000 (KAFKA_BROKERS=${env.KAFKA_BROKERS})\n`);
    } finally {
      await kafka.resume();
    }
  }, 60_000);
});
