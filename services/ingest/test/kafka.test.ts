import { createBus, type Bus, type Subscription } from '@pulsegate/bus';
import { Topics, decodeInvocationBatch, type InvocationEvent } from '@pulsegate/events';
import { createLogger } from '@pulsegate/logging';
import { integration, startKafka, type KafkaHandle } from '@pulsegate/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIngestService, type IngestService } from '../src/index';
import { bySpanId, listen, sendThroughSdk } from './exporters';
import { testConfig } from './helpers';

describe.skipIf(integration(['kafka']).skip)('end to end with the real exporters into Kafka (harness broker)', () => {
  let kafka: KafkaHandle;
  let bus: Bus;
  let service: IngestService;
  let server: Awaited<ReturnType<typeof listen>>;

  beforeAll(async () => {
    kafka = await startKafka();
    bus = createBus({ KAFKA_BROKERS: kafka.brokers.join(','), clientId: 'ingest-kafka-test' });
    service = await createIngestService({ bus, logger: createLogger({ name: 'ingest-kafka', level: 'silent' }), config: testConfig() });
    await service.start();
    server = await listen(service.app);
  });

  afterAll(async () => {
    await server?.close();
    await service?.stop();
    await bus?.close();
    await kafka?.stop();
  });

  it('every event the JSON and protobuf+gzip exporters send is acknowledged by the broker and read back field for field', async () => {
    const want = [...(await sendThroughSdk('json', server.url, 20)), ...(await sendThroughSdk('proto-gzip', server.url, 200))];
    const got: InvocationEvent[] = [];
    let done: () => void = () => undefined;
    const all = new Promise<void>((resolve) => (done = resolve));
    const sub: Subscription = await bus.subscribe<InvocationEvent[]>({
      groupId: `ingest-e2e-${Date.now()}`,
      topic: Topics.invocations,
      fromBeginning: true,
      decode: (r) => decodeInvocationBatch(r.value),
      handle: async (batch) => {
        for (const item of batch.items) got.push(...item.value);
        if (got.length >= want.length) done();
      },
    });
    await all;
    await sub.stop();
    expect(bySpanId(got)).toEqual(bySpanId(want));
  });
});
