import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SpanKind } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCOPES } from '@pulsegate/http-kit';
import { generateHistory } from '@pulsegate/risk-scorer';
import { OpenApiChecker } from '@pulsegate/testkit';
import { SERVICE_NAMES, startStack, type RunningStack, type ServiceName } from './stack';

const root = join(__dirname, '..', '..');

// Keys: one per scope for tenant acme (the scope matrix), an all-scope key per tenant, and a key
// with a budget of one request per minute. Values look like real secrets so a leak is greppable.
const SCOPE_KEY = (s: string): string => `sk-acme-${s.replace('.', '-')}-Q9v2xLm4`;
const ACME = 'sk-acme-all-7Rf3kP0zWq';
const GLOBEX = 'sk-globex-all-Jb8nT2cYe5';
const LIMITED = 'sk-acme-limited-Hh4uV7sD1';
const KEYS = [
  ...SCOPES.map((s) => ({ key: SCOPE_KEY(s), tenant: 'acme', scopes: [s], name: `acme-${s}`, rateLimitPerMinute: 0 })),
  { key: ACME, tenant: 'acme', scopes: SCOPES.filter((s) => s !== 'admin'), name: 'acme-all', rateLimitPerMinute: 0 },
  { key: GLOBEX, tenant: 'globex', scopes: SCOPES.filter((s) => s !== 'admin'), name: 'globex-all', rateLimitPerMinute: 0 },
  { key: LIMITED, tenant: 'acme', scopes: SCOPES.filter((s) => s !== 'admin'), name: 'acme-limited', rateLimitPerMinute: 1, rateLimitBurst: 1 },
];
const ALL_KEYS = KEYS.map((k) => k.key);

// Acme's names and PII. None of these may show in another tenant's answers; PII in no log line.
const CONNECTOR = 'AcmeSecretConnector';
const ACTION = 'AcmeHiddenAction';
const SILENCE_COMMENT = 'acme-private-silence-comment';
const PII = ['jane.doe.pii@example.com', 'PII-ENDUSER-55501', '4111-1111-1111-1111', 'pii-token-in-url-8c1e'];

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: unknown;
}

const answers: Array<{ what: string; answer: Answer }> = [];

async function call(stack: RunningStack, svc: ServiceName, method: string, path: string, opts: { key?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.key !== undefined) headers['x-api-key'] = opts.key;
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(stack.urls[svc] + path, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON; kept as text
  }
  const answer = { status: res.status, headers: res.headers, text, body: parsed };
  answers.push({ what: `${svc} ${method} ${path}`, answer });
  return answer;
}

interface Operation {
  svc: ServiceName;
  method: string;
  template: string;
  /** False for endpoints documented with `security: []` (health probes). */
  secured: boolean;
}

/** Every documented operation of every service, from its openapi.yaml (new endpoints join by themselves). */
function operations(): Operation[] {
  const out: Operation[] = [];
  for (const svc of SERVICE_NAMES) {
    const file = join(root, 'services', svc, 'openapi.yaml');
    const doc = parseYaml(readFileSync(file, 'utf8')) as { security?: unknown[]; paths: Record<string, Record<string, { security?: unknown[] }>> };
    for (const op of new OpenApiChecker(file).operations()) {
      const [method, template] = op.split(' ') as [string, string];
      const security = (doc.paths[template]![method.toLowerCase()]!.security ?? doc.security ?? []) as object[];
      // `{}` is the "no credentials" alternative (anonymous mode); an operation is open when it is all there is.
      out.push({ svc, method, template, secured: security.some((req) => Object.keys(req).length > 0) });
    }
  }
  return out;
}

const ids: Record<string, string> = { connector: CONNECTOR, version: '1.3.0' };

/** The same shape with other characters: digits and letters rotated, so format checks pass alike. */
function ghostOf(v: string): string {
  return v.replace(/[0-9a-zA-Z]/g, (c) => {
    if (/[0-9]/.test(c)) return String((Number(c) + 1) % 10);
    if (/[a-f]/.test(c)) return 'abcdef'[('abcdef'.indexOf(c) + 1) % 6]!;
    if (/[A-F]/.test(c)) return 'ABCDEF'[('ABCDEF'.indexOf(c) + 1) % 6]!;
    if (/[g-z]/.test(c)) return String.fromCharCode(((c.charCodeAt(0) - 103 + 1) % 20) + 103);
    return String.fromCharCode(((c.charCodeAt(0) - 71 + 1) % 20) + 71);
  });
}

