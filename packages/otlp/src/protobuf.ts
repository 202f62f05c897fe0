import { slotOfBytes, type AttrValue, type AttrValues } from './attributes';
import { OtlpDecodeError } from './errors';
import { emptySpan, type DecodedTraces, type RawSpan } from './raw-span';

/*
 * A protobuf wire-format reader for ExportTraceServiceRequest that reads only the fields an
 * invocation needs and skips the rest by wire type. Field numbers are from opentelemetry-proto
 * (collector/trace/v1/trace_service.proto, trace/v1/trace.proto, common/v1/common.proto).
 * It only descends into the message types it knows, so nesting depth is fixed by the schema
 * (at most 7 levels) whatever the input; every length is checked against its enclosing message.
 */

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  fail(message: string): never {
    throw new OtlpDecodeError(`invalid protobuf at byte ${this.pos}: ${message}`);
  }

  /** Unsigned varint as a double (exact below 2^53). At most 10 bytes. */
  varint(end: number): number {
    const buf = this.buf;
    if (this.pos >= end) this.fail('truncated varint');
    let b = buf[this.pos++]!;
    if (b < 0x80) return b;
    let value = b & 0x7f;
    let mul = 128;
    for (let i = 1; i < 10; i++) {
      if (this.pos >= end) this.fail('truncated varint');
      b = buf[this.pos++]!;
      value += (b & 0x7f) * mul;
      if (b < 0x80) return value;
      mul *= 128;
    }
    return this.fail('varint longer than 10 bytes');
  }

  /** Reads a length prefix and returns the end of the delimited bytes. */
  delimited(end: number): number {
    const len = this.varint(end);
    if (len > end - this.pos) this.fail(`length ${len} runs past the end of its message`);
    return this.pos + len;
  }

  /** Field number * 8 + wire type; field 0 and tags past 2^32 are invalid. */
  tag(end: number): number {
    const tag = this.varint(end);
    if (tag < 8 || tag > 0xffffffff) this.fail(`invalid tag ${tag}`);
    return tag;
  }

  skip(wireType: number, end: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint(end);
        return;
      case WIRE_I64:
        if (end - this.pos < 8) this.fail('truncated fixed64');
        this.pos += 8;
        return;
      case WIRE_LEN:
        this.pos = this.delimited(end);
        return;
      case WIRE_I32:
        if (end - this.pos < 4) this.fail('truncated fixed32');
        this.pos += 4;
        return;
      default:
        this.fail(`unsupported wire type ${wireType}`);
    }
  }
}

/** Decodes a binary OTLP/HTTP trace request. Throws OtlpDecodeError when the bytes are not one. */
export function decodeProtobufTraces(body: Uint8Array): DecodedTraces {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const r = new Reader(buf);
  const spans: RawSpan[] = [];
  const end = buf.length;
  while (r.pos < end) {
    const tag = r.tag(end);
    if (tag === ((1 << 3) | WIRE_LEN)) {
      const e = r.delimited(end);
      resourceSpans(r, e, spans);
      r.pos = e;
    } else r.skip(tag & 7, end);
  }
  return { spans, dropped: [] };
}

// ResourceSpans: resource = 1, scope_spans = 2.
function resourceSpans(r: Reader, end: number, out: RawSpan[]): void {
  // Spans share this array; the resource may come after its spans on the wire, so fill in place.
  const resAttrs: AttrValues = [];
  while (r.pos < end) {
    const tag = r.tag(end);
    if (tag === ((1 << 3) | WIRE_LEN)) {
      const e = r.delimited(end);
      resource(r, e, resAttrs);
      r.pos = e;
    } else if (tag === ((2 << 3) | WIRE_LEN)) {
      const e = r.delimited(end);
      scopeSpans(r, e, resAttrs, out);
      r.pos = e;
    } else r.skip(tag & 7, end);
  }
}

// Resource: attributes = 1.
function resource(r: Reader, end: number, attrs: AttrValues): void {
  while (r.pos < end) {
    const tag = r.tag(end);
    if (tag === ((1 << 3) | WIRE_LEN)) {
      const e = r.delimited(end);
      keyValue(r, e, attrs);
      r.pos = e;
    } else r.skip(tag & 7, end);
  }
}

// ScopeSpans: spans = 2.
function scopeSpans(r: Reader, end: number, resAttrs: AttrValues, out: RawSpan[]): void {
  while (r.pos < end) {
    const tag = r.tag(end);
    if (tag === ((2 << 3) | WIRE_LEN)) {
      const e = r.delimited(end);
      out.push(span(r, e, resAttrs));
      r.pos = e;
    } else r.skip(tag & 7, end);
  }
}

/**
 * fixed64 nanoseconds as whole ms + remaining ns, exactly: v = hi·2^32 + lo and
 * 2^32 = 4294·10^6 + 967 296, so every intermediate stays below 2^53.
 */
function readTime(r: Reader, end: number, span: RawSpan, which: 'start' | 'end'): void {
  if (end - r.pos < 8) r.fail('truncated fixed64');
  const lo = r.buf.readUInt32LE(r.pos);
  const hi = r.buf.readUInt32LE(r.pos + 4);
  r.pos += 8;
  const t = hi * 967_296 + lo;
  const sub = t % 1_000_000;
  const ms = hi * 4294 + (t - sub) / 1_000_000;
  if (which === 'start') {
    span.startMs = ms;
    span.startSubNs = sub;
  } else {
    span.endMs = ms;
    span.endSubNs = sub;
  }
}

