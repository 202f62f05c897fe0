import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryBus } from '@pulsegate/bus';
import { coerceSemver, compareSemver, Topics, type InvocationEvent } from '@pulsegate/events';
import { createLogger } from '@pulsegate/logging';
import { addToBuckets, MemoryWindowStore, SKETCH_RELATIVE_ACCURACY, type SketchBuckets } from '@pulsegate/windows';
import { loadConfig } from '../src/config';
import { createAggregatorService, type AggregatorService } from '../src/service';
import { MAX_SKETCH_ACTIONS } from '../src/version-sketches';
import { invocation, packed, traffic } from './builders';
import { get } from './metrics-suite';
import { select } from './reference';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Math.floor(Date.now() / HOUR) * HOUR + 30 * 60_000 + 30_000;
const logger = createLogger({ name: 'aggregator-test', level: 'silent' });
const ACME = { authorization: 'Bearer acme-key' };

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2_000 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(cond(), what).toBe(true);
}

/** The answer's numbers for one version, computed straight from the events. */
function reference(events: readonly InvocationEvent[], tenant: string, version: string, from: number, to: number) {
  const want = coerceSemver(version)!;
  const out: Record<string, { calls: number; successes: number; throttled: number; errors: number; latency: SketchBuckets }> = {};
  for (const e of select(events, { tenant, connector: 'crm', from, to })) {
    const sv = coerceSemver(e.connectorVersion);
    if (e.connectorVersion !== version && (sv === null || compareSemver(sv, want) !== 0)) continue;
    const a = (out[e.action] ??= { calls: 0, successes: 0, throttled: 0, errors: 0, latency: {} });
    a.calls += e.sampleWeight;
    if (e.outcome === 'success') a.successes += e.sampleWeight;
    else if (e.outcome === 'throttled') a.throttled += e.sampleWeight;
    else a.errors += e.sampleWeight;
    addToBuckets(a.latency, e.latencyMs, e.sampleWeight);
  }
  return out;
}

