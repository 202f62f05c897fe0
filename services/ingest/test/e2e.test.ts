import { MemoryBus } from '@pulsegate/bus';
import { createLogger } from '@pulsegate/logging';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIngestService, type IngestService } from '../src/index';
import { bySpanId, listen, sendThroughSdk } from './exporters';
import { eventsOn, testConfig } from './helpers';

describe('end to end with the real OpenTelemetry exporters (embedded memory bus)', () => {
  const bus = new MemoryBus();
  let service: IngestService;
  let server: Awaited<ReturnType<typeof listen>>;

  beforeAll(async () => {
    service = await createIngestService({ bus, logger: createLogger({ name: 'ingest-e2e', level: 'silent' }), config: testConfig() });
    await service.start();
    server = await listen(service.app);
  });

  afterAll(async () => {
    await server.close();
    await service.stop();
    await bus.close();
  });

  it('OTLP/HTTP JSON (SimpleSpanProcessor) and protobuf + gzip (BatchSpanProcessor): every event arrives field for field', async () => {
    const want = [...(await sendThroughSdk('json', server.url, 25)), ...(await sendThroughSdk('proto-gzip', server.url, 300))];
    expect(want).toHaveLength(325);
    expect(bySpanId(eventsOn(bus))).toEqual(bySpanId(want));
    expect(service.counters).toMatchObject({ spansIgnored: 2, eventsProduced: 325, spansRejected: {} });
    expect(service.counters.responses['200']).toBeGreaterThanOrEqual(26 + 5);
  });

  it('after stop() the service is not ready and refuses with 503', async () => {
    const extra = await createIngestService({ bus, logger: createLogger({ name: 'ingest-e2e', level: 'silent' }), config: testConfig() });
    expect(extra.isReady()).toBe(false);
    await extra.start();
    expect(extra.isReady()).toBe(true);
    await extra.stop();
    await extra.stop();
    expect(extra.isReady()).toBe(false);
  });
});
