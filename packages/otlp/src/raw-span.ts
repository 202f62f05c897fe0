import type { AttrValues } from './attributes';

/** OTLP Span.SpanKind values (https://github.com/open-telemetry/opentelemetry-proto, trace.proto). */
export const SpanKind = { UNSPECIFIED: 0, INTERNAL: 1, SERVER: 2, CLIENT: 3, PRODUCER: 4, CONSUMER: 5 } as const;
/** OTLP Status.StatusCode values. */
export const StatusCode = { UNSET: 0, OK: 1, ERROR: 2 } as const;

/**
 * The part of an OTLP span the invocation mapping needs, identical whichever encoding it came in.
 * Times are split into whole epoch milliseconds and the remaining nanoseconds (0–999 999) so that
 * nanosecond timestamps (≈ 1.7e18, past 2^53) convert exactly without BigInt.
 */
export interface RawSpan {
  /** Kept attributes of the span's resource (shared by every span of that resource). */
  resource: AttrValues;
  attrs: AttrValues;
  /** Lower-case hex; '' when absent. */
  traceId: string;
  spanId: string;
  /** W3C tracestate; '' when absent. */
  traceState: string;
  name: string;
  kind: number;
  startMs: number;
  startSubNs: number;
  endMs: number;
  endSubNs: number;
  statusCode: number;
  /** Why the decoder found this span unusable (bad id, bad timestamp); null when fine. */
  problem: string | null;
}

/** A decoded ExportTraceServiceRequest. */
export interface DecodedTraces {
  spans: RawSpan[];
  /** Spans lost to malformed containers the decoder had to skip (JSON only), with the reason. */
  dropped: Array<{ reason: string; count: number }>;
}

export function emptySpan(resource: AttrValues): RawSpan {
  return {
    resource,
    attrs: [],
    traceId: '',
    spanId: '',
    traceState: '',
    name: '',
    kind: 0,
    startMs: 0,
    startSubNs: 0,
    endMs: 0,
    endSubNs: 0,
    statusCode: 0,
    problem: null,
  };
}
