import { slotOf, type AttrValue, type AttrValues } from './attributes';
import { OtlpDecodeError } from './errors';
import { emptySpan, type DecodedTraces, type RawSpan } from './raw-span';

/*
 * OTLP/JSON (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding): proto3 JSON with
 * lowerCamelCase names (the proto names are accepted too), trace and span ids as hex, int64 as a
 * JSON number or a decimal string, enums as numbers or their names.
 */

type Obj = Record<string, unknown>;

const KIND_NAMES: Record<string, number> = {
  SPAN_KIND_UNSPECIFIED: 0,
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5,
};
const STATUS_NAMES: Record<string, number> = { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 };
const HEX32 = /^[0-9a-fA-F]{32}$/;
const HEX16 = /^[0-9a-fA-F]{16}$/;
const ZEROS = /^0+$/;
const UINT64_TEXT = /^\d{1,20}$/;
const UINT64_MAX = 2n ** 64n - 1n;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function field(o: Obj, camel: string, snake: string): unknown {
  const v = o[camel];
  return v === undefined ? o[snake] : v;
}

/** Decodes an OTLP/JSON trace request. Throws OtlpDecodeError when the body is not one. */
export function decodeJsonTraces(body: string | Uint8Array): DecodedTraces {
  let root: unknown;
  try {
    root = JSON.parse(typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (err) {
    throw new OtlpDecodeError(`body is not valid JSON: ${(err as Error).message.slice(0, 200)}`);
  }
  if (!isObj(root)) throw new OtlpDecodeError('body must be a JSON object (ExportTraceServiceRequest)');
  const rss = field(root, 'resourceSpans', 'resource_spans');
  const out: DecodedTraces = { spans: [], dropped: [] };
  if (rss === undefined || rss === null) return out;
  if (!Array.isArray(rss)) throw new OtlpDecodeError('resourceSpans must be an array');
  for (const rs of rss) {
    if (!isObj(rs)) {
      out.dropped.push({ reason: 'resourceSpans entry is not an object', count: 1 });
      continue;
    }
    const resAttrs: AttrValues = [];
    const res = rs.resource;
    if (isObj(res)) readAttributes(res.attributes, resAttrs);
    const sss = field(rs, 'scopeSpans', 'scope_spans');
    if (sss === undefined || sss === null) continue;
    if (!Array.isArray(sss)) {
      out.dropped.push({ reason: 'scopeSpans is not an array', count: 1 });
      continue;
    }
    for (const ss of sss) {
      const spans = isObj(ss) ? ss.spans : undefined;
      if (spans === undefined || spans === null) continue;
      if (!Array.isArray(spans)) {
        out.dropped.push({ reason: 'spans is not an array', count: 1 });
        continue;
      }
      for (const sp of spans) {
        if (isObj(sp)) out.spans.push(span(sp, resAttrs));
        else out.dropped.push({ reason: 'span is not a JSON object', count: 1 });
      }
    }
  }
  return out;
}

function readAttributes(list: unknown, into: AttrValues): void {
  if (!Array.isArray(list)) return;
  for (const kv of list) {
    if (!isObj(kv) || typeof kv.key !== 'string') continue;
    const slot = slotOf(kv.key);
    if (slot < 0) continue;
    const v = anyValue(kv.value, true);
    if (v !== undefined) into[slot] = v;
  }
}

function anyValue(v: unknown, allowArray: boolean): AttrValue | undefined {
  if (!isObj(v)) return undefined;
  const s = field(v, 'stringValue', 'string_value');
  if (typeof s === 'string') return s;
  const i = field(v, 'intValue', 'int_value');
  if (typeof i === 'number') return Number.isInteger(i) ? i : undefined;
  if (typeof i === 'string') return /^-?\d{1,20}$/.test(i) ? Number(i) : undefined;
  const d = field(v, 'doubleValue', 'double_value');
  if (typeof d === 'number') return d;
  if (typeof d === 'string') {
    // proto3 JSON writes non-finite doubles as strings.
    const n = Number(d);
    return d.trim() === '' ? undefined : n;
  }
  const b = field(v, 'boolValue', 'bool_value');
  if (typeof b === 'boolean') return b;
  const a = field(v, 'arrayValue', 'array_value');
  if (allowArray && isObj(a) && Array.isArray(a.values)) {
    const out: string[] = [];
    for (const e of a.values) {
      const x = anyValue(e, false);
      if (typeof x === 'string') out.push(x);
    }
    return out;
  }
  return undefined;
}

function hexId(v: unknown, re: RegExp, what: string, s: RawSpan): string {
  if (v === undefined || v === null || v === '') return '';
  if (typeof v !== 'string' || !re.test(v)) {
    s.problem ??= `${what} must be ${re === HEX32 ? 32 : 16} hex characters`;
    return '';
  }
  if (ZEROS.test(v)) {
    s.problem ??= `${what} is all zeros`;
    return '';
  }
  return v.toLowerCase();
}

function readTime(v: unknown, which: 'start' | 'end', s: RawSpan): void {
  if (v === undefined || v === null) return;
  let ms: number;
  let sub: number;
  if (typeof v === 'string' && UINT64_TEXT.test(v)) {
    // Split the decimal text so a 19-digit nanosecond value converts exactly.
    const cut = Math.max(0, v.length - 6);
    ms = cut === 0 ? 0 : Number(v.slice(0, cut));
    sub = Number(v.slice(cut));
    // Compared as an integer: the millisecond part alone lets uint64 max + 1 through.
    if (BigInt(v) > UINT64_MAX) {
      s.problem ??= `${which}TimeUnixNano is past the uint64 range`;
      return;
    }
  } else if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 2 ** 64) {
    ms = Math.floor(v / 1e6);
    sub = v - ms * 1e6;
  } else {
    s.problem ??= `${which}TimeUnixNano must be a non-negative integer (number or decimal string)`;
    return;
  }
  if (which === 'start') {
    s.startMs = ms;
    s.startSubNs = sub;
  } else {
    s.endMs = ms;
    s.endSubNs = sub;
  }
}

function enumValue(v: unknown, names: Record<string, number>): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string') return names[v] ?? -1;
  return 0;
}

function span(v: Obj, resAttrs: AttrValues): RawSpan {
  const s = emptySpan(resAttrs);
  s.traceId = hexId(field(v, 'traceId', 'trace_id'), HEX32, 'traceId', s);
  s.spanId = hexId(field(v, 'spanId', 'span_id'), HEX16, 'spanId', s);
  const ts = field(v, 'traceState', 'trace_state');
  if (typeof ts === 'string') s.traceState = ts;
  if (typeof v.name === 'string') s.name = v.name;
  s.kind = enumValue(v.kind, KIND_NAMES);
  readTime(field(v, 'startTimeUnixNano', 'start_time_unix_nano'), 'start', s);
  readTime(field(v, 'endTimeUnixNano', 'end_time_unix_nano'), 'end', s);
  readAttributes(v.attributes, s.attrs);
  const st = v.status;
  if (isObj(st)) s.statusCode = enumValue(st.code, STATUS_NAMES);
  return s;
}
