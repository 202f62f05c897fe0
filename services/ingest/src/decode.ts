import { gunzipSync } from 'node:zlib';
import { MAX_EVENTS_PER_BATCH, encodeInvocationBatch, seriesKey, type InvocationEvent } from '@pulsegate/events';
import { OtlpDecodeError, decodeJsonTraces, decodeProtobufTraces, extractInvocations, type DecodedTraces } from '@pulsegate/otlp';

/** One request body to turn into bus records. */
export interface DecodeJob {
  /** The body as received (still gzipped when `gzip`). */
  body: Uint8Array;
  gzip: boolean;
  format: 'protobuf' | 'json';
  /** Tenant of the caller's key: every event of the request belongs to it. */
  tenant: string;
  /** Largest body after gunzip; inflation stops at the first byte beyond it. */
  maxDecompressedBytes: number;
}

/** A distinct connector/action/version of the request, with how many of its events carry it. */
export interface SeriesLabels {
  connector: string;
  action: string;
  version: string;
  events: number;
}

/** Encoded bus records: one per tenant/connector (partition key), ≤ MAX_EVENTS_PER_BATCH events each. */
export interface EncodedRecord {
  key: string;
  value: Buffer;
}

export interface DecodeOk {
  ok: true;
  records: EncodedRecord[];
  /** Distinct labels in order of first appearance, for the cardinality guard. */
  labels: SeriesLabels[];
  events: number;
  spans: number;
  ignored: number;
  rejected: number;
  reasons: Array<[string, number]>;
  decompressedBytes: number;
}

/** A body that cannot be used: the HTTP status and error code to answer with. */
export interface DecodeFailure {
  ok: false;
  status: 400 | 413;
  code: 'INVALID_ARGUMENT' | 'PAYLOAD_TOO_LARGE';
  message: string;
  decompressedBytes: number;
}

export type DecodeOutcome = DecodeOk | DecodeFailure;

const fail = (status: DecodeFailure['status'], code: DecodeFailure['code'], message: string, decompressedBytes = 0): DecodeFailure => ({ ok: false, status, code, message, decompressedBytes });

/**
 * Inflates (bounded), decodes and extracts one OTLP body, then packs its events into bus records.
 * Pure (no I/O, no shared state): the cardinality guard runs afterwards on `labels`.
 */
export function decodeRequest(job: DecodeJob): DecodeOutcome {
  const body = Buffer.from(job.body.buffer, job.body.byteOffset, job.body.byteLength);
  let plain: Buffer;
  if (job.gzip) {
    try {
      // maxOutputLength makes zlib stop at the limit: a gzip bomb is never inflated past it.
      plain = gunzipSync(body, { maxOutputLength: job.maxDecompressedBytes });
    } catch (err) {
      if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
        return fail(413, 'PAYLOAD_TOO_LARGE', `request body exceeds the decompressed limit of ${job.maxDecompressedBytes} bytes`, job.maxDecompressedBytes);
      }
      return fail(400, 'INVALID_ARGUMENT', `gzip body could not be decompressed: ${(err as Error).message}`);
    }
  } else {
    plain = body;
  }
  let decoded: DecodedTraces;
  try {
    decoded = job.format === 'protobuf' ? decodeProtobufTraces(plain) : decodeJsonTraces(plain);
  } catch (err) {
    if (err instanceof OtlpDecodeError) return fail(400, 'INVALID_ARGUMENT', err.message, plain.length);
    throw err;
  }
  const out = extractInvocations(decoded, job.tenant);
  return {
    ok: true,
    records: batchRecords(out.events),
    labels: labelsOf(out.events),
    events: out.events.length,
    spans: out.spans,
    ignored: out.ignored,
    rejected: out.rejected,
    reasons: [...out.reasons],
    decompressedBytes: plain.length,
  };
}

/** Distinct connector/action/version triples in order of first appearance, with event counts. */
export function labelsOf(events: readonly InvocationEvent[]): SeriesLabels[] {
  const out: SeriesLabels[] = [];
  // connector → action → version → labels: no key strings built per event.
  const seen = new Map<string, Map<string, Map<string, SeriesLabels>>>();
  let last: SeriesLabels | undefined;
  for (const e of events) {
    if (last !== undefined && last.connector === e.connector && last.action === e.action && last.version === e.connectorVersion) {
      last.events++;
      continue;
    }
    let actions = seen.get(e.connector);
    if (actions === undefined) seen.set(e.connector, (actions = new Map()));
    let versions = actions.get(e.action);
    if (versions === undefined) actions.set(e.action, (versions = new Map()));
    last = versions.get(e.connectorVersion);
    if (last === undefined) {
      last = { connector: e.connector, action: e.action, version: e.connectorVersion, events: 0 };
      versions.set(e.connectorVersion, last);
      out.push(last);
    }
    last.events++;
  }
  return out;
}

/**
 * Packs events into invocation-batch messages: one group per tenant/connector (the partition key,
 * so a series stays in order on one partition), at most `maxPerBatch` events per message.
 */
export function batchRecords(events: readonly InvocationEvent[], maxPerBatch = MAX_EVENTS_PER_BATCH): EncodedRecord[] {
  const groups = new Map<string, InvocationEvent[]>();
  // Spans of one request mostly share a connector: reuse the last group instead of building a key per event.
  let lastTenant: string | undefined;
  let lastConnector: string | undefined;
  let last: InvocationEvent[] = [];
  for (const e of events) {
    if (e.tenant !== lastTenant || e.connector !== lastConnector) {
      const key = seriesKey(e.tenant, e.connector);
      const g = groups.get(key);
      if (g === undefined) groups.set(key, (last = []));
      else last = g;
      lastTenant = e.tenant;
      lastConnector = e.connector;
    }
    last.push(e);
  }
  const records: EncodedRecord[] = [];
  for (const [key, group] of groups) {
    if (group.length <= maxPerBatch) records.push({ key, value: encodeInvocationBatch(group) });
    else for (let i = 0; i < group.length; i += maxPerBatch) records.push({ key, value: encodeInvocationBatch(group.slice(i, i + maxPerBatch)) });
  }
  return records;
}
