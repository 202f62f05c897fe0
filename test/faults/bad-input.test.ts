import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, integration, OpenApiChecker, startKafka, startRedis, type KafkaHandle, type RedisHandle } from '@pulsegate/testkit';
import { launch, report, settledCount, type ServiceProc } from './support/pipeline';
import { otlpJson } from './support/otlp-json';

type Name = 'ingest' | 'aggregator' | 'anomaly-detector' | 'risk-scorer';
const NAMES: Name[] = ['ingest', 'aggregator', 'anomaly-detector', 'risk-scorer'];
const root = join(__dirname, '..', '..');

interface Bad {
  what: string;
  body?: Buffer | string;
  headers?: Record<string, string>;
  /** Replaces every path parameter; default a valid-looking value. */
  param?: string;
  query?: string;
}

const deep = (n: number): string => '['.repeat(n) + ']'.repeat(n);
const huge = 'x'.repeat(2 * 1024 * 1024);
const INJECTIONS = ['../../../../etc/passwd', '..%2F..%2Fetc%2Fpasswd', "' OR 1=1 --", '{{7*7}}${7*7}', '<script>alert(1)</script>', '\u0000nul', 'a'.repeat(5_000), '%ff%fe%00'];

/** Bodies every JSON-taking endpoint must refuse with a 4xx. */
function badBodies(): Bad[] {
  const json = { 'content-type': 'application/json' };
  return [
    { what: 'malformed JSON', body: '{"a": [1, 2', headers: json },
    { what: 'empty body', body: '', headers: json },
    { what: 'truncated gzip', body: gzipSync(Buffer.from(JSON.stringify({ a: 'b'.repeat(5000) }))).subarray(0, 40), headers: { ...json, 'content-encoding': 'gzip' } },
    { what: 'gzip bomb (1 GiB of zeros)', body: gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 }), headers: { ...json, 'content-encoding': 'gzip' } },
    { what: 'deep nesting', body: deep(100_000), headers: json },
    { what: 'huge string', body: JSON.stringify({ name: huge }), headers: json },
    { what: 'huge array', body: JSON.stringify({ items: Array.from({ length: 300_000 }, (_, i) => i) }), headers: json },
    { what: 'wrong types', body: JSON.stringify({ matchers: 'x', connector: 7, version: [], records: 'many', features: 1, oldSpec: 1, newSpec: 2 }), headers: json },
    { what: 'unknown enums', body: JSON.stringify({ matchers: [{ name: 'a', op: '===', value: 'b' }], duration: '1h', createdBy: 'x', classification: 'TopSecretPlus', authMethod: 'Telepathy' }), headers: json },
    { what: 'non-UTF-8', body: Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xff, 0xfe, 0xc3, 0x28]), Buffer.from('"}')]), headers: json },
    { what: 'JSON scalar', body: '"just a string"', headers: json },
    { what: 'prototype pollution', body: '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}', headers: json },
    { what: 'unsupported content type', body: '<xml/>', headers: { 'content-type': 'application/xml' } },
    { what: 'unsupported encoding', body: 'abc', headers: { ...json, 'content-encoding': 'br' } },
  ];
}

/** Extra bodies for OTLP ingest. */
function ingestBodies(): Bad[] {
  const proto = { 'content-type': 'application/x-protobuf' };
  const good = otlpJson('BadInputProbe', 1);
  return [
    { what: 'malformed protobuf', body: Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02]), headers: proto },
    { what: 'protobuf with a wrong wire type', body: Buffer.from([0x0d, 0x01, 0x02, 0x03, 0x04]), headers: proto },
    { what: 'truncated gzip protobuf', body: gzipSync(Buffer.alloc(10_000, 0x0a)).subarray(0, 30), headers: { ...proto, 'content-encoding': 'gzip' } },
    { what: 'gzip bomb protobuf', body: gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 }), headers: { ...proto, 'content-encoding': 'gzip' } },
    { what: 'span ids of wrong length', body: good.replace(/"spanId":"[0-9a-f]+"/, '"spanId":"abc"'), headers: { 'content-type': 'application/json' } },
    { what: 'resourceSpans not an array', body: '{"resourceSpans": {"a": 1}}', headers: { 'content-type': 'application/json' } },
  ];
}

