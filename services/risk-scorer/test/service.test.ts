import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBus } from '@pulsegate/bus';
import { Topics, type AlertEvent, type SeriesSnapshot } from '@pulsegate/events';
import { loadConfig } from '../src/config';
import { generateHistory } from '../src/model/generator';
import { createRiskScorerService, type RiskScorerService } from '../src/service';
import { MemoryRiskStore } from '../src/store/memory-store';
import { priorTelemetry } from '../src/telemetry/prior';
import { captureLogs, CONNECTOR } from './helpers';
import { window } from './store/contract';

const HOUR = 3_600_000;
const snapshot = (action: string, kind: 'read' | 'write', calls: number, successes: number, throttled: number, p95: number, at = 5): SeriesSnapshot => ({
  type: 'series',
  schemaVersion: 1,
  tenant: 'default',
  connector: 'ContosoSales',
  action,
  version: '1.2.0',
  kind,
  at,
  windows: { '5m': window(1, 1, 0, 1, HOUR - 300_000, HOUR), '1h': window(calls, successes, throttled, p95, 0, HOUR) },
});
const alert = (fingerprint: string, startsAt: number, state: 'firing' | 'resolved' = 'firing'): AlertEvent => ({
  schemaVersion: 1,
  tenant: 'default',
  fingerprint,
  rule: 'success-rate',
  state,
  labels: { connector: 'ContosoSales', version: '1.2.0', action: 'ListInvoices' },
  value: 0.97,
  threshold: 0.99,
  window: '5m',
  startsAt,
  endsAt: null,
  at: startsAt,
});

async function until(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('condition not reached');
}