/** A concrete path for a template, path parameters filled with acme's resources by name (or their ghosts). */
function concrete(template: string, ghost = false): string {
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const v = ghost && ids[name] !== undefined ? ghostOf(ids[name]) : ids[name];
    if (v === undefined) throw new Error(`no acme value for path parameter {${name}} in ${template}: add it to ids`);
    return encodeURIComponent(v);
  });
}

/** Exports spans with the real OpenTelemetry SDK and OTLP/HTTP JSON exporter, PII in attributes. */
async function exportSpans(url: string, key: string, connector: string, count: number): Promise<void> {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': `${connector}-backend`, 'connector.name': connector, 'connector.version': '1.2.0', 'user.email': PII[0]! }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${url}/v1/traces`, headers: { 'x-api-key': key } }), { scheduledDelayMillis: 10, maxExportBatchSize: 100 })],
  });
  const tracer = provider.getTracer('security');
  const now = Date.now();
  for (let i = 0; i < count; i++) {
    const status = i % 10 === 0 ? 429 : 200; // 10 % throttles: the throttle rule fires at once
    const span = tracer.startSpan(`GET ${ACTION}`, {
      kind: SpanKind.CLIENT,
      startTime: now - 5_000 - 120,
      attributes: {
        'connector.operation_id': connector === CONNECTOR ? ACTION : 'GlobexAction',
        'http.request.method': 'GET',
        'http.response.status_code': status,
        'enduser.id': PII[1]!,
        'payment.card': PII[2]!,
        'url.full': `https://api.example.com/x?token=${PII[3]!}`,
      },
    });
    span.end(now - 5_000);
  }
  await provider.forceFlush();
  await provider.shutdown();
}

async function eventually<T>(probe: () => Promise<T | undefined>, what: string, attempts = 100, delayMs = 200): Promise<T> {
  for (let i = 0; i < attempts; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, delayMs));
  }
  throw new Error(`${what}: not reached in time`);
}

const ERROR_BODY = { error: { code: expect.any(String), message: expect.any(String), correlationId: expect.any(String) } };

