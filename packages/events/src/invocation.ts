import { errorCodeForStatus } from './error-codes';

/** Current generation of the invocation event schema. */
export const INVOCATION_SCHEMA_VERSION = 1;

export type ActionKind = 'read' | 'write';
export type Outcome = 'success' | 'throttled' | 'error';

/**
 * One connector action call, derived from one span. `traceId` + `spanId` is the dedup key.
 * Times are epoch milliseconds; latency is milliseconds (span end − span start).
 */
export interface InvocationEvent {
  schemaVersion: 1;
  tenant: string;
  connector: string;
  connectorVersion: string;
  /** The action's operationId. */
  action: string;
  /** Upper-case HTTP method, or '' when the span carries none. */
  httpMethod: string;
  kind: ActionKind;
  /** HTTP status, 0 when the span carries none. */
  httpStatus: number;
  outcome: Outcome;
  /** Internal error code; null for successful calls. */
  errorCode: string | null;
  latencyMs: number;
  /** Span end time, epoch ms. Windows are kept in this event time. */
  eventTime: number;
  correlationId: string | null;
  /** 32 lower-case hex characters. */
  traceId: string;
  /** 16 lower-case hex characters. */
  spanId: string;
  /** How many calls this sampled span stands for (1 when unsampled). */
  sampleWeight: number;
}

/** GET and HEAD are reads; everything else (including an unknown method) is a write. */
export function kindForMethod(method: string): ActionKind {
  return method === 'GET' || method === 'HEAD' ? 'read' : 'write';
}

/**
 * Outcome rule: success when the status is 2xx/3xx and the span status is not ERROR; throttled
 * when the status is 429; otherwise error.
 */
export function outcomeFor(httpStatus: number, spanStatusError: boolean): Outcome {
  if (httpStatus === 429) return 'throttled';
  if (httpStatus >= 200 && httpStatus < 400 && !spanStatusError) return 'success';
  return 'error';
}

/** Error code of a non-successful call: the connector's own code wins over the status mapping. */
export function errorCodeFor(outcome: Outcome, httpStatus: number, connectorErrorCode: string | undefined): string | null {
  if (outcome === 'success') return null;
  if (connectorErrorCode !== undefined && connectorErrorCode !== '') return connectorErrorCode;
  return errorCodeForStatus(httpStatus);
}
