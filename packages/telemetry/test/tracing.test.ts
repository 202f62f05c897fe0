import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import express from 'express';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { startTelemetry, tracingEnabled, type Telemetry } from '../src/index';

describe('tracingEnabled', () => {
  it('is off without an endpoint and when disabled', () => {
    expect(tracingEnabled({})).toBe(false);
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: ' ' })).toBe(false);
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(true);
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' })).toBe(true);
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' })).toBe(false);
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' })).toBe(false);
  });

  it('starts nothing by default', async () => {
    const t = await startTelemetry({ serviceName: 'pulsegate-test', env: {} });
    expect(t.enabled).toBe(false);
    await t.shutdown();
  });
});

describe('startTelemetry with the SDK', () => {
  const exporter = new InMemorySpanExporter();
  let telemetry: Telemetry;
  let url: string;
  let close: () => Promise<void>;

  beforeAll(async () => {
    // The SDK's env resource detector reads process.env itself.
    process.env.OTEL_RESOURCE_ATTRIBUTES = 'service.namespace=other,deployment.environment=ci';
    telemetry = await startTelemetry({ serviceName: 'pulsegate-test', env: {}, spanProcessors: [new SimpleSpanProcessor(exporter)] });
    delete process.env.OTEL_RESOURCE_ATTRIBUTES;
    const app = express();
    app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
    app.get('/work', (_req, res) => void res.json({ done: true }));
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((r) => server.once('listening', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => new Promise<void>((r) => server.close(() => r()));
  });
  afterAll(async () => {
    await close();
    await telemetry.shutdown();
  });

  it('traces the service HTTP work with the pulsegate namespace, not probes', async () => {
    expect(telemetry.enabled).toBe(true);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/work?x=1`)).status).toBe(200);
    // The server span ends when the response is finished, which can be after the client saw it.
    const servers = await vi.waitFor(() => {
      const done = exporter.getFinishedSpans().filter((s) => s.kind === 1 /* SERVER */);
      if (done.length === 0) throw new Error('no server span yet');
      return done;
    });
    expect(servers.map((s) => s.attributes['url.path'] ?? s.attributes['http.target'])).toEqual(['/work']);
    const resource = servers[0]!.resource.attributes;
    expect(resource['service.name']).toBe('pulsegate-test');
    // OTEL_RESOURCE_ATTRIBUTES may add attributes but cannot move Pulsegate out of its namespace.
    expect(resource['service.namespace']).toBe('pulsegate');
    expect(resource['deployment.environment']).toBe('ci');
  });

  it('never puts credentials from query strings on spans', async () => {
    exporter.reset();
    expect((await fetch(`${url}/work?api_key=sekrit-q1&token=sekrit-q2&x=1`)).status).toBe(200);
    const span = await vi.waitFor(() => {
      const done = exporter.getFinishedSpans().find((s) => s.kind === 1 /* SERVER */);
      if (done === undefined) throw new Error('no server span yet');
      return done;
    });
    const text = JSON.stringify(span.attributes);
    expect(text).not.toContain('sekrit');
    expect(text).toContain('x=1');
  });

  it('shuts down once however often it is asked', async () => {
    const a = telemetry.shutdown();
    const b = telemetry.shutdown();
    expect(a).toBe(b);
    await a;
  });
});