/** Path and query abuse for every endpoint. */
function badPaths(): Bad[] {
  return [
    ...INJECTIONS.map((p) => ({ what: `path parameter ${JSON.stringify(p.slice(0, 30))}`, param: encodeURIComponent(p).replace(/%25/g, '%') })),
    { what: 'invalid semver', param: '1.2.x-+' },
    { what: 'unknown enum in query', query: '?window=13m&kind=sideways&state=exploded&status=weird&metric=nope&step=7s' },
    { what: 'wrong types in query', query: '?from=yesterday&to=%00&limit=-1&staleDays=abc' },
    ...INJECTIONS.map((p) => ({ what: `query ${JSON.stringify(p.slice(0, 30))}`, query: `?connector=${encodeURIComponent(p)}&action=${encodeURIComponent(p)}&version=${encodeURIComponent(p)}` })),
  ];
}

/**
 * Where a 2xx to a bad body is the documented answer: OTLP receivers ignore unknown fields, so a
 * JSON object without resourceSpans is an empty export (nothing is counted; checked at the end),
 * and partial success reports rejected spans; rules:validate answers every text with a verdict.
 */
function acceptable(name: Name, template: string, body: unknown): boolean {
  // A protobuf field with an unexpected wire type is an unknown field to be skipped (as the Go
  // reference implementation does); the answer is then an empty protobuf ExportTraceServiceResponse.
  if (name === 'ingest' && template === '/v1/traces') return (typeof body === 'object' && body !== null) || body === '';
  if (name === 'anomaly-detector' && template === '/v1/rules:validate') return (body as { valid?: boolean }).valid === false;
  return false;
}

