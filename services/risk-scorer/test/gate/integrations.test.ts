import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { CONNECTOR, makeApp } from '../helpers';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const load = (name: string): Doc[] => parseAllDocuments(readFileSync(join(__dirname, '..', '..', 'examples', name), 'utf8')).map((d) => d.toJS() as Doc);

let ctx: ReturnType<typeof makeApp> | undefined;
afterEach(() => ctx?.cleanup());

describe('the shipped Argo Rollouts and Flagger examples work against the API', () => {
  it('Argo: the AnalysisTemplate request, rendered with its args, gets an outcome its conditions understand', async () => {
    ctx = makeApp({ keys: true });
    await ctx.call('put', '/v1/catalog/connectors/ContosoSales', CONNECTOR, { 'x-api-key': 'key-a' });
    const [template, rollout] = load('argo-rollouts-analysis.yaml');
    const metric = template!.spec.metrics[0];
    const web = metric.provider.web;
    const args: Record<string, string> = { 'api-key': 'key-a' };
    for (const a of template!.spec.args as Array<{ name: string; value?: string }>) if (a.value !== undefined) args[a.name] = a.value;
    for (const a of rollout!.spec.strategy.canary.steps[1].analysis.args) args[a.name] = a.value;
    const render = (v: string): string => v.replace(/\{\{ args\.([\w-]+) \}\}/g, (_, n: string) => args[n]!);
    const headers = Object.fromEntries(web.headers.map((h: { key: string; value: string }) => [h.key.toLowerCase(), render(h.value)]));
    const body = Object.fromEntries(Object.entries(web.jsonBody as Record<string, string>).map(([k, v]) => [k, render(v)]));
    const path = new URL(web.url).pathname;
    const res = await ctx.call(web.method.toLowerCase(), path, body, headers);
    expect(res.status).toBe(200);
    expect(web.jsonPath).toBe('{$.outcome}');
    // No model and no telemetry yet: neither success nor failure, so Argo counts it inconclusive.
    expect(res.body.outcome).toBe('hold');
    expect(body.window).toBe('1h');
    // This app has no aggregator; the window asks for one, so the canary holds saying why.
    expect(res.body.checks.find((c: { check: string }) => c.check === 'canary').message).toMatch(/window was asked but no aggregator is configured/);
    expect(metric.successCondition).toBe('result == "promote"');
    expect(metric.failureCondition).toBe('result == "reject"');
  });

  it('Flagger: the confirm-promotion payload with the Canary metadata is held with reasons (409)', async () => {
    ctx = makeApp({ keys: true });
    await ctx.call('put', '/v1/catalog/connectors/ContosoSales', CONNECTOR, { 'x-api-key': 'key-a' });
    const [canary] = load('flagger-canary.yaml');
    const hook = canary!.spec.analysis.webhooks[0];
    expect(hook.type).toBe('confirm-promotion');
    const payload = { name: canary!.metadata.name, namespace: canary!.metadata.namespace, phase: 'Promoting', checksum: 'abc', metadata: { ...hook.metadata, apiKey: 'key-a' } };
    const res = await ctx.call('post', new URL(hook.url).pathname, payload);
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('PROMOTION_HELD');
    expect(res.body.error.details.outcome).toBe('hold');
    expect(hook.metadata.window).toBe('1h');
    expect(res.body.error.message).toMatch(/window was asked but no aggregator is configured/);
  });
});
