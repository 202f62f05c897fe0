/*
 * ExportTraceServiceResponse (collector/trace/v1/trace_service.proto): partial_success = 1,
 * ExportTracePartialSuccess { rejected_spans = 1 (int64), error_message = 2 }.
 * https://opentelemetry.io/docs/specs/otlp/#partial-success
 */

function varint(n: number, out: number[]): void {
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

/**
 * Protobuf response body. Empty (a valid, empty message) when nothing was rejected and there is no
 * message; a message with 0 rejected spans is a warning, as the spec allows.
 */
export function encodeTraceResponseProtobuf(rejectedSpans: number, errorMessage: string): Buffer {
  if (rejectedSpans === 0 && errorMessage === '') return Buffer.alloc(0);
  const msg = Buffer.from(errorMessage, 'utf8');
  const inner: number[] = [];
  if (rejectedSpans > 0) {
    inner.push(0x08);
    varint(rejectedSpans, inner);
  }
  if (msg.length > 0) {
    inner.push(0x12);
    varint(msg.length, inner);
  }
  const innerLen = inner.length + msg.length;
  const head: number[] = [0x0a];
  varint(innerLen, head);
  return Buffer.concat([Buffer.from(head), Buffer.from(inner), msg]);
}

/** JSON response body, `{"partialSuccess":{...}}`; int64 written as a JSON number. */
export function encodeTraceResponseJson(rejectedSpans: number, errorMessage: string): Buffer {
  const partial: Record<string, unknown> = {};
  if (rejectedSpans > 0) partial.rejectedSpans = rejectedSpans;
  if (errorMessage !== '') partial.errorMessage = errorMessage;
  return Buffer.from(JSON.stringify({ partialSuccess: partial }));
}
