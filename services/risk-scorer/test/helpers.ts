import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { expect } from 'vitest';
import { MemoryBus } from '@pulsegate/bus';
import { KeyRing, parseApiKeys } from '@pulsegate/http-kit';
import { createLogger } from '@pulsegate/logging';
import { OpenApiChecker } from '@pulsegate/testkit';
import { createApp, type AppDeps } from '../src/app';
import { FileModelStore } from '../src/model/store';
import { MemoryRiskStore } from '../src/store/memory-store';

export const checker = new OpenApiChecker(join(__dirname, '..', 'openapi.yaml'));

/** Log lines written by the service under test, parsed. */
export function captureLogs(): { lines: Array<Record<string, unknown>>; logger: ReturnType<typeof createLogger> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({ name: 'risk-scorer', level: 'info', destination: { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) } });
  return { lines, logger };
}

export const KEYS = [
  { key: 'key-a', tenant: 'tenant-a', name: 'ci-a' },
  { key: 'key-b', tenant: 'tenant-b', name: 'ci-b' },
  { key: 'key-a-read', tenant: 'tenant-a', name: 'reader-a', scopes: ['risk.read', 'catalog.read'] },
];

/** An app on memory state and a temporary model directory; `keys` switches authentication on. */
export function makeApp(options: { keys?: boolean; now?: () => number; ruleOverrides?: AppDeps['ruleOverrides'] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'risk-scorer-test-'));
  const bus = new MemoryBus();
  const store = new MemoryRiskStore();
  const models = new FileModelStore(dir);
  const { lines, logger } = captureLogs();
  let ready = true;
  const app = createApp({
    store,
    models,
    bus,
    logger,
    keys: new KeyRing(options.keys === true ? parseApiKeys(JSON.stringify(KEYS)) : []),
    cutoffs: { medium: 0.3, high: 0.7 },
    trainSteps: 100,
    isReady: () => ready,
    now: options.now,
    ruleOverrides: options.ruleOverrides,
  });
  /** Sends a request and checks the answer against openapi.yaml. */
  const call = async (method: 'get' | 'put' | 'post', path: string, body?: unknown, headers: Record<string, string> = {}) => {
    let req = request(app)[method](path);
    for (const [k, v] of Object.entries(headers)) req = req.set(k, v);
    const res = typeof body === 'string' ? await req.set('content-type', 'application/json').send(body) : body === undefined ? await req : await req.send(body as object);
    expect(checker.check(method, path, res.status, res.body), `${method} ${path} ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`).toEqual([]);
    if (res.status >= 400) {
      expect(res.body.error.correlationId).toEqual(expect.any(String));
      expect(JSON.stringify(res.body)).not.toMatch(/at .*\.ts:\d+/);
    }
    return res;
  };
  return {
    app,
    bus,
    store,
    models,
    lines,
    call,
    setReady: (r: boolean) => {
      ready = r;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export const CONNECTOR = { owner: 'finance-solutions@contoso.com', classification: 'Confidential', authMethod: 'OAuth2', scopes: ['invoices.read', 'invoices.write'] };