function id(r: Reader, end: number, bytes: number, what: string, span: RawSpan): string {
  const e = r.delimited(end);
  const s = r.pos;
  r.pos = e;
  if (e - s === 0) return '';
  if (e - s !== bytes) {
    span.problem ??= `${what} must be ${bytes} bytes`;
    return '';
  }
  let zero = true;
  for (let i = s; i < e; i++) if (r.buf[i] !== 0) zero = false;
  if (zero) {
    span.problem ??= `${what} is all zeros`;
    return '';
  }
  return r.buf.toString('hex', s, e);
}

// Span: trace_id 1, span_id 2, trace_state 3, name 5, kind 6, start 7, end 8, attributes 9, status 15.
function span(r: Reader, end: number, resAttrs: AttrValues): RawSpan {
  const s = emptySpan(resAttrs);
  while (r.pos < end) {
    const tag = r.tag(end);
    switch (tag) {
      case (1 << 3) | WIRE_LEN:
        s.traceId = id(r, end, 16, 'traceId', s);
        break;
      case (2 << 3) | WIRE_LEN:
        s.spanId = id(r, end, 8, 'spanId', s);
        break;
      case (3 << 3) | WIRE_LEN: {
        const e = r.delimited(end);
        s.traceState = r.buf.toString('utf8', r.pos, e);
        r.pos = e;
        break;
      }
      case (5 << 3) | WIRE_LEN: {
        const e = r.delimited(end);
        s.name = r.buf.toString('utf8', r.pos, e);
        r.pos = e;
        break;
      }
      case (6 << 3) | WIRE_VARINT:
        s.kind = r.varint(end);
        break;
      case (7 << 3) | WIRE_I64:
        readTime(r, end, s, 'start');
        break;
      case (8 << 3) | WIRE_I64:
        readTime(r, end, s, 'end');
        break;
      case (9 << 3) | WIRE_LEN: {
        const e = r.delimited(end);
        keyValue(r, e, s.attrs);
        r.pos = e;
        break;
      }
      case (15 << 3) | WIRE_LEN: {
        const e = r.delimited(end);
        s.statusCode = status(r, e);
        r.pos = e;
        break;
      }
      default:
        r.skip(tag & 7, end);
    }
  }
  return s;
}

// Status: code = 3.
function status(r: Reader, end: number): number {
  let code = 0;
  while (r.pos < end) {
    const tag = r.tag(end);
    if (tag === ((3 << 3) | WIRE_VARINT)) code = r.varint(end);
    else r.skip(tag & 7, end);
  }
  return code;
}

// KeyValue: key = 1, value = 2. Keys the mapping does not read are never turned into strings.
function keyValue(r: Reader, end: number, into: AttrValues): void {
  let keyStart = -1;
  let keyEnd = -1;
  let valueStart = -1;
  let valueEnd = -1;
  while (r.pos < end) {
    const tag = r.tag(end);
    if (tag === ((1 << 3) | WIRE_LEN)) {
      keyEnd = r.delimited(end);
      keyStart = r.pos;
      r.pos = keyEnd;
    } else if (tag === ((2 << 3) | WIRE_LEN)) {
      valueEnd = r.delimited(end);
      valueStart = r.pos;
      r.pos = valueEnd;
    } else r.skip(tag & 7, end);
  }
  if (keyStart < 0 || valueStart < 0) return;
  const slot = slotOfBytes(r.buf, keyStart, keyEnd);
  if (slot < 0) return;
  const after = r.pos;
  r.pos = valueStart;
  const v = anyValue(r, valueEnd, true);
  r.pos = after;
  if (v !== undefined) into[slot] = v;
}

const TWO_64 = 2 ** 64;
const TWO_63 = 2 ** 63;

// AnyValue: string 1, bool 2, int 3, double 4, array 5 (ArrayValue.values = 1). Arrays one level deep.
function anyValue(r: Reader, end: number, allowArray: boolean): AttrValue | undefined {
  let v: AttrValue | undefined;
  while (r.pos < end) {
    const tag = r.tag(end);
    switch (tag) {
      case (1 << 3) | WIRE_LEN: {
        const e = r.delimited(end);
        v = r.buf.toString('utf8', r.pos, e);
        r.pos = e;
        break;
      }
      case (2 << 3) | WIRE_VARINT:
        v = r.varint(end) !== 0;
        break;
      case (3 << 3) | WIRE_VARINT: {
        const n = r.varint(end);
        // int64 is two's complement on the wire: ten-byte varints are negative numbers.
        v = n >= TWO_63 ? n - TWO_64 : n;
        break;
      }
      case (4 << 3) | WIRE_I64:
        if (end - r.pos < 8) r.fail('truncated double');
        v = r.buf.readDoubleLE(r.pos);
        r.pos += 8;
        break;
      case (5 << 3) | WIRE_LEN: {
        const e = r.delimited(end);
        if (allowArray) v = stringArray(r, e);
        r.pos = e;
        break;
      }
      default:
        r.skip(tag & 7, end);
    }
  }
  return v;
}

function stringArray(r: Reader, end: number): string[] {
  const out: string[] = [];
  while (r.pos < end) {
    const tag = r.tag(end);
    if (tag === ((1 << 3) | WIRE_LEN)) {
      const e = r.delimited(end);
      const v = anyValue(r, e, false);
      if (typeof v === 'string') out.push(v);
      r.pos = e;
    } else r.skip(tag & 7, end);
  }
  return out;
}
