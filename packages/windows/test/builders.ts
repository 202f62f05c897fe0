import { errorCodeForStatus, kindForMethod, outcomeFor, type InvocationEvent } from '@pulsegate/events';
import { rng } from './random';

let spanCounter = 0;

/** An invocation event with sensible defaults; override any field. */
export function invocation(over: Partial<InvocationEvent> = {}): InvocationEvent {
  const httpMethod = over.httpMethod ?? 'GET';
  const httpStatus = over.httpStatus ?? 200;
  const outcome = over.outcome ?? outcomeFor(httpStatus, false);
  spanCounter++;
  return {
    schemaVersion: 1,
    tenant: 'acme',
    connector: 'crm',
    connectorVersion: '1.2.0',
    action: 'listContacts',
    httpMethod,
    kind: kindForMethod(httpMethod),
    httpStatus,
    outcome,
    errorCode: outcome === 'success' ? null : errorCodeForStatus(httpStatus),
    latencyMs: 100,
    eventTime: Date.now(),
    correlationId: null,
    traceId: spanCounter.toString(16).padStart(32, '0'),
    spanId: spanCounter.toString(16).padStart(16, '0'),
    sampleWeight: 1,
    ...over,
  };
}

const STATUSES = [200, 200, 200, 200, 200, 201, 204, 304, 400, 404, 409, 418, 429, 429, 500, 503];

/** Random but reproducible traffic over a few series, with event times spread over [from, to). */
export function traffic(n: number, seed: number, from: number, to: number, opts: { tenants?: string[]; connectors?: string[]; weights?: boolean } = {}): InvocationEvent[] {
  const r = rng(seed);
  const tenants = opts.tenants ?? ['acme'];
  const connectors = opts.connectors ?? ['crm', 'billing'];
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  return Array.from({ length: n }, () => {
    const method = pick(['GET', 'GET', 'POST', 'DELETE']);
    const status = pick(STATUSES);
    const ev = invocation({
      tenant: pick(tenants),
      connector: pick(connectors),
      connectorVersion: pick(['1.2.0', '1.2.0', '1.3.0', '2.0.0']),
      action: pick(['listContacts', 'createContact', 'getInvoice']),
      httpMethod: method,
      httpStatus: status,
      latencyMs: Math.exp(Math.log(method === 'GET' ? 120 : 400) + 0.8 * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r())),
      eventTime: from + Math.floor(r() * (to - from)),
      sampleWeight: opts.weights ? pick([1, 1, 2, 5]) : 1,
    });
    if (status === 418) ev.errorCode = 'UNMAPPED';
    return ev;
  });
}