describe('GET /v1/connectors/{connector}/version-sketches', () => {
  const keys = JSON.stringify([
    { key: 'acme-key', tenant: 'acme', scopes: ['metrics.read'] },
    { key: 'globex-key', tenant: 'globex', scopes: ['metrics.read'] },
    { key: 'ingest-only', tenant: 'acme', scopes: ['ingest'] },
  ]);
  // Two tenants with the same connector and versions; "1.2" is the label some spans carry for 1.2.0.
  const events = [
    ...traffic(3_000, 11, NOW - 3 * DAY, NOW, { tenants: ['acme'], connectors: ['crm'], versions: ['1.2.0', '1.2', '2.0.0', '2.1.0'], weights: true }),
    ...traffic(800, 12, NOW - 2 * HOUR, NOW, { tenants: ['globex'], connectors: ['crm'], versions: ['1.2.0', '2.0.0'] }),
    ...Array.from({ length: MAX_SKETCH_ACTIONS + 1 }, (_, i) => invocation({ tenant: 'acme', connector: 'wide', connectorVersion: '1.0.0', action: `a${i}`, eventTime: NOW - 60_000 * (1 + (i % 50)) })),
  ];
  let bus: MemoryBus;
  let svc: AggregatorService;

  beforeAll(async () => {
    bus = new MemoryBus();
    svc = await createAggregatorService({ bus, logger, config: loadConfig({ PULSEGATE_API_KEYS: keys }), store: new MemoryWindowStore({ clock: () => NOW }), clock: () => NOW });
    await svc.start();
    await bus.publish(Topics.invocations, packed(events, 200));
    await until(() => svc.stats.appliedEvents === events.length, 'applied');
  });
  afterAll(async () => {
    await svc.stop();
    await bus.close();
  });

  it('answers counts and sketch buckets per version and action exactly like the events', async () => {
    for (const q of ['window=1h', 'window=24h', 'window=7d', `from=${NOW - 2 * DAY - 17 * 60_000}&to=${NOW - 3 * HOUR}`]) {
      const body = await get(svc.app, `/v1/connectors/crm/version-sketches?versions=1.2.0,2.0.0&${q}`, 200, ACME);
      expect(body.sketch).toMatchObject({ relativeAccuracy: SKETCH_RELATIVE_ACCURACY, zeroBucket: 'z' });
      const versions = body.versions as Array<{ version: string; actions: Array<{ action: string } & Record<string, unknown>> }>;
      expect(versions.map((v) => v.version)).toEqual(['1.2.0', '2.0.0']);
      let seen = 0;
      for (const v of versions) {
        const want = reference(events, 'acme', v.version, body.from as number, body.to as number);
        expect(Object.fromEntries(v.actions.map(({ action, ...rest }) => [action, rest])), `${q} ${v.version}`).toEqual(want);
        seen += Object.values(want).reduce((s, a) => s + a.calls, 0);
      }
      expect(seen, `${q}: the reference selects nothing`).toBeGreaterThan(0);
    }
  });

  it('narrows to one action and counts the "1.2" label as 1.2.0', async () => {
    const body = await get(svc.app, '/v1/connectors/crm/version-sketches?versions=1.2.0&action=getInvoice&window=7d', 200, ACME);
    const [v] = body.versions as Array<{ actions: Array<{ action: string; calls: number }> }>;
    expect(v!.actions.map((a) => a.action)).toEqual(['getInvoice']);
    const labels = select(events, { tenant: 'acme', connector: 'crm', action: 'getInvoice', from: body.from as number, to: body.to as number });
    const exact = labels.filter((e) => e.connectorVersion === '1.2.0').reduce((s, e) => s + e.sampleWeight, 0);
    const short = labels.filter((e) => e.connectorVersion === '1.2').reduce((s, e) => s + e.sampleWeight, 0);
    expect(short).toBeGreaterThan(0);
    expect(v!.actions[0]!.calls).toBe(exact + short);
  });

  it("keeps tenants apart: each key sees only its own tenant's calls", async () => {
    const g = await get(svc.app, '/v1/connectors/crm/version-sketches?versions=1.2.0,2.0.0&window=1h', 200, { 'x-api-key': 'globex-key' });
    for (const v of g.versions as Array<{ version: string; actions: Array<{ action: string } & Record<string, unknown>> }>) {
      expect(Object.fromEntries(v.actions.map(({ action, ...rest }) => [action, rest]))).toEqual(reference(events, 'globex', v.version, g.from as number, g.to as number));
    }
    await get(svc.app, '/v1/connectors/wide/version-sketches?versions=1.0.0', 404, { 'x-api-key': 'globex-key' });
    await get(svc.app, '/v1/connectors/crm/version-sketches?versions=1.2.0', 401);
    await get(svc.app, '/v1/connectors/crm/version-sketches?versions=1.2.0', 403, { authorization: 'Bearer ingest-only' });
  });

  it('bounds the work: versions, actions and range; bad parameters are 400 in the error schema', async () => {
    for (const q of [
      'window=1h',
      'versions=',
      'versions=1,2,3,4,5',
      'versions=1.0.0&window=90d',
      `versions=1.0.0&from=${NOW - 31 * DAY}&to=${NOW}`,
      'versions=1.0.0&window=1h&from=1&to=2',
      'versions=1.0.0&versions=2.0.0',
      `versions=1.0.0&action=${'x'.repeat(300)}`,
    ]) {
      const body = await get(svc.app, `/v1/connectors/crm/version-sketches?${q}`, 400, ACME);
      expect((body.error as { code: string }).code, q).toBe('INVALID_ARGUMENT');
    }
    const wide = await get(svc.app, '/v1/connectors/wide/version-sketches?versions=1.0.0&window=6h', 400, ACME);
    expect((wide.error as { message: string }).message).toMatch(/at most 500/);
    const one = await get(svc.app, '/v1/connectors/wide/version-sketches?versions=1.0.0&window=6h&action=a7', 200, ACME);
    expect((one.versions as Array<{ actions: Array<{ action: string; calls: number }> }>)[0]!.actions).toMatchObject([{ action: 'a7', calls: 1 }]);
  });
});
