import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBus, type Bus } from '@pulsegate/bus';
import { Topics, type SeriesSnapshot } from '@pulsegate/events';
import { integration, startKafka, startRedis, type KafkaHandle, type RedisHandle } from '@pulsegate/testkit';
import { loadConfig } from '../src/config';
import { generateHistory } from '../src/model/generator';
import { createRiskScorerService, type RiskScorerService } from '../src/service';
import { captureLogs, CONNECTOR } from './helpers';
import { window } from './store/contract';

// Distributed mode: state and models in a real Redis, telemetry over a real Kafka-protocol broker.
describe.skipIf(integration(['redis', 'kafka']).skip)('risk scorer on Redis and Kafka', () => {
  let redis: RedisHandle;
  let kafka: KafkaHandle;
  let bus: Bus;
  let producer: Bus;
  let service: RiskScorerService;

  beforeAll(async () => {
    [redis, kafka] = await Promise.all([startRedis(), startKafka()]);
    const env = { KAFKA_BROKERS: kafka.brokers.join(','), REDIS_URL: redis.url };
    bus = createBus({ ...env, clientId: 'risk-test' });
    producer = createBus({ ...env, clientId: 'aggregator-test' });
    service = await createRiskScorerService({ bus, logger: captureLogs().logger, config: loadConfig(env) });
    await service.start();
  });
  afterAll(async () => {
    await service?.stop();
    await bus?.close();
    await producer?.close();
    await kafka?.stop();
    await redis?.stop();
  });

  it('takes prior-version telemetry from the metrics topic and keeps models in Redis', async () => {
    // The service runs anonymous on loopback, so every caller is tenant "default".
    const snap: SeriesSnapshot = { type: 'series', schemaVersion: 1, tenant: 'default', connector: 'C', action: 'ListInvoices', version: '1.0.0', kind: 'read', at: 1, windows: { '1h': window(400, 398, 1, 350) } };
    await producer.publish(Topics.metrics, [{ key: 'default/C', value: JSON.stringify(snap) }]);
    const app = service.app;
    await request(app).put('/v1/catalog/connectors/C').send({ ...CONNECTOR, versions: [{ version: '1.0.0' }] }).expect(201);
    const trained = await request(app).post('/v1/risk/model:train').send({ records: generateHistory({ records: 500, seed: 1 }).records }).expect(201);
    const features = { lintWarnings: 0, operationsModifiedShare: 0, newScopesAdded: 0, payloadSizeIncrease: 0, breakingChanges: 0, priorIncidentRate: 0 };
    let body: { missing: string[]; features: Record<string, number>; modelVersion: string } = { missing: ['x'], features: {}, modelVersion: '' };
    for (let i = 0; i < 300 && body.missing.length > 0; i++) {
      body = (await request(app).post('/v1/risk/assessments').send({ connector: 'C', version: '1.1.0', features }).expect(201)).body;
      if (body.missing.length > 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(body.missing).toEqual([]);
    expect(body.features).toMatchObject({ priorSuccessRate: 398 / 400, priorThrottleRate: 1 / 400, priorP95Ms: 350, priorAlertsPer1000Calls: 0 });
    expect(body.modelVersion).toBe(trained.body.model.version);
    expect((await request(app).get('/v1/risk/models').expect(200)).body.models).toHaveLength(1);
    expect((await request(app).get('/v1/risk/assessments/C/1.1.0').expect(200)).body.features.priorP95Ms).toBe(350);
  });
});