let service: RiskScorerService | undefined;
let dir: string | undefined;
afterEach(async () => {
  await service?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('risk scorer service', () => {
  it('uses live telemetry of the prior version from the metrics and alerts topics', async () => {
    dir = mkdtempSync(join(tmpdir(), 'risk-svc-'));
    const bus = new MemoryBus();
    const store = new MemoryRiskStore();
    service = await createRiskScorerService({ bus, logger: captureLogs().logger, config: loadConfig({ RISK_MODEL_DIR: dir }), store });
    expect(service.isReady()).toBe(false);
    expect((await request(service.app).get('/readyz')).status).toBe(503);
    await service.start();
    expect(service.isReady()).toBe(true);

    await bus.publish(Topics.metrics, [
      { key: 'k', value: JSON.stringify(snapshot('ListInvoices', 'read', 1000, 990, 6, 420)) },
      { key: 'k', value: JSON.stringify(snapshot('CreateInvoice', 'write', 200, 190, 2, 1300)) },
      { key: 'k', value: JSON.stringify({ type: 'adoption', schemaVersion: 1, tenant: 'default', connector: 'ContosoSales' }) },
      { key: 'k', value: '{"type":"series","schemaVersion":1}' },
      { key: 'k', value: 'not json' },
    ]);
    await bus.publish(Topics.alerts, [
      { key: 'k', value: JSON.stringify(alert('f1', 10)) },
      { key: 'k', value: JSON.stringify(alert('f1', 10)) }, // redelivered: counted once
      { key: 'k', value: JSON.stringify(alert('f2', 20)) },
      { key: 'k', value: JSON.stringify(alert('f2', 30, 'resolved')) },
      { key: 'k', value: JSON.stringify(alert('f3', 2 * HOUR)) }, // outside the window
      { key: 'k', value: '{"schemaVersion":1}' },
    ]);
    await until(async () => (await store.alertsOf('default', 'ContosoSales', '1.2.0')).length === 3 && (await store.seriesOf('default', 'ContosoSales', '1.2.0')).length === 2);
    // Bad records went to the dead-letter topic with the reason; good ones alongside were kept.
    const dead = bus.recordsIn(Topics.deadLetter);
    expect(dead).toHaveLength(3);
    expect(dead.map((d) => d.headers['x-dlq-reason'])).toEqual(expect.arrayContaining([expect.stringMatching(/undecodable JSON/), expect.stringMatching(/tenant must be/)]));

    // Reference: calls 1200, successes 1180, throttled 8, worst P95 1300 ms, 2 alerts in [0, 1 h).
    const t = await priorTelemetry(store, 'default', 'ContosoSales', '1.2.0');
    expect(t).toEqual({ calls: 1200, from: 0, to: HOUR, alerts: 2, values: { priorSuccessRate: 1180 / 1200, priorP95Ms: 1300, priorThrottleRate: 8 / 1200, priorAlertsPer1000Calls: (2 / 1200) * 1000 } });

    const app = service.app;
    await request(app).put('/v1/catalog/connectors/ContosoSales').send({ ...CONNECTOR, versions: [{ version: '1.1.0' }, { version: '1.2.0' }] }).expect(201);
    await request(app).post('/v1/risk/model:train').send({ records: generateHistory({ records: 800, seed: 6 }).records }).expect(201);
    const a = await request(app)
      .post('/v1/risk/assessments')
      .send({ connector: 'ContosoSales', version: '1.3.0', features: { lintWarnings: 1, operationsModifiedShare: 0.2, newScopesAdded: 0, payloadSizeIncrease: 0, breakingChanges: 0, priorIncidentRate: 0 } })
      .expect(201);
    expect(a.body.previousVersion).toBe('1.2.0');
    expect(a.body.missing).toEqual([]);
    expect(a.body.level).not.toBe('unknown');
    expect(a.body.features).toMatchObject(t!.values);

    await bus.publish(Topics.releases, [
      { key: 'k', value: JSON.stringify({ schemaVersion: 1, tenant: 'default', connector: 'ContosoSales', version: '1.2.0', features: { breakingChanges: 1 }, incident: true, at: 7 }) },
      { key: 'k', value: JSON.stringify({ schemaVersion: 1, tenant: 'default', connector: 'ContosoSales', version: '1.2.0', features: { breakingChanges: NaN }, incident: true }) },
      { key: 'k', value: JSON.stringify({ schemaVersion: 1, tenant: 'default', connector: 'ContosoSales', version: '1.2.0', features: { vibes: 1 }, incident: true }) },
    ]);
    await until(async () => (await store.releases('default')).length === 1);
    expect(await store.releases('default')).toEqual([{ connector: 'ContosoSales', version: '1.2.0', features: { breakingChanges: 1 }, incident: true, at: 7 }]);
    await until(async () => bus.recordsIn(Topics.deadLetter).length === 5);

    await service.stop();
    await service.stop();
    expect(service.isReady()).toBe(false);
  });
});

describe('loadConfig', () => {
  it('defaults and validation messages name the variable', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ host: '127.0.0.1', port: 8083, kafkaBrokers: [], redisUrl: undefined, cutoffs: { medium: 0.3, high: 0.7 }, trainSteps: 100 });
    // Unset: models stay in the process (no directory shared between instances).
    expect(c.modelDir).toBeUndefined();
    expect(loadConfig({ RISK_MODEL_DIR: '/var/lib/pulsegate/models' }).modelDir).toBe('/var/lib/pulsegate/models');
    expect(loadConfig({ KAFKA_BROKERS: 'a:9092, b:9092', REDIS_CLUSTER_NODES: 'r1:7000,r2:7001' })).toMatchObject({ kafkaBrokers: ['a:9092', 'b:9092'], redisClusterNodes: [{ host: 'r1', port: 7000 }, { host: 'r2', port: 7001 }] });
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT must be an integer/);
    expect(() => loadConfig({ RISK_HIGH_CUTOFF: '1.5' })).toThrow(/RISK_HIGH_CUTOFF must be a number between 0 and 1/);
    expect(() => loadConfig({ RISK_MEDIUM_CUTOFF: '0.8' })).toThrow(/RISK_MEDIUM_CUTOFF must be below RISK_HIGH_CUTOFF/);
    expect(() => loadConfig({ REDIS_URL: 'localhost:6379' })).toThrow(/REDIS_URL must start with redis:\/\//);
    expect(() => loadConfig({ HOST: '0.0.0.0' })).toThrow(/PULSEGATE_API_KEYS is empty/);
    expect(loadConfig({ HOST: '0.0.0.0', PULSEGATE_ALLOW_ANONYMOUS: 'true' }).allowAnonymous).toBe(true);
    expect(c.aggregatorUrl).toBeUndefined();
    expect(loadConfig({ RISK_AGGREGATOR_URL: 'http://aggregator:8081' }).aggregatorUrl).toBe('http://aggregator:8081');
    expect(() => loadConfig({ RISK_AGGREGATOR_URL: 'aggregator:8081' })).toThrow(/RISK_AGGREGATOR_URL must be an http:\/\/ or https:\/\/ URL/);
  });

  it('RISK_RULE_OVERRIDES: per-tenant rule severities, errors name the variable', () => {
    expect(loadConfig({}).ruleOverrides).toEqual({});
    expect(loadConfig({ RISK_RULE_OVERRIDES: '{"t":{"operation-added":"off"}}' }).ruleOverrides).toEqual({ t: { 'operation-added': 'off' } });
    expect(() => loadConfig({ RISK_RULE_OVERRIDES: '{' })).toThrow(/RISK_RULE_OVERRIDES is not valid JSON/);
    expect(() => loadConfig({ RISK_RULE_OVERRIDES: '{"t":{"nope":"off"}}' })).toThrow(/RISK_RULE_OVERRIDES.t: unknown rule "nope"/);
    expect(() => loadConfig({ RISK_RULE_OVERRIDES: '{"t":{"operation-added":"loud"}}' })).toThrow(/RISK_RULE_OVERRIDES.t: operation-added must be error, warning, info or off/);
  });
});
