import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateTraffic } from '../../src/canary/traffic';
import { generateHistory } from '../../src/model/generator';
import { CONNECTOR, makeApp } from '../helpers';

const example = (name: string): string => readFileSync(join(__dirname, '..', '..', 'examples', name), 'utf8');
const key = { 'x-api-key': 'key-a' };
// A healthy prior version: the generating model puts this well below the medium cut-off.
const healthy = { priorSuccessRate: 1, priorP95Ms: 200, priorThrottleRate: 0, priorAlertsPer1000Calls: 0, priorIncidentRate: 0 };
const traffic = (scale: number) => ({
  baseline: { ListInvoices: generateTraffic({ calls: 2000 }, 11), CreateInvoice: generateTraffic({ calls: 2000 }, 12) },
  candidate: { ListInvoices: generateTraffic({ calls: 2000, scale }, 13), CreateInvoice: generateTraffic({ calls: 2000 }, 14) },
});

let ctx: ReturnType<typeof makeApp> | undefined;
afterEach(() => ctx?.cleanup());

async function setup(train: boolean) {
  ctx = makeApp({ keys: true });
  await ctx.call('put', '/v1/catalog/connectors/ContosoSales', CONNECTOR, key);
  if (train) expect((await ctx.call('post', '/v1/risk/model:train', { records: generateHistory({ records: 2000, seed: 12 }).records }, key)).status).toBe(201);
  return ctx;
}