describe.skipIf(integration(['redis', 'kafka']).skip)('bad input on every documented endpoint of the live services', () => {
  let kafka: KafkaHandle;
  let redis: RedisHandle;
  const procs = {} as Record<Name, ServiceProc>;
  const checkers = Object.fromEntries(NAMES.map((n) => [n, new OpenApiChecker(join(root, 'services', n, 'openapi.yaml'))])) as Record<Name, OpenApiChecker>;

  beforeAll(async () => {
    [kafka, redis] = await Promise.all([startKafka(), startRedis()]);
    const env = { KAFKA_BROKERS: kafka.brokers.join(','), REDIS_URL: redis.url, KAFKA_SESSION_TIMEOUT_MS: '6000', INGEST_MAX_BODY_BYTES: String(4 * 1024 * 1024) };
    const started = await Promise.all(NAMES.map(async (n) => launch(n, await freePort(), env)));
    NAMES.forEach((n, i) => (procs[n] = started[i]!));
  });

  afterAll(async () => {
    await Promise.all(Object.values(procs).map((p) => p.stop()));
    await redis?.stop();
    await kafka?.stop();
  });

  it('answers each bad request with a documented 4xx in the error schema, stays up, and applies every good request interleaved', async () => {
    const goodSpans = { sent: 0 };
    let silences = 0;
    let versions = 0;
    await fetch(`${procs['risk-scorer'].url}/v1/catalog/connectors/BadInputCatalog`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ owner: 'o', classification: 'Confidential', authMethod: 'OAuth2', scopes: [], versions: [] }) });
    const good = async (): Promise<void> => {
      const r1 = await fetch(`${procs.ingest.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: otlpJson('GoodInterleaved', 10) });
      expect(r1.status).toBe(200);
      goodSpans.sent += 10;
      const r2 = await fetch(`${procs['anomaly-detector'].url}/v1/silences`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ matchers: [{ name: 'connector', op: '=', value: `Good${silences}` }], duration: '1h', createdBy: 'bad-input-suite' }) });
      expect(r2.status).toBe(201);
      silences++;
      const r3 = await fetch(`${procs['risk-scorer'].url}/v1/catalog/connectors/BadInputCatalog/versions/1.0.${versions}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(r3.status).toBe(200);
      versions++;
    };

    let bad = 0;
    const problems: string[] = [];
    for (const name of NAMES) {
      for (const op of checkers[name].operations()) {
        const [method, template] = op.split(' ') as [string, string];
        const takesBody = method === 'POST' || method === 'PUT' || method === 'PATCH';
        const cases = [...badPaths(), ...(takesBody ? badBodies() : []), ...(takesBody && name === 'ingest' ? ingestBodies() : [])];
        for (const c of cases) {
          if (c.param !== undefined && !template.includes('{')) continue;
          const path = template.replace(/\{[^}]+\}/g, c.param ?? 'BadInputCatalog') + (c.query ?? '');
          const body = c.body ?? (takesBody ? '{}' : undefined);
          const headers = c.headers ?? (takesBody ? { 'content-type': 'application/json' } : {});
          const r = await fetch(procs[name].url + path, { method, headers, body }).catch((err: Error) => ({ status: 0, err }));
          bad++;
          const label = `${name} ${method} ${template} [${c.what}]`;
          if (!('headers' in r)) {
            problems.push(`${label}: connection failed (${(r as { err: Error }).err.message})`);
            continue;
          }
          const text = await r.text();
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = text;
          }
          if (r.status >= 500) problems.push(`${label}: ${r.status} ${text.slice(0, 200)}`);
          // Bodies that cannot be right must be refused; paths and filters may also answer 200 / 404 (nothing matches).
          else if (c.body !== undefined && r.status < 400 && !acceptable(name, template, parsed)) problems.push(`${label}: accepted with ${r.status} ${text.slice(0, 200)}`);
          else {
            // Schemas are checked for JSON answers; a protobuf request gets a protobuf answer (OTLP/HTTP)
            // and /metrics answers in the Prometheus text format. Errors are always JSON (below).
            const isJson = (r.headers.get('content-type') ?? '').includes('json');
            if (isJson) for (const p of checkers[name].check(method, path, r.status, parsed)) problems.push(`${label}: ${p}`);
            else if (r.status >= 400) problems.push(`${label}: ${r.status} answered as ${r.headers.get('content-type')}`);
            if (r.status >= 400 && !(typeof parsed === 'object' && parsed !== null && 'error' in parsed)) problems.push(`${label}: ${r.status} without the error body`);
          }
          if (/\n\s+at \S+|node_modules|\.ts:\d+/.test(text)) problems.push(`${label}: stack trace in the answer`);
        }
        // The processes stay up, and good requests right after the bad ones are applied.
        for (const n of NAMES) if (!procs[n].alive()) problems.push(`${n} died after ${name} ${op}:\n${procs[n].output().slice(-2000)}`);
        await good();
      }
    }
    expect(problems, problems.join('\n')).toEqual([]);
    const count = await settledCount(procs.aggregator.url, ['GoodInterleaved'], goodSpans.sent, 60_000, 1_000);
    const listed = (await (await fetch(`${procs['anomaly-detector'].url}/v1/silences`)).json()) as { silences: Array<{ createdBy: string }> };
    const catalog = (await (await fetch(`${procs['risk-scorer'].url}/v1/catalog/connectors/BadInputCatalog`)).json()) as { versions: unknown[] };
    // Nothing of the bad OTLP bodies became an event: the good connector is the only one with calls.
    const connectors = (await (await fetch(`${procs.aggregator.url}/v1/connectors?window=15m`)).json()) as { connectors: Array<{ connector: string }> };
    expect(connectors.connectors.map((c) => c.connector)).toEqual(['GoodInterleaved']);
    report('bad-input corpus (good spans interleaved)', goodSpans.sent, count, `(bad requests ${bad}; silences ${silences}, catalog versions ${versions} also interleaved)`);
    expect(count).toBe(goodSpans.sent);
    expect(listed.silences.filter((s) => s.createdBy === 'bad-input-suite')).toHaveLength(silences);
    expect(catalog.versions).toHaveLength(versions);
  });
});
