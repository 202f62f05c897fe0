import { encodeInvocationBatch, seriesKey, type InvocationEvent } from '@pulsegate/events';
import { seededRandom } from '@pulsegate/random';
import { invocation } from '../../../packages/windows/test/builders';
import type { OutgoingRecord } from '@pulsegate/bus';

/** Seeded so failures reproduce. */
export const rng = seededRandom;
// One event builder for the window store's tests and the aggregator's.
export { invocation };

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
