import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InvocationEvent } from '@pulsegate/events';
import { createLogger } from '@pulsegate/logging';
import { lognormal, seededRandom } from '@pulsegate/random';
import { judgeCanary, type ActionTelemetry, type GateDecision } from '@pulsegate/risk-scorer';
import { OpenApiChecker } from '@pulsegate/testkit';
import { addToBuckets } from '@pulsegate/windows';
import { startEmbedded, type Embedded } from '../apps/pulsegate/src/embedded';
import { runRiskCli } from '../apps/pulsegate/src/commands/risk';
import { exportCalls, type Call } from './support/otel';
import { until } from './support/poll';

const riskApi = new OpenApiChecker(new URL('../services/risk-scorer/openapi.yaml', import.meta.url).pathname);
const aggregatorApi = new OpenApiChecker(new URL('../services/aggregator/openapi.yaml', import.meta.url).pathname);

const CONNECTOR = 'CanarySales';
const KEYS = [
  { key: 'acme-key', tenant: 'acme', name: 'acme-pipeline', scopes: ['ingest', 'metrics.read', 'risk.read', 'risk.write', 'catalog.write'] },
  { key: 'acme-gate-only', tenant: 'acme', name: 'acme-gate-only', scopes: ['risk.write'] },
  { key: 'globex-key', tenant: 'globex', name: 'globex-pipeline', scopes: ['ingest', 'metrics.read', 'risk.read', 'risk.write', 'catalog.write'] },
];

/** Calls of one version of one action: lognormal latencies (median 200 ms, σ 0.5) times `scale`, 0.2 % server errors. */
function versionCalls(version: string, n: number, scale: number, seed: number, now: number): Call[] {
  const r = seededRandom(seed);
  return Array.from({ length: n }, () => {
    const failed = r() < 0.002;
    return {
      connector: CONNECTOR,
      version,
      action: 'GetInvoice',
      method: 'GET',
      status: failed ? 503 : 200,
      // Whole microseconds: the span carries them exactly, so the reference sees the latency the pipeline sees.
      latencyMs: Math.round(lognormal(r, 200, 0.5) * scale * 1000) / 1000,
      endMs: now - 1_000 - Math.floor(r() * 120_000),
    };
  });
}

/** What the judge must see for a version, computed from the events the spans must become. */
function referenceTelemetry(events: InvocationEvent[], version: string): Record<string, ActionTelemetry> {
  const out: Record<string, ActionTelemetry> = {};
  for (const e of events.filter((x) => x.connectorVersion === version)) {
    const t = (out[e.action] ??= { calls: 0, errors: 0, throttled: 0, latency: {} });
    t.calls += 1;
    if (e.outcome === 'throttled') t.throttled += 1;
    else if (e.outcome !== 'success') t.errors += 1;
    addToBuckets(t.latency!, e.latencyMs);
  }
  return out;
}

type Answer = { status: number; body: Record<string, unknown> };

