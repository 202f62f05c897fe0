import { Dictionary, eventsOfEnvelope, INVOCATION_BATCH_FIELDS, readBatchEnvelope } from './batch';
import type { InvocationEvent } from './invocation';
import { INVOCATION_SCHEMA_VERSION } from './invocation';
import { isErrorCode, isFiniteIn, isHttpStatus, isKind, isLabel, isOutcome, isSampleWeight, MAX_EVENT_TIME_MS, MAX_LATENCY_MS } from './validate';

/** Outcome codes of InvocationColumns.outcome. */
export const OUTCOME_CODES = { success: 0, throttled: 1, error: 2 } as const;
/** Kind codes of InvocationColumns.kind. */
export const KIND_CODES = { read: 0, write: 1 } as const;

/**
 * The events of one invocations-topic message in columns, for consumers that aggregate them: the
 * label strings once each in `dict` and, per event, indices into it and the numbers in typed
 * arrays. Holds the fields aggregation uses (not the HTTP method and status or the correlation id,
 * which are validated all the same); the trace and span ids (the dedup identity) as 32-bit words,
 * read from their hex while it is validated, so no id string outlives the decode. A message decodes
 * to columns exactly when decodeInvocationBatch accepts it, and fails with the same BatchDecodeError
 * otherwise.
 */
export interface InvocationColumns {
  readonly length: number;
  readonly dict: readonly string[];
  readonly tenant: Int32Array;
  readonly connector: Int32Array;
  readonly connectorVersion: Int32Array;
  readonly action: Int32Array;
  /** KIND_CODES */
  readonly kind: Uint8Array;
  /** OUTCOME_CODES */
  readonly outcome: Uint8Array;
  /** Index into dict, or -1 for a null error code (successful calls). */
  readonly errorCode: Int32Array;
  readonly latencyMs: Float64Array;
  readonly eventTime: Float64Array;
  readonly sampleWeight: Float64Array;
  /**
   * Per event ID_WORDS words: the trace id's 16 bytes then the span id's 8, as big-endian 32-bit
   * words (the hex read 8 characters at a time); event i's are ids[i · ID_WORDS …].
   */
  readonly ids: Uint32Array;
}

/** 32-bit words of one event's identity in InvocationColumns.ids: trace id (4) + span id (2). */
export const ID_WORDS = 6;

const ROW_LENGTH = INVOCATION_BATCH_FIELDS.length;
/** Per coded column, a dictionary entry not checked yet, found bad, or found good (+ its code). */
const UNCHECKED = 0;
const BAD = 255;

/** Columns for `n` events over `dict`, all in one ArrayBuffer (one allocation per message). */
function allocate(n: number, dict: readonly string[]): InvocationColumns {
  // 3 float64 columns, then 5 int32 columns, the ids' words, then 2 uint8 columns: each view stays aligned.
  const buf = new ArrayBuffer(n * (3 * 8 + 5 * 4 + ID_WORDS * 4 + 2));
  const f64 = (k: number) => new Float64Array(buf, k * 8 * n, n);
  const i32 = (k: number) => new Int32Array(buf, 24 * n + k * 4 * n, n);
  const u8 = (k: number) => new Uint8Array(buf, (44 + ID_WORDS * 4) * n + k * n, n);
  return {
    length: n,
    dict,
    latencyMs: f64(0),
    eventTime: f64(1),
    sampleWeight: f64(2),
    tenant: i32(0),
    connector: i32(1),
    connectorVersion: i32(2),
    action: i32(3),
    errorCode: i32(4),
    kind: u8(0),
    outcome: u8(1),
    ids: new Uint32Array(buf, 44 * n, ID_WORDS * n),
  };
}

/** Columns of events decoded (and validated) by decodeInvocationBatch. */
export function columnsOf(events: readonly InvocationEvent[]): InvocationColumns {
  const dict = new Dictionary();
  const c = allocate(events.length, dict.values);
  events.forEach((e, i) => {
    c.tenant[i] = dict.of(e.tenant);
    c.connector[i] = dict.of(e.connector);
    c.connectorVersion[i] = dict.of(e.connectorVersion);
    c.action[i] = dict.of(e.action);
    c.kind[i] = KIND_CODES[e.kind];
    c.outcome[i] = OUTCOME_CODES[e.outcome];
    c.errorCode[i] = e.errorCode === null ? -1 : dict.of(e.errorCode);
    c.latencyMs[i] = e.latencyMs;
    c.eventTime[i] = e.eventTime;
    c.sampleWeight[i] = e.sampleWeight;
    // Validated by decodeInvocationBatch: lower-case hex of the right lengths.
    hexWords(e.traceId, 4, c.ids, i * ID_WORDS);
    hexWords(e.spanId, 2, c.ids, i * ID_WORDS + 4);
  });
  return c;
}

/**
 * Decodes one invocations-topic message into columns. A v3 message (what producers write) is read
 * straight from its rows: its dictionary strings are checked once per column they appear in
 * instead of once per event, and no object is built per event. Anything else, and any message
 * with a problem, goes through decodeInvocationBatch's checks (eventsOfEnvelope, on the envelope
 * already parsed), so acceptance and errors are exactly its.
 */
