import type { InvocationEvent } from './invocation';
import { validateInvocation, type ValidationProblem } from './validate';

/**
 * Wire format v1 of one message on the invocations topic: the events of one tenant/connector
 * packed together, so the per-message cost of the Kafka client is paid once per batch instead of
 * once per span. `format` and `v` make the envelope self-describing and versioned. Still decoded;
 * producers now write v2.
 */
export interface InvocationBatch {
  format: 'pulsegate.invocation-batch';
  v: 1;
  events: InvocationEvent[];
}

/**
 * Wire format v2 (what encodeInvocationBatch writes): the same events as rows, one array per event
 * with its values in `fields` order (INVOCATION_BATCH_FIELDS), so field names are not repeated
 * per event. Less than half the bytes of v1, which is what the broker client pays for (CRC32C,
 * buffer copies) and what consumers parse.
 */
export interface InvocationBatchV2 {
  format: 'pulsegate.invocation-batch';
  v: 2;
  fields: readonly string[];
  rows: unknown[][];
}

export const INVOCATION_BATCH_FORMAT = 'pulsegate.invocation-batch';
/** Batch format version encodeInvocationBatch writes. decodeInvocationBatch reads 1 and 2. */
export const INVOCATION_BATCH_VERSION = 2;
/** Upper bound on events per batch message (keeps one message well under broker limits). */
export const MAX_EVENTS_PER_BATCH = 2_000;

/** Column order of a v2 row: the InvocationEvent fields, in declaration order. */
export const INVOCATION_BATCH_FIELDS: readonly string[] = [
  'schemaVersion',
  'tenant',
  'connector',
  'connectorVersion',
  'action',
  'httpMethod',
  'kind',
  'httpStatus',
  'outcome',
  'errorCode',
  'latencyMs',
  'eventTime',
  'correlationId',
  'traceId',
  'spanId',
  'sampleWeight',
];

/** Partition key: all events of one series land on one partition, in order. */
export function seriesKey(tenant: string, connector: string): string {
  return `${tenant}\u001f${connector}`;
}

/**
 * Encodes events as one v2 batch message (UTF-8 JSON). JSON.stringify does the escaping, so any
 * string (quotes, control characters, lone surrogates) reads back exactly.
 */
export function encodeInvocationBatch(events: readonly InvocationEvent[]): Buffer {
  const rows = new Array<unknown[]>(events.length);
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    rows[i] = [e.schemaVersion, e.tenant, e.connector, e.connectorVersion, e.action, e.httpMethod, e.kind, e.httpStatus, e.outcome, e.errorCode, e.latencyMs, e.eventTime, e.correlationId, e.traceId, e.spanId, e.sampleWeight];
  }
  const batch: InvocationBatchV2 = { format: INVOCATION_BATCH_FORMAT, v: 2, fields: INVOCATION_BATCH_FIELDS, rows };
  return Buffer.from(JSON.stringify(batch));
}

/** Encodes events in the v1 layout (one object per event); for compatibility tests and tools. */
export function encodeInvocationBatchV1(events: readonly InvocationEvent[]): Buffer {
  const batch: InvocationBatch = { format: INVOCATION_BATCH_FORMAT, v: 1, events: [...events] };
  return Buffer.from(JSON.stringify(batch));
}

/** Why a batch message could not be used; `retriable` is always false: bad input stays bad. */
export class BatchDecodeError extends Error {
  readonly retriable = false;
  constructor(
    message: string,
    readonly problems: ValidationProblem[] = [],
  ) {
    super(message);
    this.name = 'BatchDecodeError';
  }
}

/** A v2 row back as an event object (keys in declaration order), or a reason why it is not one. */
function rowToEvent(row: unknown): Record<string, unknown> | string {
  if (!Array.isArray(row) || row.length !== INVOCATION_BATCH_FIELDS.length) return `must be an array of ${INVOCATION_BATCH_FIELDS.length} values`;
  return {
    schemaVersion: row[0],
    tenant: row[1],
    connector: row[2],
    connectorVersion: row[3],
    action: row[4],
    httpMethod: row[5],
    kind: row[6],
    httpStatus: row[7],
    outcome: row[8],
    errorCode: row[9],
    latencyMs: row[10],
    eventTime: row[11],
    correlationId: row[12],
    traceId: row[13],
    spanId: row[14],
    sampleWeight: row[15],
  };
}

function sameFields(fields: unknown): boolean {
  return Array.isArray(fields) && fields.length === INVOCATION_BATCH_FIELDS.length && fields.every((f, i) => f === INVOCATION_BATCH_FIELDS[i]);
}

/**
 * Decodes and validates one invocations-topic message, v1 or v2. Throws BatchDecodeError when the
 * envelope is unreadable, has another version, or any event breaks the schema (the whole message
 * then goes to the dead-letter topic: a producer that writes one bad event is broken).
 */
export function decodeInvocationBatch(value: Buffer | string): InvocationEvent[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
  } catch (err) {
    throw new BatchDecodeError(`undecodable batch: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null) throw new BatchDecodeError('batch must be a JSON object');
  const o = parsed as Record<string, unknown>;
  if (o.format !== INVOCATION_BATCH_FORMAT) throw new BatchDecodeError(`unknown batch format ${JSON.stringify(o.format)}`);
  let items: unknown[];
  if (o.v === 1) {
    if (!Array.isArray(o.events)) throw new BatchDecodeError('batch.events must be an array');
    items = o.events;
  } else if (o.v === 2) {
    if (!sameFields(o.fields)) throw new BatchDecodeError(`batch.fields must be ${JSON.stringify(INVOCATION_BATCH_FIELDS)}`);
    if (!Array.isArray(o.rows)) throw new BatchDecodeError('batch.rows must be an array');
    items = o.rows;
  } else throw new BatchDecodeError(`unsupported batch version ${JSON.stringify(o.v)}`);
  if (items.length > MAX_EVENTS_PER_BATCH) throw new BatchDecodeError(`batch has ${items.length} events; at most ${MAX_EVENTS_PER_BATCH}`);
  const events = o.v === 1 ? items : new Array<unknown>(items.length);
  for (let i = 0; i < items.length; i++) {
    let event = items[i];
    if (o.v === 2) {
      const e = rowToEvent(event);
      if (typeof e === 'string') throw new BatchDecodeError(`event ${i}: ${e}`, [{ field: '', message: e }]);
      events[i] = event = e;
    }
    const problems = validateInvocation(event);
    if (problems.length > 0) {
      const first = problems[0]!;
      throw new BatchDecodeError(`event ${i}: ${first.field} ${first.message}`, problems);
    }
  }
  return events as InvocationEvent[];
}
