import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { integration, startKafka } from '../src/index';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(integration(['kafka']).skip)('startKafka', () => {
  it('starts a broker cluster that kafkajs can use, auto-creating topics with 4 partitions, gone by PID after stop()', async () => {
    const kafka = await startKafka({ brokers: 2 });
    const pid = kafka.pid;
    try {
      expect(kafka.brokers).toHaveLength(kafka.source === 'process' ? 2 : 1);
      const client = new Kafka({ clientId: 'testkit', brokers: kafka.brokers, logLevel: logLevel.NOTHING });
      const producer = client.producer({ allowAutoTopicCreation: true });
      await producer.connect();
      await producer.send({ topic: 'testkit.probe', acks: -1, messages: [{ key: 'k', value: 'v' }] });
      await producer.disconnect();
      const admin = client.admin();
      await admin.connect();
      const [topic] = (await admin.fetchTopicMetadata({ topics: ['testkit.probe'] })).topics;
      const offsets = await admin.fetchTopicOffsets('testkit.probe');
      await admin.disconnect();
      expect(topic!.partitions).toHaveLength(4);
      expect(offsets.reduce((sum, p) => sum + Number(p.high), 0)).toBe(1);
    } finally {
      await kafka.stop();
    }
    if (kafka.source === 'process') expect(alive(pid!)).toBe(false);
    await kafka.stop();
  });

  it('restart() after kill() gives a working, empty cluster and updates brokers in place', async () => {
    const kafka = await startKafka();
    try {
      if (kafka.source !== 'process') return;
      const brokers = kafka.brokers;
      const first = [...brokers];
      await kafka.kill();
      await kafka.restart();
      expect(kafka.brokers).toBe(brokers);
      expect(brokers).not.toEqual(first);
      const admin = new Kafka({ clientId: 'testkit', brokers, logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      expect((await admin.describeCluster()).brokers).toHaveLength(1);
      await admin.disconnect();
    } finally {
      await kafka.stop();
    }
  });
});
