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
 * Wire format v2: the same events as rows, one array per event with its values in `fields` order
 * (INVOCATION_BATCH_FIELDS), so field names are not repeated per event. Still decoded; producers
 * now write v3.
 */
export interface InvocationBatchV2 {
  format: 'pulsegate.invocation-batch';
  v: 2;
  fields: readonly string[];
  rows: unknown[][];
}

/**
 * Wire format v3 (what encodeInvocationBatch writes): v2 rows whose low-cardinality string columns
 * (`coded`: tenant, connector, version, action, method, kind, outcome, error code) hold an index
 * into `dict` instead of the string, so each distinct value is written once per message. A row then
 * carries only numbers and the three per-call strings (correlation, trace and span ids): about 30 %
 * fewer bytes than v2 for the broker client to checksum and copy, and far fewer strings for
 * consumers to allocate. A null error code stays null.
 */
export interface InvocationBatchV3 {
  format: 'pulsegate.invocation-batch';
  v: 3;
  fields: readonly string[];
  coded: readonly string[];
  dict: string[];
  rows: unknown[][];
}

export const INVOCATION_BATCH_FORMAT = 'pulsegate.invocation-batch';
/** Batch format version encodeInvocationBatch writes. decodeInvocationBatch reads 1, 2 and 3. */
export const INVOCATION_BATCH_VERSION = 3;
/** Upper bound on events per batch message (keeps one message well under broker limits). */
export const MAX_EVENTS_PER_BATCH = 2_000;

/** Column order of a v2/v3 row: the InvocationEvent fields, in declaration order. */
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

/** The v3 columns that hold dictionary indices (row positions 1–6, 8 and 9). */
export const INVOCATION_BATCH_CODED_FIELDS: readonly string[] = ['tenant', 'connector', 'connectorVersion', 'action', 'httpMethod', 'kind', 'outcome', 'errorCode'];
const CODED_COLUMNS = INVOCATION_BATCH_CODED_FIELDS.map((f) => INVOCATION_BATCH_FIELDS.indexOf(f));

/** Partition key: all events of one series land on one partition, in order. */
export function seriesKey(tenant: string, connector: string): string {
  return `${tenant}\u001f${connector}`;
}

/** The v3 dictionary of one message: indices in order of first use. */
export class Dictionary {
  readonly values: string[] = [];
  private readonly index = new Map<string, number>();

  of(value: string): number {
    let i = this.index.get(value);
    if (i === undefined) {
      i = this.values.length;
      this.values.push(value);
      this.index.set(value, i);
    }
    return i;
  }
}

/** One coded column: consecutive events mostly repeat its previous value, which skips the map. */
class Column {
  private last: string | undefined;
  private lastIndex = -1;
  constructor(private readonly dict: Dictionary) {}

  of(value: string): number {
    if (value !== this.last) {
      this.last = value;
      this.lastIndex = this.dict.of(value);
    }
    return this.lastIndex;
  }
}

/**
 * Encodes events as one v3 batch message (UTF-8 JSON). JSON.stringify does the escaping, so any
 * string (quotes, control characters, lone surrogates) reads back exactly, and non-finite numbers
 * become null (which the consumer rejects rather than guessing).
 */
export function encodeInvocationBatch(events: readonly InvocationEvent[]): Buffer {
  const d = new Dictionary();
  const [tenant, connector, version, action, method, kind, outcome, errorCode] = Array.from({ length: 8 }, () => new Column(d)) as [Column, Column, Column, Column, Column, Column, Column, Column];
  const rows = new Array<unknown[]>(events.length);
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    rows[i] = [
      e.schemaVersion,
      tenant.of(e.tenant),
      connector.of(e.connector),
      version.of(e.connectorVersion),
      action.of(e.action),
      method.of(e.httpMethod),
      kind.of(e.kind),
      e.httpStatus,
      outcome.of(e.outcome),
      e.errorCode === null ? null : errorCode.of(e.errorCode),
      e.latencyMs,
      e.eventTime,
      e.correlationId,
      e.traceId,
      e.spanId,
      e.sampleWeight,
    ];
  }
  const batch: InvocationBatchV3 = { format: INVOCATION_BATCH_FORMAT, v: 3, fields: INVOCATION_BATCH_FIELDS, coded: INVOCATION_BATCH_CODED_FIELDS, dict: d.values, rows };
  return Buffer.from(JSON.stringify(batch));
}

