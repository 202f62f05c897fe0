import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MemoryBus } from '@pulsegate/bus';
import { Topics, decodeInvocationBatch, type InvocationEvent } from '@pulsegate/events';
import { createLogger } from '@pulsegate/logging';
import { startEmbedded, type Embedded } from '../apps/pulsegate/src/embedded';
import { bySpanId, exportCalls } from './support/otel';
import { contosoCalls, reference } from './support/scenario';

/** Polls `probe` until it returns a value (not undefined) or the attempts run out. */
async function eventually<T>(probe: () => Promise<T | undefined>, attempts = 100, delayMs = 100): Promise<T> {
  for (let i = 0; i < attempts; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, delayMs));
  }
  throw new Error('condition not met in time');
}

describe('embedded pipeline (npm start): real OpenTelemetry exporters in, exact metrics out', () => {
  let embedded: Embedded;
  const url = (name: string): string => embedded.services.find((s) => s.name === name)!.url;

  beforeAll(async () => {
    embedded = await startEmbedded({ env: {}, ephemeralPorts: true, logger: createLogger({ name: 'e2e', level: 'silent' }) });
  });
  afterAll(async () => {
    await embedded.stop();
    await embedded.stop();
  });

  it('starts every service, each ready', async () => {
    expect(embedded.services.map((s) => s.name).sort()).toEqual(['aggregator', 'anomaly-detector', 'dashboard', 'ingest', 'risk-scorer']);
    for (const s of embedded.services) {
      const res = await fetch(`${s.url}/readyz`);
      expect(res.status, s.name).toBe(200);
    }
  });

  it('turns spans from the JSON and the gzip-protobuf exporters into events field for field, and the aggregator counts them exactly', async () => {
    const now = Date.now();
    const calls = contosoCalls(600, now);
    const sent: InvocationEvent[] = [
      ...(await exportCalls(url('ingest'), 'json', calls.slice(0, 200))),
      ...(await exportCalls(url('ingest'), 'proto-gzip', calls.slice(200))),
    ];
    expect(sent).toHaveLength(600);

    const bus = embedded.bus as MemoryBus;
    const onBus = bus.recordsIn(Topics.invocations).flatMap((r) => decodeInvocationBatch(r.value));
    expect(bySpanId(onBus)).toEqual(bySpanId(sent));

    for (const filter of [{}, { action: 'ListInvoices' }, { action: 'CreateInvoice', version: '1.1.0' }] as Array<Record<string, string>>) {
      const want = reference(sent.filter((e) => (filter.action === undefined || e.action === filter.action) && (filter.version === undefined || e.connectorVersion === filter.version)));
      const query = new URLSearchParams({ window: '15m', ...filter });
      const body = await eventually(async () => {
        const res = await fetch(`${url('aggregator')}/v1/connectors/ContosoSales/metrics?${query}`);
        const b = (await res.json()) as Record<string, unknown>;
        return b.calls === want.calls ? b : undefined;
      });
      expect(body).toMatchObject({
        connector: 'ContosoSales',
        calls: want.calls,
        successes: want.successes,
        throttled: want.throttled,
        errorCodes: want.errorCodes,
      });
      expect(body.successRate).toBeCloseTo(want.successRate!, 12);
      expect(body.throttleRate).toBeCloseTo(want.throttleRate!, 12);
      expect(body.errorMappingCoverage).toBeCloseTo(want.errorMappingCoverage!, 12);
      const latency = body.latencyMs as { p50: number; p95: number; p99: number };
      for (const q of ['p50', 'p95', 'p99'] as const) {
        expect(Math.abs(latency[q] - want[q]) / want[q], `${JSON.stringify(filter)} ${q}`).toBeLessThanOrEqual(0.01);
      }
    }

    const versions = (await (await fetch(`${url('aggregator')}/v1/connectors/ContosoSales/versions?window=24h`)).json()) as {
      latest: string;
      versions: Array<{ version: string; calls: number; share: number }>;
    };
    expect(versions.latest).toBe('1.2.0');
    const v12 = sent.filter((e) => e.connectorVersion === '1.2.0').length;
    expect(versions.versions.find((v) => v.version === '1.2.0')).toMatchObject({ calls: v12 });
    expect(versions.versions.find((v) => v.version === '1.2.0')!.share).toBeCloseTo(v12 / sent.length, 12);
  });
});
