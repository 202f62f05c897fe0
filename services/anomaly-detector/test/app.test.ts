import { beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import type { Express } from 'express';
import { MemoryBus } from '@pulsegate/bus';
import { KeyRing, parseApiKeys } from '@pulsegate/http-kit';
import { createLogger } from '@pulsegate/logging';
import { OpenApiChecker } from '@pulsegate/testkit';
import { createApp } from '../src/app';
import { Detector } from '../src/detector';
import { fingerprint } from '../src/lifecycle/fingerprint';
import { RuleBook } from '../src/rules/rule-book';
import { parseRulesText, type RulesConfig } from '../src/rules/rules-file';
import { MemoryStore } from '../src/store/memory-store';
import { readFileSync } from 'node:fs';
import { seriesSnapshot } from './fixtures/snapshots';
import { blockSnapshot } from './fixtures/slo';
import { SloEngine } from '../src/slo/engine';
import { MemorySloLedgerStore } from '../src/slo/ledger-store';
import { DEFAULT_BURN_ALERTS, SloBook } from '../src/slo/objectives';
import { MemoryAlertHistoryStore } from '../src/history/store';

const doc = new OpenApiChecker(new URL('../openapi.yaml', import.meta.url).pathname);
const T0 = Date.UTC(2025, 0, 6, 12);
const NOW = T0 + 600_000;
const KEYS = parseApiKeys(
  JSON.stringify([
    { key: 'acme-rw', tenant: 'acme', scopes: ['alerts.read', 'alerts.write'] },
    { key: 'acme-ro', tenant: 'acme', scopes: ['alerts.read'] },
    { key: 'globex-rw', tenant: 'globex', scopes: ['alerts.read', 'alerts.write'] },
  ]),
);
const FP = fingerprint({ alertname: 'SuccessRateLow', tenant: 'acme', connector: 'crm', action: 'getContact', version: '1.2.0', kind: 'read', severity: 'critical' });

let app: Express;
let store: MemoryStore;
let history: MemoryAlertHistoryStore;
const seen = new Set<string>();

/** Sends a request and checks the answer against openapi.yaml. */
async function call(method: 'get' | 'post' | 'delete', path: string, o: { key?: string | null; body?: unknown; type?: string } = {}) {
  let req = request(app)[method](path);
  if (o.key !== null) req = req.set('authorization', `Bearer ${o.key ?? 'acme-rw'}`);
  if (o.type !== undefined) req = req.set('content-type', o.type);
  if (o.body !== undefined) req = req.send(o.body as string | object);
  const res = await req;
  expect(doc.check(method, path, res.status, res.body)).toEqual([]);
  seen.add(`${method.toUpperCase()} ${res.status}`);
  return res;
}

beforeAll(async () => {
  store = new MemoryStore(() => NOW);
  history = new MemoryAlertHistoryStore({ retentionMs: 86_400_000, maxEntries: 1_000 }, () => NOW);
  const parsed = parseRulesText(readFileSync(new URL('./fixtures/rules.yaml', import.meta.url), 'utf8'));
  if (!parsed.ok) throw new Error('fixture rules invalid');
  const rulesConfig: RulesConfig = parsed.config;
  const rules = new RuleBook(rulesConfig.overrides);
  const logger = createLogger({ name: 'test', level: 'silent' });
  const detector = new Detector({ history, store, bus: new MemoryBus(), logger, clock: () => NOW, rules, receivers: [], groupBy: ['...'], repeatIntervalMs: 0, aggregatorUrl: 'http://agg:8081', staleAfterMs: 1e9, retentionMs: 1e9 });
  for (const at of [T0, T0 + 120_000]) {
    await detector.process(seriesSnapshot(at, { calls: 200, successes: 150 }));
    await detector.process(seriesSnapshot(at, { tenant: 'globex', calls: 200, successes: 100 }));
  }
  const slo = new SloEngine({ store: new MemorySloLedgerStore(), book: new SloBook(), burnAlerts: DEFAULT_BURN_ALERTS, clock: () => NOW, aggregatorUrl: 'http://agg:8081' });
  // Two blocks ending at NOW: acme's crm.getContact with 4 failed of 400, globex clean.
  for (const start of [NOW - 600_000, NOW - 300_000]) {
    await slo.observe(blockSnapshot(start, { calls: 200, failed: 2 }));
    await slo.observe(blockSnapshot(start, { calls: 50, tenant: 'globex', connector: 'erp' }));
  }
  app = createApp({ store, history, slo, rules, rulesConfig, keyRing: new KeyRing(KEYS), logger, clock: () => NOW, isReady: () => true });
});

describe('anomaly detector API', () => {
  it('health and readiness', async () => {
    expect((await call('get', '/healthz', { key: null })).status).toBe(200);
    expect((await call('get', '/readyz', { key: null })).status).toBe(200);
    const notReady = createApp({ store, rules: new RuleBook(), rulesConfig: parseRulesText('').ok ? (parseRulesText('') as { config: RulesConfig }).config : (undefined as never), keyRing: new KeyRing([]), logger: createLogger({ name: 't', level: 'silent' }), clock: () => NOW, isReady: () => false });
    const res = await request(notReady).get('/readyz');
    expect(res.status).toBe(503);
    expect(doc.check('get', '/readyz', 503, res.body)).toEqual([]);
  });

  it('lists and fetches alerts of the caller tenant only', async () => {
    const list = await call('get', '/v1/alerts?state=firing');
    expect(list.status).toBe(200);
    expect(list.body.alerts.map((a: { fingerprint: string }) => a.fingerprint)).toEqual([FP]);
    // acme + crm override: 0.98.
    expect(list.body.alerts[0]).toMatchObject({ state: 'firing', value: 0.75, threshold: 0.98, window: '5m', startsAt: new Date(T0).toISOString() });
    expect((await call('get', '/v1/alerts?connector=nope')).body.alerts).toEqual([]);
    const one = await call('get', `/v1/alerts/${FP}`);
    expect(one.body.fingerprint).toBe(FP);
    expect(one.body.generatorURL).toMatch(/^http:\/\/agg:8081\/v1\/connectors\/crm\/timeseries\?/);
    // globex cannot see acme's alert, and sees its own.
    expect((await call('get', `/v1/alerts/${FP}`, { key: 'globex-rw' })).status).toBe(404);
    const globex = await call('get', '/v1/alerts', { key: 'globex-rw' });
    expect(globex.body.alerts.map((a: { labels: { tenant: string } }) => a.labels.tenant)).toEqual(['globex']);
  });

  it('GET /v1/alerts/history lists transitions and notification attempts of the caller tenant only', async () => {
    await history.append([
      { kind: 'notification', at: T0 + 130_000, tenant: 'acme', fingerprint: FP, labels: { connector: 'crm' }, status: 'firing', receiver: 'alertmanager:http://am:9093', outcome: 'failed', idempotencyKey: null, reason: 'Alertmanager answered HTTP 503' },
      { kind: 'notification', at: T0 + 140_000, tenant: 'acme', fingerprint: FP, labels: { connector: 'crm' }, status: 'firing', receiver: 'ops', outcome: 'delivered', idempotencyKey: `${FP}.${T0}.firing.0.ops`, reason: null },
    ]);
    const res = await call('get', `/v1/alerts/history?connector=crm&from=${new Date(T0 - 1).toISOString()}&to=${new Date(NOW).toISOString()}`);
    expect(res.status).toBe(200);
    const mine = res.body.entries.filter((e: { fingerprint: string }) => e.fingerprint === FP);
    // The fixture's acme alert: new -> pending at T0, pending -> firing at T0 + 2 min, then two attempts.
    expect(mine.map((e: { kind: string; from?: string | null; to?: string; outcome?: string }) => [e.kind, e.kind === 'transition' ? e.from : e.outcome, e.to ?? null])).toEqual([
      ['transition', null, 'pending'],
      ['transition', 'pending', 'firing'],
      ['notification', 'failed', null],
      ['notification', 'delivered', null],
    ]);
    expect(mine[0]).toMatchObject({ at: new Date(T0).toISOString(), rule: 'SuccessRateLow', labels: { connector: 'crm', tenant: 'acme' } });
    expect(mine[3]).toMatchObject({ receiver: 'ops', idempotencyKey: `${FP}.${T0}.firing.0.ops` });
    expect(res.body.entries.every((e: { labels: { tenant?: string } }) => e.labels.tenant === undefined || e.labels.tenant === 'acme')).toBe(true);
    // globex sees its own alert's transitions and nothing of acme's.
    const globex = await call('get', `/v1/alerts/history?from=${new Date(T0 - 1).toISOString()}`, { key: 'globex-rw' });
    expect(globex.body.entries.length).toBeGreaterThan(0);
    expect(globex.body.entries.filter((e: { fingerprint: string }) => e.fingerprint === FP)).toEqual([]);
    expect(globex.body.entries.every((e: { labels: { tenant: string } }) => e.labels.tenant === 'globex')).toBe(true);
    // Time range and limit.
    expect((await call('get', `/v1/alerts/history?from=${new Date(T0 + 125_000).toISOString()}&to=${new Date(T0 + 135_000).toISOString()}`)).body.entries).toHaveLength(1);
    expect((await call('get', `/v1/alerts/history?from=${new Date(T0 - 1).toISOString()}&limit=1`)).body.entries).toHaveLength(1);
    expect((await call('get', '/v1/alerts/history', { key: null })).status).toBe(401);
  });

  it.each([
    ['/v1/alerts/history?from=yesterday', 400],
    ['/v1/alerts/history?from=2025-01-06T12:00:00Z&to=2025-01-06T11:00:00Z', 400],
    ['/v1/alerts/history?limit=0', 400],
    ['/v1/alerts/history?limit=10001', 400],
    ['/v1/alerts/history?tenant=globex', 400],
    ['/v1/alerts?state=burning', 400],
    ['/v1/alerts?state=firing&state=pending', 400],
    ['/v1/alerts?bogus=1', 400],
    [`/v1/alerts?connector=${'x'.repeat(300)}`, 400],
    ['/v1/alerts/NOT-HEX', 400],
    ['/v1/alerts/0123456789abcdef', 404],
    ['/v1/silences?status=maybe', 400],
    ['/v1/rules?kind=delete', 400],
  ])('GET %s -> %i in the error schema', async (path, status) => {
    const res = await call('get', path);
    expect(res.status).toBe(status);
    expect(res.body.error.correlationId).toEqual(expect.any(String));
  });

  it('needs a key with the right scope', async () => {
    expect((await call('get', '/v1/alerts', { key: null })).status).toBe(401);
    expect((await call('get', '/v1/alerts', { key: 'wrong' })).status).toBe(401);
    expect((await call('post', '/v1/silences', { key: 'acme-ro', body: { matchers: [{ name: 'a', op: '=', value: 'b' }], duration: '1h', createdBy: 'x' } })).status).toBe(403);
    expect((await call('delete', '/v1/silences/3f2b1c9e-0000-4000-8000-000000000000', { key: 'acme-ro' })).status).toBe(403);
  });

  it('creates, lists and expires silences; a silence mutes matching alerts', async () => {
    const created = await call('post', '/v1/silences', { body: { matchers: [{ name: 'connector', op: '=~', value: 'cr.*' }, { name: 'severity', op: '!=', value: 'info' }], duration: '2h', createdBy: 'oncall', comment: 'deploy' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: 'active', startsAt: new Date(NOW).toISOString(), endsAt: new Date(NOW + 7_200_000).toISOString() });
    const id = created.body.id as string;
    expect((await call('get', `/v1/alerts/${FP}`)).body.silencedBy).toEqual([id]);
    expect((await call('get', '/v1/silences?status=active')).body.silences.map((s: { id: string }) => s.id)).toEqual([id]);
    expect((await call('get', '/v1/silences', { key: 'globex-rw' })).body.silences).toEqual([]);
    expect((await call('delete', `/v1/silences/${id}`, { key: 'globex-rw' })).status).toBe(404);
    const expired = await call('delete', `/v1/silences/${id}`);
    expect(expired.body.status).toBe('expired');
    expect((await call('get', `/v1/alerts/${FP}`)).body.silencedBy).toEqual([]);
    expect((await call('get', '/v1/silences?status=expired')).body.silences.map((s: { id: string }) => s.id)).toEqual([id]);
  });

  it.each<[string, unknown, string | undefined, number, RegExp]>([
    ['no matchers', { matchers: [], duration: '1h', createdBy: 'x' }, undefined, 400, /matchers/],
    ['bad operator', { matchers: [{ name: 'a', op: '==', value: 'b' }], duration: '1h', createdBy: 'x' }, undefined, 400, /op/],
    ['invalid regex', { matchers: [{ name: 'a', op: '=~', value: '(' }], duration: '1h', createdBy: 'x' }, undefined, 400, /invalid regex/],
    ['catastrophic regex', { matchers: [{ name: 'a', op: '=~', value: '(a+)+' }], duration: '1h', createdBy: 'x' }, undefined, 400, /nested quantifiers/],
    ['matches everything', { matchers: [{ name: 'a', op: '=~', value: '.*' }], duration: '1h', createdBy: 'x' }, undefined, 400, /empty string/],
    ['no end', { matchers: [{ name: 'a', op: '=', value: 'b' }], createdBy: 'x' }, undefined, 400, /endsAt or duration/],
    ['end before start', { matchers: [{ name: 'a', op: '=', value: 'b' }], startsAt: '2025-01-06T12:00:00Z', endsAt: '2025-01-06T11:00:00Z', createdBy: 'x' }, undefined, 400, /after startsAt/],
    ['not a date', { matchers: [{ name: 'a', op: '=', value: 'b' }], endsAt: 'tomorrow', createdBy: 'x' }, undefined, 400, /RFC 3339/],
    ['too long', { matchers: [{ name: 'a', op: '=', value: 'b' }], duration: '100d', createdBy: 'x' }, undefined, 400, /90 days/],
    ['unknown field', { matchers: [{ name: 'a', op: '=', value: 'b' }], duration: '1h', createdBy: 'x', admin: true }, undefined, 400, /unknown field/],
    ['missing createdBy', { matchers: [{ name: 'a', op: '=', value: 'b' }], duration: '1h' }, undefined, 400, /createdBy/],
    ['malformed JSON', '{"matchers": [', 'application/json', 400, /could not be read/],
    ['wrong content type', 'matchers=a', 'text/plain', 415, /application\/json/],
    ['oversized', JSON.stringify({ matchers: [{ name: 'a', op: '=', value: 'b' }], duration: '1h', createdBy: 'x', comment: 'x'.repeat(70_000) }), 'application/json', 413, /size limit/],
  ])('POST /v1/silences rejects %s', async (_name, body, type, status, message) => {
    const res = await call('post', '/v1/silences', { body, type });
    expect(res.status).toBe(status);
    expect(res.body.error.message).toMatch(message);
  });

  it('DELETE /v1/silences rejects a malformed id and an unknown one', async () => {
    expect((await call('delete', '/v1/silences/not-a-uuid')).status).toBe(400);
    expect((await call('delete', '/v1/silences/3f2b1c9e-0000-4000-8000-000000000000')).status).toBe(404);
  });

  it('GET /v1/rules shows effective rules for the tenant and for a narrower scope', async () => {
    const res = await call('get', '/v1/rules');
    const success = res.body.rules.find((r: { name: string }) => r.name === 'SuccessRateLow');
    expect(success).toMatchObject({ threshold: { read: 0.995, write: 0.995 }, clearThreshold: { read: 0.997, write: 0.997 }, for: '2m', keepFiringFor: '5m', minCalls: 50 });
    expect(res.body.receivers).toEqual([{ name: 'ops', url: 'https://hooks.example.com/alerts' }]);
    expect(res.body.notify).toEqual({ groupBy: ['alertname', 'connector'], repeatInterval: '2h' });
    const narrow = await call('get', '/v1/rules?connector=crm&action=bulkExport&kind=write');
    expect(narrow.body.rules.find((r: { name: string }) => r.name === 'SuccessRateLow')).toMatchObject({ disabled: true, threshold: { read: 0.98, write: 0.98 } });
    // globex sees no acme overrides or receivers.
    const globex = await call('get', '/v1/rules', { key: 'globex-rw' });
    expect(globex.body.overrides.every((o: { match: { tenant?: string } }) => o.match.tenant === undefined)).toBe(true);
    expect(globex.body.receivers).toEqual([]);
  });

  it('POST /v1/rules:validate reports problems with their lines', async () => {
    const ok = await call('post', '/v1/rules:validate', { body: 'rules:\n  - rule: SuccessRateLow\n    threshold: 0.98\n', type: 'application/yaml' });
    expect(ok.body).toEqual({ valid: true, problems: [], overrides: 1, receivers: 0 });
    const bad = await call('post', '/v1/rules:validate', { body: 'rules:\n  - rule: SuccessRateLow\n    for: soon\n', type: 'application/yaml' });
    expect(bad.body.valid).toBe(false);
    expect(bad.body.problems[0]).toMatchObject({ line: 3, path: 'rules.0.for' });
    const json = await call('post', '/v1/rules:validate', { body: '{"rules": [{"rule": "Nope"}]}', type: 'application/json' });
    expect(json.body.problems[0]).toMatchObject({ line: 1, path: 'rules.0.rule' });
    expect((await call('post', '/v1/rules:validate', { body: '   ', type: 'text/plain' })).status).toBe(400);
    expect((await call('post', '/v1/rules:validate', { body: 'x', type: 'application/octet-stream' })).status).toBe(415);
    expect((await call('post', '/v1/rules:validate', { body: '#'.repeat(300 * 1024), type: 'text/plain' })).status).toBe(413);
    expect((await call('post', '/v1/rules:validate', { key: null, body: 'rules: []', type: 'text/plain' })).status).toBe(401);
  });

  it('GET /v1/slos and /v1/slos/{connector} report the caller tenant SLOs', async () => {
    const all = await call('get', '/v1/slos');
    expect(all.status).toBe(200);
    expect(all.body.slos.map((x: { slo: string }) => x.slo)).toEqual(['availability', 'latency', 'throttling']);
    expect(all.body.slos[0]).toMatchObject({ connector: 'crm', action: 'getContact', kind: 'read', objective: 0.99, window: '30d', events: 400, badEvents: 4, errorBudget: expect.closeTo(0.01, 12) });
    expect(all.body.slos[0].budgetRemaining).toBeCloseTo(0, 12);
    expect(all.body.slos[0].burnRates['5m']).toBeCloseTo(1, 12);
    const one = await call('get', '/v1/slos/crm?action=getContact');
    expect(one.body.slos).toHaveLength(3);
    expect((await call('get', '/v1/slos/erp')).status).toBe(404);
    const globex = await call('get', '/v1/slos/erp', { key: 'globex-rw' });
    expect(globex.body.slos[0]).toMatchObject({ connector: 'erp', events: 100, badEvents: 0, attainment: 1 });
    expect((await call('get', '/v1/slos?bogus=1')).status).toBe(400);
    expect((await call('get', '/v1/slos', { key: null })).status).toBe(401);
  });

  it('answers unknown routes in the error schema', async () => {
    const res = await request(app).get('/v1/nothing').set('authorization', 'Bearer acme-rw');
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('every documented operation was exercised', () => {
    for (const op of doc.operations()) expect(seen.has(`${op.split(' ')[0]} 200`) || seen.has(`${op.split(' ')[0]} 201`)).toBe(true);
  });
});