describe('security: keys, scopes, tenants and rate limits on every documented endpoint', () => {
  let stack: RunningStack;
  const ops = operations();
  const secured = ops.filter((o) => o.secured);
  const checkers = Object.fromEntries(SERVICE_NAMES.map((s) => [s, new OpenApiChecker(join(root, 'services', s, 'openapi.yaml'))])) as Record<ServiceName, OpenApiChecker>;

  beforeAll(async () => {
    stack = await startStack({ PULSEGATE_API_KEYS: JSON.stringify(KEYS) });
    await exportSpans(stack.urls.ingest, ACME, CONNECTOR, 200);
    await exportSpans(stack.urls.ingest, GLOBEX, 'GlobexConnector', 50);
    await eventually(async () => {
      const r = await call(stack, 'aggregator', 'GET', `/v1/connectors/${CONNECTOR}/metrics?window=15m`, { key: ACME });
      return (r.body as { calls?: number }).calls === 200 ? true : undefined;
    }, 'acme calls counted');
    const silence = await call(stack, 'anomaly-detector', 'POST', '/v1/silences', { key: ACME, body: { matchers: [{ name: 'connector', op: '=', value: 'NotAcme' }], duration: '1h', createdBy: 'sec-test', comment: SILENCE_COMMENT } });
    expect(silence.status).toBe(201);
    ids.id = (silence.body as { id: string }).id;
    const alert = await eventually(async () => {
      const r = await call(stack, 'anomaly-detector', 'GET', '/v1/alerts', { key: ACME });
      return (r.body as { alerts: Array<{ fingerprint: string }> }).alerts[0];
    }, 'acme alert');
    ids.fingerprint = alert.fingerprint;
    const put = await call(stack, 'risk-scorer', 'PUT', `/v1/catalog/connectors/${CONNECTOR}`, { key: ACME, body: { owner: 'acme-owner@example.com', classification: 'Confidential', authMethod: 'OAuth2', scopes: ['x.read'], versions: [{ version: '1.2.0' }, { version: '1.3.0' }] } });
    expect(put.status).toBeLessThan(300);
    const trained = await call(stack, 'risk-scorer', 'POST', '/v1/risk/model:train', { key: ACME, body: { records: generateHistory({ records: 300, seed: 3 }).records } });
    expect(trained.status).toBe(201);
    ids.modelVersion = (trained.body as { model: { version: string } }).model.version;
    const features = { lintWarnings: 2, operationsModifiedShare: 0.5, newScopesAdded: 1, payloadSizeIncrease: 0.1, breakingChanges: 3, priorIncidentRate: 0.2, priorSuccessRate: 0.995, priorP95Ms: 420, priorThrottleRate: 0.004, priorAlertsPer1000Calls: 0.1 };
    const assessed = await call(stack, 'risk-scorer', 'POST', '/v1/risk/assessments', { key: ACME, body: { connector: CONNECTOR, version: '1.3.0', features } });
    expect(assessed.status).toBeLessThan(300);
  }, 90_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('enumerates every documented operation of the four services', () => {
    expect(new Set(ops.map((o) => o.svc))).toEqual(new Set(SERVICE_NAMES));
    expect(secured.length).toBeGreaterThan(20);
    // Only the probes are open.
    expect(ops.filter((o) => !o.secured).map((o) => o.template).sort()).toEqual(ops.filter((o) => /^\/(healthz|readyz)$/.test(o.template)).map((o) => o.template).sort());
  });

  it('refuses a missing key and an unknown key with 401 in the error schema on every secured endpoint', async () => {
    for (const op of secured) {
      for (const key of [undefined, 'sk-not-a-key', `${ACME} `.repeat(2)]) {
        const r = await call(stack, op.svc, op.method, concrete(op.template), { key, body: op.method === 'GET' || op.method === 'DELETE' ? undefined : {} });
        expect(r.status, `${op.svc} ${op.method} ${op.template}`).toBe(401);
        expect(r.body).toMatchObject(ERROR_BODY);
        expect(checkers[op.svc].check(op.method, concrete(op.template), r.status, r.body)).toEqual([]);
      }
    }
  });

  it('accepts one scope plus admin (or admin alone) per secured endpoint and answers 403 to every other', async () => {
    for (const op of secured) {
      const accepted: string[] = [];
      for (const scope of SCOPES) {
        // A body that passes no validation: accepted keys get 4xx from validation, never a write.
        const body = op.method === 'GET' || op.method === 'DELETE' ? undefined : { __invalid__: true };
        const path = op.method === 'DELETE' ? op.template.replace(/\{[^}]+\}/g, 'no-such-id') : concrete(op.template);
        const r = await call(stack, op.svc, op.method, path, { key: SCOPE_KEY(scope), body });
        if (r.status === 403) {
          expect(r.body).toMatchObject({ error: { code: 'FORBIDDEN' } });
          expect(checkers[op.svc].check(op.method, path, r.status, r.body)).toEqual([]);
        } else accepted.push(scope);
      }
      expect(accepted.length, `${op.svc} ${op.method} ${op.template} accepted ${accepted.join(',')}`).toBeLessThanOrEqual(2);
      expect(accepted).toContain('admin');
    }
  });

  it("never shows acme's data to globex, through any id, path or filter", async () => {
    const markers = [CONNECTOR, ACTION, SILENCE_COMMENT, ids.id!, ids.fingerprint!, ids.modelVersion!, 'acme-owner@example.com'];
    const filters = (c: string, a: string): string[] => ['', `?connector=${c}`, `?connector=${c}&action=${a}&version=1.2.0&window=15m`, '?tenant=acme', `?connector=${c}&tenant=acme&state=firing`];
    // Echoes of what the caller itself sent (a name in a 404 message) are not leaks; the ids are
    // replaced by a placeholder, and so are the per-request correlation id and "now" timestamps.
    // "Now" comes as epoch ms or as an ISO time within a minute of the test's clock (GET /v1/slos's
    // `at`, the history's default `to`) or of 24 h before it (the history's default `from`); other
    // ISO times are data and stay compared.
    const isNow = (iso: string): boolean => [0, 86_400_000].some((ago) => Math.abs(Date.parse(iso) - (Date.now() - ago)) < 60_000);
    const normal = (text: string, sent: string[]): string =>
      sent
        .reduce((t, v) => t.split(v).join('<sent>'), text)
        .replace(/"correlationId":"[^"]*"/g, '')
        .replace(/\b1\d{12}\b/g, '<epoch-ms>')
        .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z/g, (iso) => (isNow(iso) ? '<now>' : iso));
    let compared = 0;
    for (const op of secured.filter((o) => o.method === 'GET')) {
      const real = filters(CONNECTOR, ACTION);
      const ghost = filters(ghostOf(CONNECTOR), ghostOf(ACTION));
      for (let i = 0; i < real.length; i++) {
        for (const headers of [{}, { 'x-tenant': 'acme', 'x-pulsegate-tenant': 'acme' }] as Array<Record<string, string>>) {
          const path = concrete(op.template) + real[i];
          const r = await call(stack, op.svc, op.method, path, { key: GLOBEX, headers });
          // 403: the endpoint needs admin, which no tenant key here has.
          expect([200, 400, 403, 404], `${op.svc} GET ${path}: ${r.status}`).toContain(r.status);
          for (const m of markers) if (!decodeURIComponent(path).includes(m)) expect(r.text, `${op.svc} GET ${path} shows ${m}`).not.toContain(m);
          // No existence oracle: acme's ids answer exactly as ids that never existed.
          const ghostPath = concrete(op.template, true) + ghost[i];
          const g = await call(stack, op.svc, op.method, ghostPath, { key: GLOBEX, headers });
          const sentReal = Object.values(ids).concat(ACTION).filter((v) => decodeURIComponent(path).includes(v));
          expect(normal(r.text, sentReal), `${op.svc} GET ${path} differs from a never-existing id`).toBe(normal(g.text, sentReal.map(ghostOf)));
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(50);
    // Writes aimed at acme's resources touch nothing of acme's.
    expect((await call(stack, 'anomaly-detector', 'DELETE', `/v1/silences/${ids.id}`, { key: GLOBEX })).status).toBe(404);
    expect((await call(stack, 'risk-scorer', 'PUT', `/v1/catalog/connectors/${CONNECTOR}/versions/1.2.0`, { key: GLOBEX, body: { deprecatedAt: 1 } })).status).toBe(404);
    expect((await call(stack, 'risk-scorer', 'POST', '/v1/risk/models:rollback', { key: GLOBEX, body: { modelVersion: ids.modelVersion } })).status).toBe(404);
    const silences = await call(stack, 'anomaly-detector', 'GET', '/v1/silences', { key: ACME });
    expect((silences.body as { silences: Array<{ id: string }> }).silences.map((s) => s.id)).toContain(ids.id);
    const catalog = await call(stack, 'risk-scorer', 'GET', `/v1/catalog/connectors/${CONNECTOR}`, { key: ACME });
    expect(JSON.stringify(catalog.body)).not.toContain('"deprecatedAt":1,');
    // The same name under globex is globex's own, separate series.
    const mine = await call(stack, 'aggregator', 'GET', `/v1/connectors/${CONNECTOR}/metrics?window=15m`, { key: GLOBEX });
    expect([200, 404]).toContain(mine.status);
    if (mine.status === 200) expect((mine.body as { calls: number }).calls).toBe(0);
    const acmeView = await call(stack, 'aggregator', 'GET', `/v1/connectors/${CONNECTOR}/metrics?window=15m`, { key: ACME });
    expect((acmeView.body as { calls: number }).calls).toBe(200);
  });

  it('answers 429 RATE_LIMIT with Retry-After and retryAfterSeconds on every secured endpoint once a key is over its budget', async () => {
    for (const op of secured) {
      let r: Answer | undefined;
      // A budget of one per minute: at most the first call per service goes through.
      for (let i = 0; i < 2 && r?.status !== 429; i++) {
        r = await call(stack, op.svc, op.method, concrete(op.template), { key: LIMITED, body: op.method === 'GET' || op.method === 'DELETE' ? undefined : { __invalid__: true }, headers: { 'x-correlation-id': 'rl-check' } });
      }
      expect(r!.status, `${op.svc} ${op.method} ${op.template}`).toBe(429);
      const seconds = Number(r!.headers.get('retry-after'));
      expect(seconds).toBeGreaterThanOrEqual(1);
      expect(seconds).toBeLessThanOrEqual(60);
      expect(r!.body).toEqual({ error: { code: 'RATE_LIMIT', message: expect.any(String), retryAfterSeconds: seconds, correlationId: 'rl-check' } });
      expect(checkers[op.svc].check(op.method, concrete(op.template), 429, r!.body)).toEqual([]);
    }
    // Other keys of the same tenant keep their own budget.
    expect((await call(stack, 'aggregator', 'GET', '/v1/connectors?window=15m', { key: ACME })).status).toBe(200);
  });

  it('puts no stack trace, internal path or key in any answer', () => {
    expect(answers.length).toBeGreaterThan(400);
    for (const { what, answer } of answers) {
      expect(answer.text, what).not.toMatch(/\n\s+at \S+|\.ts:\d+|node_modules|\/work\/|Error: /);
      for (const key of ALL_KEYS) expect(answer.text, what).not.toContain(key);
      if (answer.status >= 400) expect(answer.body, what).toMatchObject(ERROR_BODY);
    }
  });

  it('writes no key and no PII value it was sent to any log line', () => {
    expect(stack.logs.length).toBeGreaterThan(0);
    const all = stack.logs.join('');
    for (const secret of [...ALL_KEYS, ...PII]) expect(all.includes(secret), `log contains ${secret}`).toBe(false);
  });
});
