import {
  ERROR_CODE_PATTERN,
  labelProblem,
  MAX_LATENCY_MS,
  MAX_SAMPLE_WEIGHT,
  errorCodeFor,
  kindForMethod,
  outcomeFor,
  type InvocationEvent,
} from '@pulsegate/events';
import { Attr, type AttrValue } from './attributes';
import { SpanKind, StatusCode, type DecodedTraces, type RawSpan } from './raw-span';
import { sampleWeight } from './sampling';

/** Resource `service.namespace` of Pulsegate's own telemetry: such spans are never invocations. */
export const OWN_SERVICE_NAMESPACE = 'pulsegate';
/** connectorVersion when neither `connector.version` nor `service.version` is present. */
export const UNKNOWN_VERSION = 'unknown';

function label(v: AttrValue | undefined): string | undefined {
  if (typeof v === 'string') return v === '' ? undefined : v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

function firstLabel(v: AttrValue | undefined): string | undefined {
  return Array.isArray(v) ? label(v[0]) : label(v);
}

/** HTTP status from an attribute: integer 100–599 (int, whole double or decimal string); NaN if not. */
function statusOf(v: AttrValue): number {
  const n = typeof v === 'string' && /^\d{3}$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) && n >= 100 && n <= 599 ? n : NaN;
}

/**
 * Maps one span to an invocation event for `tenant`:
 * - null (ignored, not an error) when the span is not an invocation: it has no
 *   `connector.operation_id` (span or resource attribute) and is not a SERVER/CLIENT span with an
 *   HTTP status under a resource with `service.name`; or its resource is Pulsegate's own
 *   (`service.namespace` = "pulsegate").
 * - a string (the rejection reason) when it is an invocation that cannot be recorded truthfully.
 * - the event otherwise. Identity: `connector.name` → `service.name`, `connector.version` →
 *   `service.version` → "unknown", `connector.operation_id` → `http.route` → span name.
 */
export function spanToInvocation(s: RawSpan, tenant: string): InvocationEvent | string | null {
  const a = s.attrs;
  const r = s.resource;
  if (r[Attr.serviceNamespace] === OWN_SERVICE_NAMESPACE) return null;
  const operationId = label(a[Attr.operationId]) ?? label(r[Attr.operationId]);
  const rawStatus = a[Attr.httpStatus] ?? a[Attr.httpStatusLegacy];
  const serviceName = label(r[Attr.serviceName]);
  if (operationId === undefined && !((s.kind === SpanKind.SERVER || s.kind === SpanKind.CLIENT) && rawStatus !== undefined && serviceName !== undefined)) {
    return null;
  }
  if (s.problem !== null) return s.problem;
  if (s.traceId === '') return 'traceId missing';
  if (s.spanId === '') return 'spanId missing';
  if (s.startMs === 0 && s.startSubNs === 0) return 'startTimeUnixNano missing';
  if (s.endMs === 0 && s.endSubNs === 0) return 'endTimeUnixNano missing';
  const latencyNs = (s.endMs - s.startMs) * 1e6 + (s.endSubNs - s.startSubNs);
  if (latencyNs < 0) return 'end time before start time';
  const latencyMs = latencyNs / 1e6;
  if (latencyMs > MAX_LATENCY_MS) return `latency over ${MAX_LATENCY_MS} ms`;

  const connector = label(a[Attr.connectorName]) ?? label(r[Attr.connectorName]) ?? serviceName;
  if (connector === undefined) return 'no connector.name or service.name';
  const connectorVersion = label(a[Attr.connectorVersion]) ?? label(r[Attr.connectorVersion]) ?? label(r[Attr.serviceVersion]) ?? UNKNOWN_VERSION;
  const action = operationId ?? label(a[Attr.httpRoute]) ?? (s.name === '' ? undefined : s.name);
  if (action === undefined) return 'no connector.operation_id, http.route or span name';

  let httpStatus = 0;
  if (rawStatus !== undefined) {
    httpStatus = statusOf(rawStatus);
    if (Number.isNaN(httpStatus)) return 'HTTP status is not an integer 100-599';
  }
  const method = label(a[Attr.httpMethod]) ?? label(a[Attr.httpMethodLegacy]);
  const httpMethod = method === undefined ? '' : method.toUpperCase();
  const outcome = outcomeFor(httpStatus, s.statusCode === StatusCode.ERROR);
  const connectorCode = label(a[Attr.errorCode]);
  if (outcome !== 'success' && connectorCode !== undefined && !ERROR_CODE_PATTERN.test(connectorCode)) {
    return 'connector.error_code must be upper-case letters, digits and _ (at most 64)';
  }
  const correlationId = label(a[Attr.correlationId]) ?? firstLabel(a[Attr.headerCorrelationId]) ?? null;
  // The store's label rule (labelProblem): whatever is accepted here can be counted and queried.
  const labels: Array<[string, string | null, boolean]> = [
    ['tenant', tenant, false],
    ['connector', connector, false],
    ['connector version', connectorVersion, false],
    ['action', action, false],
    ['http method', httpMethod, true],
    ['correlation id', correlationId, false],
  ];
  for (const [name, value, allowEmpty] of labels) {
    if (value === null) continue;
    const problem = labelProblem(value, allowEmpty);
    if (problem !== null) return `${name} ${problem}`;
  }
  const weight = sampleWeight(s.traceState, a);
  if (!(weight > 0 && weight <= MAX_SAMPLE_WEIGHT)) return `sample weight not in (0, ${MAX_SAMPLE_WEIGHT}]`;

  return {
    schemaVersion: 1,
    tenant,
    connector,
    connectorVersion,
    action,
    httpMethod,
    kind: kindForMethod(httpMethod),
    httpStatus,
    outcome,
    errorCode: errorCodeFor(outcome, httpStatus, connectorCode),
    latencyMs,
    eventTime: s.endMs,
    correlationId,
    traceId: s.traceId,
    spanId: s.spanId,
    sampleWeight: weight,
  };
}

/** What one request turned into. */
export interface InvocationExtraction {
  events: InvocationEvent[];
  /** Spans seen, including ignored and rejected ones. */
  spans: number;
  /** Spans that are not invocations (accepted, produce nothing). */
  ignored: number;
  /** Spans rejected (OTLP `partialSuccess.rejectedSpans`). */
  rejected: number;
  /** Rejections by reason. */
  reasons: Map<string, number>;
}

/** Maps every span of a decoded request; see spanToInvocation for the rules. */
export function extractInvocations(decoded: DecodedTraces, tenant: string): InvocationExtraction {
  const events: InvocationEvent[] = [];
  const reasons = new Map<string, number>();
  let ignored = 0;
  let rejected = 0;
  for (const d of decoded.dropped) {
    rejected += d.count;
    reasons.set(d.reason, (reasons.get(d.reason) ?? 0) + d.count);
  }
  for (const s of decoded.spans) {
    const r = spanToInvocation(s, tenant);
    if (r === null) ignored++;
    else if (typeof r === 'string') {
      rejected++;
      reasons.set(r, (reasons.get(r) ?? 0) + 1);
    } else events.push(r);
  }
  return { events, spans: decoded.spans.length, ignored, rejected, reasons };
}

/** One-line summary of rejections for `partialSuccess.errorMessage` ('' when none). */
export function rejectionMessage(reasons: ReadonlyMap<string, number>): string {
  if (reasons.size === 0) return '';
  return [...reasons].map(([reason, n]) => `${n} × ${reason}`).join('; ');
}
