import { encodeInvocationBatch, errorCodeForStatus, kindForMethod, outcomeFor, seriesKey, type InvocationEvent } from '@pulsegate/events';
import type { OutgoingRecord } from '@pulsegate/bus';

/** Deterministic PRNG (mulberry32) so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let spans = 0;

/** An invocation event with defaults; override any field. */
export function invocation(over: Partial<InvocationEvent> = {}): InvocationEvent {
  const httpMethod = over.httpMethod ?? 'GET';
  const httpStatus = over.httpStatus ?? 200;
  const outcome = over.outcome ?? outcomeFor(httpStatus, false);
  spans++;
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
    traceId: spans.toString(16).padStart(32, '0'),
    spanId: spans.toString(16).padStart(16, '0'),
    sampleWeight: 1,
    ...over,
  };
}

const STATUSES = [200, 200, 200, 200, 200, 200, 200, 201, 204, 304, 400, 404, 409, 418, 429, 500, 503];

export interface TrafficOptions {
  tenants?: string[];
  connectors?: string[];
  versions?: string[];
  actions?: string[];
  weights?: boolean;
}

/** Reproducible traffic with event times spread over [from, to). Status 418 carries the UNMAPPED code. */
export function traffic(n: number, seed: number, from: number, to: number, o: TrafficOptions = {}): InvocationEvent[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  return Array.from({ length: n }, () => {
    const method = pick(['GET', 'GET', 'HEAD', 'POST', 'PATCH']);
    const status = pick(STATUSES);
    const base = method === 'GET' || method === 'HEAD' ? 120 : 450;
    const ev = invocation({
      tenant: pick(o.tenants ?? ['acme']),
      connector: pick(o.connectors ?? ['crm', 'billing']),
      connectorVersion: pick(o.versions ?? ['1.2.0', '1.2.1', '1.3.0', '2.0.0', '2.1.0']),
      action: pick(o.actions ?? ['listContacts', 'createContact', 'getInvoice']),
      httpMethod: method,
      httpStatus: status,
      latencyMs: Math.round(Math.exp(Math.log(base) + 0.8 * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r())) * 1000) / 1000,
      eventTime: from + Math.floor(r() * (to - from)),
      sampleWeight: o.weights === true ? pick([1, 1, 1, 2, 4, 10]) : 1,
    });
    if (status === 418) ev.errorCode = 'UNMAPPED';
    if (status === 500 && r() < 0.3) ev.errorCode = 'BACKEND_TIMEOUT';
    return ev;
  });
}

/** Packs events into bus records the way ingest does: per tenant/connector, up to `perMessage` events. */
export function packed(events: readonly InvocationEvent[], perMessage: number): OutgoingRecord[] {
  const byKey = new Map<string, InvocationEvent[]>();
  for (const e of events) {
    const k = seriesKey(e.tenant, e.connector);
    let list = byKey.get(k);
    if (list === undefined) byKey.set(k, (list = []));
    list.push(e);
  }
  const out: OutgoingRecord[] = [];
  for (const [key, list] of byKey) for (let i = 0; i < list.length; i += perMessage) out.push({ key, value: encodeInvocationBatch(list.slice(i, i + perMessage)) });
  return out;
}