/** Encodes events in the v2 layout (strings in every row); for compatibility tests and tools. */
export function encodeInvocationBatchV2(events: readonly InvocationEvent[]): Buffer {
  const rows = events.map((e) => INVOCATION_BATCH_FIELDS.map((f) => e[f as keyof InvocationEvent]));
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

const ROW_LENGTH = INVOCATION_BATCH_FIELDS.length;
const ERROR_CODE_COLUMN = INVOCATION_BATCH_FIELDS.indexOf('errorCode');
/** Most dictionary entries a v3 message may carry: every row can add at most one per coded column. */
const MAX_DICT_ENTRIES = CODED_COLUMNS.length * MAX_EVENTS_PER_BATCH;

/** A v2 row back as an event object (keys in declaration order), or a reason why it is not one. */
function rowToEvent(row: unknown): Record<string, unknown> | string {
  if (!Array.isArray(row) || row.length !== ROW_LENGTH) return `must be an array of ${ROW_LENGTH} values`;
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

/**
 * A v3 row back as an event object: its coded columns are replaced, in place (the parsed row is
 * ours), by their dictionary strings; or a reason why it is not one (not an array of 16 values, or
 * a coded value that is no index of `dict`).
 */
function codedRowToEvent(row: unknown, dict: readonly string[]): Record<string, unknown> | string {
  if (!Array.isArray(row) || row.length !== ROW_LENGTH) return `must be an array of ${ROW_LENGTH} values`;
  for (const c of CODED_COLUMNS) {
    const v: unknown = row[c];
    if (v === null && c === ERROR_CODE_COLUMN) continue;
    if (!Number.isInteger(v) || (v as number) < 0 || (v as number) >= dict.length) return `${INVOCATION_BATCH_FIELDS[c]} must be an index of batch.dict`;
    row[c] = dict[v as number];
  }
  return rowToEvent(row);
}

function sameList(list: unknown, expected: readonly string[]): boolean {
  return Array.isArray(list) && list.length === expected.length && list.every((f, i) => f === expected[i]);
}

/** A batch message's envelope, checked: its version and rows (or v1 events), with v3's dictionary. */
export type BatchEnvelope = { v: 1; items: unknown[] } | { v: 2; items: unknown[] } | { v: 3; items: unknown[]; dict: string[] };

/**
 * Parses a batch message and checks its envelope (format, version, fields, coded columns,
 * dictionary, row count), not its events. Throws BatchDecodeError.
 */
export function readBatchEnvelope(value: Buffer | string): BatchEnvelope {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
  } catch (err) {
    throw new BatchDecodeError(`undecodable batch: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null) throw new BatchDecodeError('batch must be a JSON object');
  const o = parsed as Record<string, unknown>;
  if (o.format !== INVOCATION_BATCH_FORMAT) throw new BatchDecodeError(`unknown batch format ${JSON.stringify(o.format)}`);
  let env: BatchEnvelope;
  if (o.v === 1) {
    if (!Array.isArray(o.events)) throw new BatchDecodeError('batch.events must be an array');
    env = { v: 1, items: o.events };
  } else if (o.v === 2 || o.v === 3) {
    if (!sameList(o.fields, INVOCATION_BATCH_FIELDS)) throw new BatchDecodeError(`batch.fields must be ${JSON.stringify(INVOCATION_BATCH_FIELDS)}`);
    if (!Array.isArray(o.rows)) throw new BatchDecodeError('batch.rows must be an array');
    if (o.v === 2) env = { v: 2, items: o.rows };
    else {
      if (!sameList(o.coded, INVOCATION_BATCH_CODED_FIELDS)) throw new BatchDecodeError(`batch.coded must be ${JSON.stringify(INVOCATION_BATCH_CODED_FIELDS)}`);
      const dict = o.dict;
      if (!Array.isArray(dict) || dict.length > MAX_DICT_ENTRIES || !dict.every((d) => typeof d === 'string')) {
        throw new BatchDecodeError(`batch.dict must be an array of at most ${MAX_DICT_ENTRIES} strings`);
      }
      env = { v: 3, items: o.rows, dict: dict as string[] };
    }
  } else throw new BatchDecodeError(`unsupported batch version ${JSON.stringify(o.v)}`);
  if (env.items.length > MAX_EVENTS_PER_BATCH) throw new BatchDecodeError(`batch has ${env.items.length} events; at most ${MAX_EVENTS_PER_BATCH}`);
  return env;
}

/**
 * Decodes and validates one invocations-topic message, v1, v2 or v3. Throws BatchDecodeError when
 * the envelope is unreadable, has another version, or any event breaks the schema (the whole
 * message then goes to the dead-letter topic: a producer that writes one bad event is broken).
 */
export function decodeInvocationBatch(value: Buffer | string): InvocationEvent[] {
  return eventsOfEnvelope(readBatchEnvelope(value));
}

/** decodeInvocationBatch of an envelope already read (v3 rows are rewritten in place). */
export function eventsOfEnvelope(env: BatchEnvelope): InvocationEvent[] {
  const items = env.items;
  const toEvent: ((row: unknown) => Record<string, unknown> | string) | undefined = env.v === 1 ? undefined : env.v === 2 ? rowToEvent : (row) => codedRowToEvent(row, env.dict);
  const events = toEvent === undefined ? items : new Array<unknown>(items.length);
  for (let i = 0; i < items.length; i++) {
    let event = items[i];
    if (toEvent !== undefined) {
      const e = toEvent(event);
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
