import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBus } from '@pulsegate/bus';
import { parsePrometheusText, sampleValue, type ParsedSample } from '@pulsegate/telemetry';
import { loadConfig } from '../src/config';
import { generateHistory } from '../src/model/generator';
import { createRiskScorerService, type RiskScorerService } from '../src/service';
import { captureLogs, checker, CONNECTOR } from './helpers';

let service: RiskScorerService | undefined;
let bus: MemoryBus | undefined;
let dir: string | undefined;
afterEach(async () => {
  await service?.stop();
  await bus?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  service = undefined;
  bus = undefined;
  dir = undefined;
});

async function start(env: Record<string, string> = {}): Promise<RiskScorerService> {
  dir = mkdtempSync(join(tmpdir(), 'risk-metrics-'));
  bus = new MemoryBus();
  service = await createRiskScorerService({ bus, logger: captureLogs().logger, config: loadConfig({ RISK_MODEL_DIR: dir, ...env }) });
  await service.start();
  return service;
}

async function scrape(s: RiskScorerService, key?: string): Promise<{ status: number; samples: ParsedSample[]; body: unknown }> {
  let req = request(s.app).get('/metrics');
  if (key !== undefined) req = req.set('x-api-key', key);
  const res = await req;
  expect(checker.check('get', '/metrics', res.status, res.body)).toEqual([]);
  if (res.status === 200) expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return { status: res.status, samples: res.status === 200 ? parsePrometheusText(res.text) : [], body: res.body };
}

const FEATURES = [
  { lintWarnings: 0, operationsModifiedShare: 0.01, newScopesAdded: 0, payloadSizeIncrease: 0, breakingChanges: 0, priorIncidentRate: 0, priorSuccessRate: 0.999, priorP95Ms: 200, priorThrottleRate: 0, priorAlertsPer1000Calls: 0 },
  { lintWarnings: 40, operationsModifiedShare: 0.9, newScopesAdded: 3, payloadSizeIncrease: 2, breakingChanges: 6, priorIncidentRate: 0.5, priorSuccessRate: 0.8, priorP95Ms: 5000, priorThrottleRate: 0.2, priorAlertsPer1000Calls: 10 },
];

describe('GET /metrics (risk scorer)', () => {
  it('reports the exact totals of the traffic sent', async () => {
    const s = await start();
    const app = s.app;
    const empty = await scrape(s);
    expect(empty.samples.filter((x) => x.name === 'pulsegate_risk_model_info')).toEqual([]);

    await request(app).put('/v1/catalog/connectors/ContosoSales').send({ ...CONNECTOR, versions: [{ version: '1.1.0' }, { version: '1.2.0' }] }).expect(201);
    // Before any model: fail-closed answer (unknown level, approval required).
    const first = await request(app).post('/v1/risk/assessments').send({ connector: 'ContosoSales', version: '1.3.0', features: FEATURES[0] }).expect(201);
    expect([first.body.decision, first.body.level]).toEqual(['require-approval', 'unknown']);
    // One refused training (a single class) and one that trains.
    await request(app).post('/v1/risk/model:train').send({ records: [{ features: { breakingChanges: 0 }, incident: false }], features: ['breakingChanges'] }).expect(400);
    const trained = await request(app).post('/v1/risk/model:train').send({ records: generateHistory({ records: 800, seed: 6 }).records }).expect(201);
    const answers: Array<[string, string]> = [[first.body.decision, first.body.level]];
    for (const features of [...FEATURES, FEATURES[1]]) {
      const a = await request(app).post('/v1/risk/assessments').send({ connector: 'ContosoSales', version: '1.3.0', features }).expect(201);
      answers.push([a.body.decision, a.body.level]);
    }
    // A refused assessment (unknown connector) is not counted.
    await request(app).post('/v1/risk/assessments').send({ connector: 'Nope', version: '1.0.0' }).expect(404);

    const { samples } = await scrape(s);
    const expected = new Map<string, number>();
    for (const [d, l] of answers) expected.set(`${d}/${l}`, (expected.get(`${d}/${l}`) ?? 0) + 1);
    const got = new Map(samples.filter((x) => x.name === 'pulsegate_risk_assessments_total').map((x) => [`${x.labels.decision}/${x.labels.level}`, x.value]));
    expect(got).toEqual(expected);
    expect(expected.size).toBeGreaterThanOrEqual(2);
    expect(sampleValue(samples, 'pulsegate_risk_trainings_total', { outcome: 'trained' })).toBe(1);
    expect(sampleValue(samples, 'pulsegate_risk_trainings_total', { outcome: 'rejected' })).toBe(1);
    expect(sampleValue(samples, 'pulsegate_risk_model_info', { tenant: 'default', version: trained.body.model.version })).toBe(1);
    expect(samples.filter((x) => x.name === 'pulsegate_risk_model_info')).toHaveLength(1);
    expect(sampleValue(samples, 'pulsegate_risk_ready')).toBe(1);
  });

  it('needs an admin key when keys are configured and reports every key tenant', async () => {
    const keys = JSON.stringify([
      { key: 'writer', tenant: 'a', scopes: ['risk.write', 'risk.read'] },
      { key: 'ops', tenant: 'b', scopes: ['admin'] },
    ]);
    const s = await start({ PULSEGATE_API_KEYS: keys });
    expect((await scrape(s)).status).toBe(401);
    const forbidden = await scrape(s, 'writer');
    expect(forbidden.status).toBe(403);
    expect(forbidden.body).toMatchObject({ error: { code: 'FORBIDDEN' } });
    const trained = await request(s.app).post('/v1/risk/model:train').set('x-api-key', 'writer').send({ records: generateHistory({ records: 200, seed: 1 }).records }).expect(201);
    const ok = await scrape(s, 'ops');
    expect(ok.status).toBe(200);
    expect(ok.samples.filter((x) => x.name === 'pulsegate_risk_model_info')).toEqual([{ name: 'pulsegate_risk_model_info', labels: { tenant: 'a', version: trained.body.model.version }, value: 1 }]);
  });
});