export function decodeInvocationColumns(value: Buffer | string): InvocationColumns {
  const env = readBatchEnvelope(value);
  // v3Columns only reads the rows; on a problem the full decoder names it (throws BatchDecodeError).
  return (env.v === 3 ? v3Columns(env.items, env.dict) : null) ?? columnsOf(eventsOfEnvelope(env));
}

/** Columns of v3 rows, or null when any row breaks a rule of validateInvocation. */
function v3Columns(rows: readonly unknown[], dict: readonly string[]): InvocationColumns | null {
  const n = rows.length;
  const size = dict.length;
  // Per coded column and dictionary entry: UNCHECKED, BAD, or 1 + its code (kind, outcome) / 1.
  const labels = [new Uint8Array(size), new Uint8Array(size), new Uint8Array(size), new Uint8Array(size)];
  const methods = new Uint8Array(size);
  const kinds = new Uint8Array(size);
  const outcomes = new Uint8Array(size);
  const errorCodes = new Uint8Array(size);
  const c = allocate(n, dict);
  const labelColumns = [c.tenant, c.connector, c.connectorVersion, c.action];
  for (let i = 0; i < n; i++) {
    const row = rows[i];
    if (!Array.isArray(row) || row.length !== ROW_LENGTH || row[0] !== INVOCATION_SCHEMA_VERSION) return null;
    // tenant, connector, connectorVersion, action: non-empty labels.
    for (let k = 0; k < 4; k++) {
      const x = index(row[k + 1], size);
      if (x < 0) return null;
      const memo = labels[k]!;
      if (memo[x] === UNCHECKED) memo[x] = isLabel(dict[x]) ? 1 : BAD;
      if (memo[x] === BAD) return null;
      labelColumns[k]![i] = x;
    }
    const method = index(row[5], size);
    if (method < 0) return null;
    if (methods[method] === UNCHECKED) methods[method] = isLabel(dict[method], true) ? 1 : BAD;
    if (methods[method] === BAD) return null;
    const kind = index(row[6], size);
    if (kind < 0) return null;
    if (kinds[kind] === UNCHECKED) kinds[kind] = isKind(dict[kind]) ? 1 + KIND_CODES[dict[kind] as keyof typeof KIND_CODES] : BAD;
    if (kinds[kind] === BAD) return null;
    c.kind[i] = kinds[kind]! - 1;
    if (!isHttpStatus(row[7])) return null;
    const outcome = index(row[8], size);
    if (outcome < 0) return null;
    if (outcomes[outcome] === UNCHECKED) outcomes[outcome] = isOutcome(dict[outcome]) ? 1 + OUTCOME_CODES[dict[outcome] as keyof typeof OUTCOME_CODES] : BAD;
    if (outcomes[outcome] === BAD) return null;
    const o = outcomes[outcome]! - 1;
    c.outcome[i] = o;
    // Error code: null exactly for a success, else a code matching ERROR_CODE_PATTERN.
    if (row[9] === null) {
      if (o !== OUTCOME_CODES.success) return null;
      c.errorCode[i] = -1;
    } else {
      const e = index(row[9], size);
      if (e < 0 || o === OUTCOME_CODES.success) return null;
      if (errorCodes[e] === UNCHECKED) errorCodes[e] = isErrorCode(dict[e]) ? 1 : BAD;
      if (errorCodes[e] === BAD) return null;
      c.errorCode[i] = e;
    }
    const latency = row[10];
    const time = row[11];
    const weight = row[15];
    if (!isFiniteIn(latency, 0, MAX_LATENCY_MS) || !isFiniteIn(time, 0, MAX_EVENT_TIME_MS) || !isSampleWeight(weight)) return null;
    if (row[12] !== null && !isLabel(row[12])) return null;
    // Trace id: 32 lower-case hex characters, span id: 16 (isTraceId / isSpanId), read as they are checked.
    if (!hexWords(row[13], 4, c.ids, i * ID_WORDS) || !hexWords(row[14], 2, c.ids, i * ID_WORDS + 4)) return null;
    c.latencyMs[i] = latency as number;
    c.eventTime[i] = time as number;
    c.sampleWeight[i] = weight as number;
  }
  return c;
}

/**
 * Reads `v`, a string of exactly 8 · `words` lower-case hex characters, into out[at …] as
 * big-endian 32-bit words; false (out partly written) when `v` is anything else. The same rule as
 * isTraceId (words = 4) and isSpanId (words = 2).
 */
export function hexWords(v: unknown, words: number, out: Uint32Array, at: number): boolean {
  if (typeof v !== 'string' || v.length !== 8 * words) return false;
  for (let k = 0; k < words; k++) {
    let w = 0;
    for (let j = 8 * k; j < 8 * k + 8; j++) {
      const ch = v.charCodeAt(j);
      // '0'–'9' → 0–9, 'a'–'f' → 10–15; anything else (upper case included) is not an id.
      const d = ch >= 48 && ch <= 57 ? ch - 48 : ch >= 97 && ch <= 102 ? ch - 87 : -1;
      if (d < 0) return false;
      w = (w << 4) | d;
    }
    out[at + k] = w >>> 0;
  }
  return true;
}

/** A coded value as a dictionary index, or -1 when it is none (the rule of codedRowToEvent). */
function index(v: unknown, size: number): number {
  return Number.isInteger(v) && (v as number) >= 0 && (v as number) < size ? (v as number) : -1;
}

