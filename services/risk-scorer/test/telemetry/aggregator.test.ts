import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SKETCH_RELATIVE_ACCURACY } from '@pulsegate/windows';
import { fetchVersionPair, MAX_ANSWER_BYTES, TelemetryUnavailable } from '../../src/telemetry/aggregator';

/** A stand-in aggregator on a free loopback port answering what each test sets, recording requests. */
let server: Server;
let baseUrl: string;
let answer: (req: IncomingMessage) => { status: number; body: string } = () => ({ status: 200, body: '{}' });
const seen: Array<{ url: string; key: string | undefined }> = [];

const ok = (versions: unknown[], sketch: Record<string, unknown> = { relativeAccuracy: SKETCH_RELATIVE_ACCURACY, gamma: 1.0202, minValueMs: 0.001, zeroBucket: 'z' }) => ({
  status: 200,
  body: JSON.stringify({ connector: 'C', window: '1h', from: 1_000, to: 2_000, sketch, versions }),
});

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', key: req.headers['x-api-key'] as string | undefined });
    const a = answer(req);
    res.writeHead(a.status, { 'content-type': 'application/json' });
    res.end(a.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const call = (window: Parameters<typeof fetchVersionPair>[5] = { window: '1h' }, key: string | null = 'k1', maxBytes?: number) =>
  fetchVersionPair({ baseUrl, timeoutMs: 5_000, maxBytes }, key ?? undefined, 'Contoso Sales', '1.0.0', '1.1.0', window);
const refusal = async (p: Promise<unknown>): Promise<string> => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TelemetryUnavailable);
  return (err as Error).message;
};

describe('fetchVersionPair (the gate reading the aggregator)', () => {
  it("asks for both versions over the window with the caller's key and maps the answer per side", async () => {
    answer = () =>
      ok([
        { version: '1.0.0', actions: [{ action: 'A', calls: 10, successes: 8, throttled: 1, errors: 1, latency: { '300': 10 } }] },
        { version: '1.1.0', actions: [] },
      ]);
    const t = await call({ from: 5, to: 6 });
    expect(t).toEqual({ window: '1h', from: 1_000, to: 2_000, baseline: { A: { calls: 10, errors: 1, throttled: 1, latency: { '300': 10 } } }, candidate: {} });
    const last = seen.at(-1)!;
    expect(last.key).toBe('k1');
    const u = new URL(last.url, baseUrl);
    expect(u.pathname).toBe('/v1/connectors/Contoso%20Sales/version-sketches');
    expect(Object.fromEntries(u.searchParams)).toEqual({ versions: '1.0.0,1.1.0', from: '5', to: '6' });
    await call({ window: '24h' }, null);
    expect(seen.at(-1)!.key).toBeUndefined();
    expect(new URL(seen.at(-1)!.url, baseUrl).searchParams.get('window')).toBe('24h');
  });

  it('no data for the connector is null; refusals, malformed answers and another sketch mapping are TelemetryUnavailable', async () => {
    answer = () => ({ status: 404, body: JSON.stringify({ error: { code: 'NOT_FOUND', message: 'no data', correlationId: 'c' } }) });
    expect(await call()).toBeNull();
    answer = () => ({ status: 403, body: JSON.stringify({ error: { code: 'FORBIDDEN', message: 'key lacks metrics.read', correlationId: 'c' } }) });
    expect(await refusal(call())).toMatch(/403 FORBIDDEN: key lacks metrics.read \(the caller's key needs the metrics.read scope there\)/);
    answer = () => ({ status: 500, body: 'oops' });
    expect(await refusal(call())).toMatch(/answered 500 with a non-JSON body/);
    answer = () => ok([{ version: '1.0.0', actions: [{ action: 'A', calls: -1, throttled: 0, errors: 0, latency: {} }] }]);
    expect(await refusal(call())).toMatch(/malformed \(versions\.0\.actions\.0\.calls/);
    answer = () => ok([], { relativeAccuracy: 0.02, zeroBucket: 'z' });
    expect(await refusal(call())).toMatch(/sketch mapping \(α 0.02\) differs/);
  });

  it('an answer larger than the limit is refused, not buffered', async () => {
    answer = () => ok([{ version: '1.0.0', actions: [{ action: 'A', calls: 1, successes: 1, throttled: 0, errors: 0, latency: { '300': 1 } }] }]);
    const size = Buffer.byteLength(answer({} as IncomingMessage).body);
    expect((await call(undefined, 'k1', size))!.baseline.A!.calls).toBe(1);
    expect(await refusal(call(undefined, 'k1', size - 1))).toBe(`the aggregator's answer is larger than ${size - 1} bytes`);
    expect(MAX_ANSWER_BYTES).toBe(32 * 1024 * 1024);
  });

  it('an unreachable aggregator is TelemetryUnavailable naming it', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((r) => closed.close(() => r()));
    expect(await refusal(fetchVersionPair({ baseUrl: url }, undefined, 'C', '1.0.0', '1.1.0', { window: '1h' }))).toContain(`the aggregator at ${url} is unreachable`);
  });
});