describe('release gate: baseline vs candidate from live telemetry through the real pipeline', () => {
  let embedded: Embedded;
  let sent: InvocationEvent[];
  const url = (name: string): string => embedded.services.find((s) => s.name === name)!.url;

  const post = async (path: string, body: unknown, key = 'acme-key'): Promise<Answer> => {
    const res = await fetch(`${url('risk-scorer')}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify(body) });
    const answer = { status: res.status, body: (await res.json()) as Record<string, unknown> };
    expect(riskApi.check('POST', path.split('?')[0]!, answer.status, answer.body), path).toEqual([]);
    return answer;
  };
  const gate = async (body: Record<string, unknown>, key?: string, query = ''): Promise<GateDecision> => {
    const a = await post(`/v1/risk/gate${query}`, { connector: CONNECTOR, ...body }, key);
    expect(a.status, JSON.stringify(a.body)).toBe(200);
    return a.body as unknown as GateDecision;
  };
  const canaryOf = (d: GateDecision) => d.details.canary as ReturnType<typeof judgeCanary> | null;
  const checkOf = (d: GateDecision) => d.checks.find((c) => c.check === 'canary')!;

  beforeAll(async () => {
    embedded = await startEmbedded({ env: { PULSEGATE_API_KEYS: JSON.stringify(KEYS) }, ephemeralPorts: true, logger: createLogger({ name: 'e2e', level: 'silent' }) });
    const now = Date.now();
    // Baseline 1.0.0; 1.1.0 is 20 % slower at every quantile (P95 included); 1.0.1 is the same
    // distribution; 1.2.0 has too few calls for any verdict.
    const calls = [...versionCalls('1.0.0', 2_000, 1, 1, now), ...versionCalls('1.1.0', 2_000, 1.2, 2, now), ...versionCalls('1.0.1', 2_000, 1, 3, now), ...versionCalls('1.2.0', 100, 1, 4, now)];
    sent = await exportCalls(url('ingest'), 'proto-gzip', calls, 'acme', { authorization: 'Bearer acme-key' });
    expect(sent).toHaveLength(6_100);
    for (const tenant of ['acme', 'globex']) {
      const res = await fetch(`${url('risk-scorer')}/v1/catalog/connectors/${CONNECTOR}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${tenant}-key` },
        body: JSON.stringify({ owner: 'sales', classification: 'Public', authMethod: 'OAuth2', scopes: [], versions: ['1.0.0', '1.0.1', '1.1.0', '1.2.0'].map((version) => ({ version })) }),
      });
      expect(res.status).toBe(201);
    }
    // Until the aggregator has counted every span (a bound, not a timing assertion).
    await until(async () => {
      const res = await fetch(`${url('aggregator')}/v1/connectors/${CONNECTOR}/version-sketches?versions=1.0.0,1.1.0,1.0.1,1.2.0&window=15m`, { headers: { authorization: 'Bearer acme-key' } });
      if (res.status !== 200) return undefined;
      const body = (await res.json()) as { versions: Array<{ actions: Array<{ calls: number }> }> };
      const counted = body.versions.flatMap((v) => v.actions).reduce((s, a) => s + a.calls, 0);
      return counted === sent.length ? body : undefined;
    }, 'every span counted by the aggregator', 60_000);
  }, 120_000);
  afterAll(async () => {
    await embedded?.stop();
  });

  it('the aggregator exports exactly the counts and sketch buckets that were sent', async () => {
    const res = await fetch(`${url('aggregator')}/v1/connectors/${CONNECTOR}/version-sketches?versions=1.0.0,1.1.0&window=1h`, { headers: { authorization: 'Bearer acme-key' } });
    const body = (await res.json()) as Record<string, unknown>;
    expect(aggregatorApi.check('GET', `/v1/connectors/${CONNECTOR}/version-sketches`, res.status, body)).toEqual([]);
    const versions = body.versions as Array<{ version: string; actions: Array<{ action: string; calls: number; errors: number; throttled: number; latency: Record<string, number> }> }>;
    for (const v of versions) {
      const want = referenceTelemetry(sent, v.version);
      expect(Object.fromEntries(v.actions.map((a) => [a.action, { calls: a.calls, errors: a.errors, throttled: a.throttled, latency: a.latency }]))).toEqual(want);
    }
  });

  it('fails a +20 % P95 regression on latency, with statistic, threshold and reason, judged on exactly what was sent', async () => {
    const d = await gate({ version: '1.1.0', previousVersion: '1.0.0', window: '1h' });
    const canary = canaryOf(d)!;
    // Exact reference: the verdict equals the judge run on the telemetry computed from the sent spans.
    expect(canary).toEqual(judgeCanary(referenceTelemetry(sent, '1.0.0'), referenceTelemetry(sent, '1.1.0')));
    const [action] = canary.actions;
    expect(action).toMatchObject({ action: 'GetInvoice', verdict: 'fail', baselineCalls: 2_000, candidateCalls: 2_000 });
    const latency = action!.metrics.find((m) => m.metric === 'latency')!;
    expect(latency.verdict).toBe('fail');
    expect(latency.statistic).toBeGreaterThan(0);
    expect(latency.pValue).toBeLessThan(0.01);
    expect(latency.candidate! / latency.baseline! - 1).toBeGreaterThanOrEqual(0.1);
    expect(latency.threshold).toMatch(/P95 increase >= 10\.00 %/);
    expect(latency.reason).toMatch(/slower/);
    expect(checkOf(d)).toMatchObject({ status: 'fail' });
    expect(d.outcome).toBe('reject');
    expect(d.reasons.some((r) => /canary fail: GetInvoice latency fail/.test(r))).toBe(true);
    expect(d.inputs).toMatchObject({ canaryWindow: { window: '1h' } });
    expect(d.inputs.canarySource).toMatch(/^aggregator \(window 1h/);
  });

  it('passes a no-change pair and is inconclusive below the call floor', async () => {
    const same = await gate({ version: '1.0.1', previousVersion: '1.0.0', window: '15m' });
    expect(canaryOf(same)).toEqual(judgeCanary(referenceTelemetry(sent, '1.0.0'), referenceTelemetry(sent, '1.0.1')));
    expect(canaryOf(same)!.actions[0]!.metrics.map((m) => [m.metric, m.verdict])).toEqual([
      ['latency', 'pass'],
      ['errorRate', 'pass'],
      ['throttleRate', 'pass'],
    ]);
    expect(checkOf(same).status).toBe('pass');

    const few = await gate({ version: '1.2.0', previousVersion: '1.0.0', window: '1h' });
    const latency = canaryOf(few)!.actions[0]!.metrics.find((m) => m.metric === 'latency')!;
    expect(latency).toMatchObject({ verdict: 'inconclusive', statistic: null });
    expect(latency.reason).toBe('candidate has 100 calls, fewer than 500');
    expect(checkOf(few).status).toBe('hold');
    expect(few.outcome).toBe('hold');
  });

  it('takes the window as from/to or from the query string, and from Flagger metadata', async () => {
    const now = Date.now();
    const ranged = await gate({ version: '1.1.0', previousVersion: '1.0.0', from: now - 30 * 60_000, to: new Date(now + 60_000).toISOString() });
    expect(ranged.inputs).toMatchObject({ canaryWindow: { window: 'custom' } });
    expect(canaryOf(ranged)!.verdict).toBe('fail');
    const queried = await gate({ version: '1.1.0', previousVersion: '1.0.0' }, undefined, '?window=6h');
    expect(queried.inputs).toMatchObject({ canaryWindow: { window: '6h' } });
    // A window in which no span falls: nothing to judge, so the canary holds.
    const empty = await gate({ version: '1.1.0', previousVersion: '1.0.0', from: now - 3 * 86_400_000, to: now - 2 * 86_400_000 });
    expect(checkOf(empty)).toMatchObject({ status: 'hold' });
    expect(checkOf(empty).message).toMatch(/no calls for CanarySales 1\.0\.0 or 1\.1\.0/);

    const flagger = await post('/v1/risk/flagger/confirm-promotion', { name: 'sales', namespace: 'prod', phase: 'Promoting', metadata: { connector: CONNECTOR, version: '1.1.0', previousVersion: '1.0.0', window: '1h', apiKey: 'acme-key' } }, 'ignored');
    expect(flagger.status).toBe(401); // an Authorization header wins over metadata.apiKey, and "ignored" is no key
    const res = await fetch(`${url('risk-scorer')}/v1/risk/flagger/confirm-promotion?window=1h`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'sales', namespace: 'prod', metadata: { connector: CONNECTOR, version: '1.1.0', previousVersion: '1.0.0', apiKey: 'acme-key' } }),
    });
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(res.status).toBe(409);
    expect(body.error.code).toBe('PROMOTION_REJECTED');
    expect(body.error.message).toMatch(/GetInvoice latency fail/);

    for (const [q, b] of [
      ['', { window: '2h' }],
      ['', { from: now - 1000 }],
      ['', { window: '1h', from: now - 1000, to: now }],
      ['', { from: now - 31 * 86_400_000, to: now }],
      ['?window=1h', { window: '1h' }],
      ['', { window: '1h', canary: { baseline: {}, candidate: {} } }],
    ] as const) {
      const a = await post(`/v1/risk/gate${q}`, { connector: CONNECTOR, version: '1.1.0', previousVersion: '1.0.0', ...b });
      expect(a.status, JSON.stringify(b)).toBe(400);
    }
  });

  it("reads with the caller's key: another tenant sees no telemetry, a key without metrics.read holds", async () => {
    const globex = await gate({ version: '1.1.0', previousVersion: '1.0.0', window: '1h' }, 'globex-key');
    expect(canaryOf(globex)).toBeNull();
    expect(checkOf(globex)).toMatchObject({ status: 'hold' });
    expect(checkOf(globex).message).toMatch(/no telemetry for CanarySales/);
    const narrow = await gate({ version: '1.1.0', previousVersion: '1.0.0', window: '1h' }, 'acme-gate-only');
    expect(checkOf(narrow).status).toBe('hold');
    expect(checkOf(narrow).message).toMatch(/403 FORBIDDEN.*metrics\.read/);
  });

  it('CLI: --window judges live telemetry; exit 1 on the regression, 2 on bad flags', async () => {
    const run = async (args: string[]) => {
      let out = '';
      let err = '';
      const code = await runRiskCli(args, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } });
      return { code, out, err };
    };
    const base = ['gate', '--url', url('risk-scorer'), '--connector', CONNECTOR, '--api-key', 'acme-key', '--previous-version', '1.0.0'];
    const slow = await run([...base, '--version', '1.1.0', '--window', '1h']);
    expect(slow.code, slow.err).toBe(1);
    expect(slow.out).toMatch(/outcome: reject/);
    expect(slow.out).toMatch(/canary fail: GetInvoice latency fail: P95 .* slower/);
    const same = await run([...base, '--version', '1.0.1', '--from', String(Date.now() - 20 * 60_000), '--to', String(Date.now() + 60_000)]);
    expect(same.out).toMatch(/canary pass: 1 action\(s\) pass against the baseline/);
    expect((await run([...base, '--version', '1.1.0', '--window', '1h', '--from', '1'])).code).toBe(2);
    expect((await run([...base, '--version', '1.1.0', '--from', '1'])).code).toBe(2);
    const bad = await run([...base, '--version', '1.1.0', '--window', '2h']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/window must be one of/);
  });
});