describe('POST /v1/risk/gate', () => {
  it('ContosoSales 1.2.0 -> 2.0.0 passes semver, lint and a healthy canary; the model decides whether a person looks', async () => {
    const c = await setup(true);
    const r = await c.call('post', '/v1/risk/gate', { connector: 'ContosoSales', version: '2.0.0', previousVersion: '1.2.0', oldSpec: example('contoso-sales-1.2.0.json'), newSpec: example('contoso-sales-2.0.0.json'), features: healthy, canary: traffic(1) }, key);
    expect(r.status).toBe(200);
    expect(r.body.checks.slice(0, 3).map((x: { check: string; status: string }) => `${x.check} ${x.status}`)).toEqual(['semver pass', 'lint pass', 'canary pass']);
    expect(r.body.details.findings.errors.map((f: { rule: string }) => f.rule)).toEqual(['operation-removed', 'request-parameter-required-added', 'request-enum-narrowed']);
    expect(r.body.details.assessment.features).toMatchObject({ lintWarnings: 0, breakingChanges: 3, newScopesAdded: 1 });
    // Three breaking changes and a new scope make the model's level at least medium: held for a person.
    expect(r.body.details.assessment.level).not.toBe('low');
    expect(r.body.outcome).toBe('hold');
    expect(r.body.reasons[0]).toMatch(/^model hold: level (medium|high), probability 0\.\d{3}/);
  });

  it('a PATCH release without spec changes, a healthy canary and a low model level promotes', async () => {
    const c = await setup(true);
    const patch = JSON.parse(example('contoso-sales-1.2.0.json')) as { info: { version: string } };
    patch.info.version = '1.2.1';
    const r = await c.call('post', '/v1/risk/gate', { connector: 'ContosoSales', version: '1.2.1', previousVersion: '1.2.0', oldSpec: example('contoso-sales-1.2.0.json'), newSpec: patch, features: healthy, canary: traffic(1) }, key);
    expect(r.body.checks.map((x: { check: string; status: string }) => `${x.check} ${x.status}`)).toEqual(['semver pass', 'lint pass', 'canary pass', 'model pass']);
    expect(r.body.outcome).toBe('promote');
  });

  it('the same change labelled 1.3.0 is rejected whatever the model says; a 20 % slower candidate is rejected too', async () => {
    const c = await setup(true);
    const refused = await c.call('post', '/v1/risk/gate', { connector: 'ContosoSales', version: '1.3.0', previousVersion: '1.2.0', oldSpec: example('contoso-sales-1.2.0.json'), newSpec: example('contoso-sales-1.3.0.json'), features: healthy, canary: traffic(1) }, key);
    expect(refused.body.outcome).toBe('reject');
    expect(refused.body.reasons[0]).toBe('semver fail: 3 breaking change(s) (operation-removed, request-parameter-required-added, request-enum-narrowed) need a MAJOR version; 1.2.0 -> 1.3.0 is a MINOR bump');
    const slow = await c.call('post', '/v1/risk/gate', { connector: 'ContosoSales', version: '2.0.0', previousVersion: '1.2.0', oldSpec: example('contoso-sales-1.2.0.json'), newSpec: example('contoso-sales-2.0.0.json'), features: healthy, canary: traffic(1.2) }, key);
    expect(slow.body.outcome).toBe('reject');
    expect(slow.body.reasons[0]).toMatch(/^canary fail: ListInvoices latency fail: P95 [\d.]+ -> [\d.]+ ms \(\+\d+\.\d %\): slower/);
  });

  it('fails closed: no model, no specs, no telemetry hold with each reason', async () => {
    const c = await setup(false);
    const r = await c.call('post', '/v1/risk/gate', { connector: 'ContosoSales', version: '2.0.0', previousVersion: '1.2.0' }, key);
    expect(r.body.outcome).toBe('hold');
    expect(r.body.reasons).toEqual([
      'semver hold: no specs given: semantic versioning and breaking changes not checked',
      'lint hold: no new spec given: lint not run',
      'canary hold: no canary verdict (no telemetry received for ContosoSales 1.2.0 or 2.0.0)',
      'model hold: level unknown, probability n/a, decision require-approval (no trained risk model for this tenant; train one with POST /v1/risk/model:train)',
    ]);
  });

  it('without canary telemetry in the request, judges the stored live telemetry of both versions (rates)', async () => {
    const c = await setup(false);
    const window = (calls: number, errors: number) => ({ window: '1h', from: 0, to: 3_600_000, calls, successes: calls - errors, successRate: (calls - errors) / calls, throttled: 0, throttleRate: 0, latencyMs: { p50: 100, p95: 200, p99: 300 }, errorCodes: {}, errorMappingCoverage: null });
    await c.store.putSeries('tenant-a', 'ContosoSales', '1.2.0', { action: 'ListInvoices', kind: 'read', at: 1, window: window(2000, 4) });
    await c.store.putSeries('tenant-a', 'ContosoSales', '2.0.0', { action: 'ListInvoices', kind: 'read', at: 1, window: window(2000, 60) });
    const r = await c.call('post', '/v1/risk/gate', { connector: 'ContosoSales', version: '2.0.0', previousVersion: '1.2.0' }, key);
    expect(r.body.outcome).toBe('reject');
    expect(r.body.inputs.canarySource).toBe('stored telemetry (error and throttle rates)');
    expect(r.body.reasons[0]).toBe('canary fail: ListInvoices errorRate fail: 0.20 % -> 3.00 %: significant (p = ' + r.body.details.canary.actions[0].metrics[0].pValue.toPrecision(3) + ') and at least 0.50 % higher');
  });

  it('records each decision in the history with who asked, inputs and answer; tenants apart', async () => {
    const c = await setup(false);
    await c.call('post', '/v1/risk/gate', { connector: 'ContosoSales', version: '1.3.0', previousVersion: '1.2.0', oldSpec: example('contoso-sales-1.2.0.json'), newSpec: example('contoso-sales-1.3.0.json') }, key);
    await c.call('post', '/v1/risk/gate', { connector: 'ContosoSales', version: '2.0.0', previousVersion: '1.2.0' }, key);
    const h = await c.call('get', '/v1/risk/decisions/ContosoSales', undefined, key);
    expect(h.body.decisions.map((d: { version: string; outcome: string }) => `${d.version} ${d.outcome}`)).toEqual(['2.0.0 hold', '1.3.0 reject']);
    expect(h.body.decisions[1]).toMatchObject({ decidedBy: { tenant: 'tenant-a', keyName: 'ci-a', via: 'api' }, inputs: { oldSpecVersion: '1.2.0', newSpecVersion: '1.3.0' } });
    expect((await c.call('get', '/v1/risk/decisions/ContosoSales?limit=1', undefined, key)).body.decisions).toHaveLength(1);
    expect((await c.call('get', '/v1/risk/decisions/ContosoSales', undefined, { 'x-api-key': 'key-b' })).body.decisions).toEqual([]);
    expect((await c.call('get', '/v1/risk/decisions/ContosoSales?limit=0', undefined, key)).status).toBe(400);
    expect(c.lines.some((l) => (l.audit as { action?: string } | undefined)?.action === 'risk.gate')).toBe(true);
  });

  it('refuses bad input with the field named: hostile specs 422, unknown connector 404, bad telemetry 400', async () => {
    const c = await setup(false);
    const deep = '{"openapi":"3.1.0","x":' + '['.repeat(500) + ']'.repeat(500) + '}';
    const r = await c.call('post', '/v1/risk/gate', { connector: 'ContosoSales', version: '2.0.0', oldSpec: example('contoso-sales-1.2.0.json'), newSpec: deep }, key);
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe('SPEC_TOO_COMPLEX');
    expect((await c.call('post', '/v1/risk/gate', { connector: 'Nope', version: '2.0.0' }, key)).status).toBe(404);
    const bad = await c.call('post', '/v1/risk/gate', { connector: 'ContosoSales', version: '2.0.0', canary: { baseline: { A: { calls: -1, errors: 0, throttled: 0 } }, candidate: {} } }, key);
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/^canary\.baseline\.A\.calls/);
    expect((await c.call('post', '/v1/risk/gate', { connector: 'ContosoSales', version: '2.0.0' }, { 'x-api-key': 'key-a-read' })).status).toBe(403);
  });
});

describe('POST /v1/risk/flagger/confirm-promotion', () => {
  it('answers 200 to promote and 409 with every reason otherwise; takes the key from metadata', async () => {
    const c = await setup(false);
    const hook = { name: 'contoso-sales', namespace: 'connectors', phase: 'Promoting', metadata: { connector: 'ContosoSales', version: '2.0.0', previousVersion: '1.2.0', apiKey: 'key-a' } };
    const held = await c.call('post', '/v1/risk/flagger/confirm-promotion', hook);
    expect(held.status).toBe(409);
    expect(held.body.error.code).toBe('PROMOTION_HELD');
    expect(held.body.error.message).toContain('model hold: level unknown');
    expect((await c.call('post', '/v1/risk/flagger/confirm-promotion', { ...hook, metadata: { ...hook.metadata, apiKey: 'wrong' } })).status).toBe(401);
    const h = await c.call('get', '/v1/risk/decisions/ContosoSales', undefined, key);
    expect(h.body.decisions[0].decidedBy.via).toBe('flagger connectors/contoso-sales');
  });
});
