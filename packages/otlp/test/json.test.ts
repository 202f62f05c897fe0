import { describe, expect, it } from 'vitest';
import { OtlpDecodeError, decodeJsonTraces, extractInvocations } from '../src/index';

const SPAN = {
  traceId: '0AF7651916CD43DD8448EB211C80319C',
  spanId: 'b7ad6b7169203331',
  name: 'GET /x',
  kind: 'SPAN_KIND_SERVER',
  startTimeUnixNano: '1731000000123456789',
  endTimeUnixNano: Number('1731000000125956789'), // a JSON number past 2^53, as some senders write it
  attributes: [
    { key: 'connector.operation_id', value: { stringValue: 'ListX' } },
    { key: 'http.response.status_code', value: { intValue: '404' } },
    { key: 'http.request.method', value: { stringValue: 'GET' } },
    { key: 'unrelated', value: { kvlistValue: { values: [] } } },
  ],
  status: { code: 'STATUS_CODE_UNSET' },
};

function body(spans: unknown[], resource: unknown = { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] }): string {
  return JSON.stringify({ resourceSpans: [{ resource, scopeSpans: [{ scope: { name: 's' }, spans }] }] });
}

describe('decodeJsonTraces', () => {
  it('accepts int64 as string or number, enum names and upper-case hex ids', () => {
    const [e] = extractInvocations(decodeJsonTraces(body([SPAN])), 't').events;
    expect(e).toMatchObject({ traceId: '0af7651916cd43dd8448eb211c80319c', httpStatus: 404, errorCode: 'NOT_FOUND', eventTime: 1_731_000_000_125 });
    // The number form went through a double: only its nearest representable value is promised.
    expect(e!.latencyMs).toBeCloseTo(2.5, 3);
  });

  it('accepts proto field names (snake_case) too', () => {
    const snake = { resource_spans: [{ resource: { attributes: [{ key: 'service.name', value: { string_value: 'svc' } }] }, scope_spans: [{ spans: [{ ...SPAN, trace_id: SPAN.traceId, traceId: undefined, start_time_unix_nano: SPAN.startTimeUnixNano, startTimeUnixNano: undefined }] }] }] };
    expect(extractInvocations(decodeJsonTraces(JSON.stringify(snake)), 't').events).toHaveLength(1);
  });

  it('rejects bad spans one by one and keeps the good ones', () => {
    const bad = [
      { ...SPAN, traceId: 'xyz' },
      { ...SPAN, spanId: '0000000000000000' },
      { ...SPAN, startTimeUnixNano: '-5' },
      { ...SPAN, endTimeUnixNano: '1731000000000000000' },
      'not a span',
    ];
    const out = extractInvocations(decodeJsonTraces(body([SPAN, ...bad, SPAN])), 't');
    expect(out.events).toHaveLength(2);
    expect(out.rejected).toBe(5);
    expect(Object.fromEntries(out.reasons)).toEqual({
      'traceId must be 32 hex characters': 1,
      'spanId is all zeros': 1,
      'startTimeUnixNano must be a non-negative integer (number or decimal string)': 1,
      'end time before start time': 1,
      'span is not a JSON object': 1,
    });
  });

  it.each([
    ['uint64 max + 1', '18446744073709551616', 'endTimeUnixNano is past the uint64 range'],
    ['21 digits', '100000000000000000000', 'endTimeUnixNano must be a non-negative integer (number or decimal string)'],
    ['2^64 as a JSON number', 2 ** 64, 'endTimeUnixNano must be a non-negative integer (number or decimal string)'],
  ])('rejects an end time of %s', (_n, end, reason) => {
    const out = extractInvocations(decodeJsonTraces(body([{ ...SPAN, endTimeUnixNano: end }])), 't');
    expect(out.events).toHaveLength(0);
    expect(Object.fromEntries(out.reasons)).toEqual({ [reason]: 1 });
  });

  it('reads uint64 max itself as a time (then rejects it as a latency, not as a number)', () => {
    const out = extractInvocations(decodeJsonTraces(body([{ ...SPAN, endTimeUnixNano: '18446744073709551615' }])), 't');
    expect(Object.keys(Object.fromEntries(out.reasons))).toEqual([expect.stringMatching(/^latency over/)]);
  });

  // JSON escapes can carry what no UTF-8 body can: a lone surrogate. The rule is the store's (labelProblem).
  it.each([
    ['a lone high surrogate in the operation id', 'connector.operation_id', 'p\ud800x', 'action not well-formed Unicode (lone surrogate)'],
    ['a lone low surrogate in the connector name', 'connector.name', '\udc00', 'connector not well-formed Unicode (lone surrogate)'],
    ['NUL in the version', 'connector.version', '1\u0000', 'connector version contains a control character'],
    ['a newline in the operation id', 'connector.operation_id', 'a\nb', 'action contains a control character'],
    ['a C1 control in the correlation id', 'connector.correlation_id', 'x\u0085', 'correlation id contains a control character'],
    ['a 257-character operation id', 'connector.operation_id', 'x'.repeat(257), 'action longer than 256 characters'],
    ['a lone surrogate in the HTTP method', 'http.request.method', 'G\ud800', 'http method not well-formed Unicode (lone surrogate)'],
  ])('rejects %s', (_n, key, value, reason) => {
    const span = { ...SPAN, attributes: [...SPAN.attributes.filter((a) => a.key !== key), { key, value: { stringValue: value } }] };
    const out = extractInvocations(decodeJsonTraces(body([span, SPAN])), 't');
    expect(out.events).toHaveLength(1);
    expect(Object.fromEntries(out.reasons)).toEqual({ [reason]: 1 });
  });

  it.each([['key separators', 'a|b:c%d'], ['hash-tag braces', '{x}'], ['non-BMP characters', 'ok\u{1F600}\u{10FFFF}'], ['a 256-character label', 'y'.repeat(256)]])(
    'accepts %s in a label as it is',
    (_n, value) => {
      const span = { ...SPAN, attributes: [...SPAN.attributes.filter((a) => a.key !== 'connector.operation_id'), { key: 'connector.operation_id', value: { stringValue: value } }] };
      const out = extractInvocations(decodeJsonTraces(body([span])), 't');
      expect(out.events.map((e) => e.action)).toEqual([value]);
    },
  );

  it('counts malformed containers as rejected and reads the rest', () => {
    const text = JSON.stringify({ resourceSpans: [42, { scopeSpans: 'x' }, JSON.parse(body([SPAN])).resourceSpans[0]] });
    const out = extractInvocations(decodeJsonTraces(text), 't');
    expect(out.events).toHaveLength(1);
    expect(out.rejected).toBe(2);
  });

  it.each([
    ['not JSON', '{"resourceSpans": [', /not valid JSON/],
    ['a JSON array', '[]', /must be a JSON object/],
    ['resourceSpans as a string', '{"resourceSpans":"x"}', /resourceSpans must be an array/],
  ])('refuses %s with OtlpDecodeError', (_n, text, message) => {
    expect(() => decodeJsonTraces(text)).toThrow(OtlpDecodeError);
    expect(() => decodeJsonTraces(text)).toThrow(message);
  });

  it('an empty object is an empty request', () => {
    expect(decodeJsonTraces('{}').spans).toEqual([]);
  });
});
