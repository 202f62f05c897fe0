import { describe, expect, it } from 'vitest';
import { Attr, OtlpDecodeError, decodeProtobufTraces, extractInvocations } from '../src/index';
import { fixed64, kv, len, request, str, tag, varint } from './wire';

const TRACE = [...Buffer.from('0af7651916cd43dd8448eb211c80319c', 'hex')];
const SPAN = [...Buffer.from('b7ad6b7169203331', 'hex')];
const START = 1_731_000_000_123_456_789n;

function goodSpan(extra: number[] = []): number[] {
  return [
    ...len(1, TRACE),
    ...len(2, SPAN),
    ...str(5, 'GET /x'),
    ...tag(6, 0), 2,
    ...fixed64(7, START),
    ...fixed64(8, START + 2_500_000n),
    ...len(9, kv('connector.operation_id', str(1, 'ListX'))),
    ...len(9, kv('http.response.status_code', [...tag(3, 0), ...varint(200)])),
    ...extra,
  ];
}

const RESOURCE = [kv('service.name', str(1, 'svc'))];

describe('decodeProtobufTraces', () => {
  it('reads a hand-made span exactly', () => {
    const out = extractInvocations(decodeProtobufTraces(request(RESOURCE, goodSpan())), 't');
    expect(out.events).toEqual([
      expect.objectContaining({ connector: 'svc', action: 'ListX', httpStatus: 200, latencyMs: 2.5, eventTime: 1_731_000_000_125, traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331' }),
    ]);
  });

  it('skips unknown fields of every wire type, including nested junk it never descends into', () => {
    let nested: number[] = [1];
    for (let i = 0; i < 200; i++) nested = len(99, nested); // deep nesting inside an unknown field
    const junk = [...tag(100, 0), ...varint(2n ** 63n), ...tag(101, 1), 1, 2, 3, 4, 5, 6, 7, 8, ...tag(102, 5), 1, 2, 3, 4, ...nested];
    const body = decodeProtobufTraces(request(RESOURCE, goodSpan(junk)));
    expect(extractInvocations(body, 't').events).toHaveLength(1);
  });

  it('reads the resource even when it comes after the spans', () => {
    const rs = [...len(2, len(2, goodSpan())), ...len(1, len(1, kv('service.name', str(1, 'late'))))];
    const out = extractInvocations(decodeProtobufTraces(Buffer.from(len(1, rs))), 't');
    expect(out.events[0]?.connector).toBe('late');
  });

  it('decodes int, double, bool and array attribute values', () => {
    const extra = [
      ...len(9, kv('SampleRate', [...tag(4, 1), ...new Uint8Array(new Float64Array([4]).buffer)])),
      ...len(9, kv('http.request.header.x-correlation-id', len(5, len(1, str(1, 'c-1'))))),
      ...len(9, kv('connector.version', [...tag(3, 0), ...varint(7)])),
    ];
    const [s] = decodeProtobufTraces(request(RESOURCE, goodSpan(extra))).spans;
    expect(s?.attrs[Attr.sampleRate]).toBe(4);
    expect(s?.attrs[Attr.headerCorrelationId]).toEqual(['c-1']);
    const [e] = extractInvocations(decodeProtobufTraces(request(RESOURCE, goodSpan(extra))), 't').events;
    expect(e).toMatchObject({ sampleWeight: 4, correlationId: 'c-1', connectorVersion: '7' });
  });

  it('negative int64 status is rejected, not wrapped to a huge positive', () => {
    const span = goodSpan();
    const bad = [...span, ...len(9, kv('http.response.status_code', [...tag(3, 0), ...varint(2n ** 64n - 200n)]))];
    expect(extractInvocations(decodeProtobufTraces(request(RESOURCE, bad)), 't').reasons).toEqual(new Map([['HTTP status is not an integer 100-599', 1]]));
  });

  it.each([
    ['a 15-byte trace id', [...len(1, TRACE.slice(1))], 'traceId must be 16 bytes'],
    ['an all-zero span id', [...len(2, new Array(8).fill(0))], 'spanId is all zeros'],
    ['end before start', [...fixed64(8, START - 1n)], 'end time before start time'],
  ])('rejects a span with %s (later fields win, the first problem is kept)', (_n, extra, reason) => {
    const out = extractInvocations(decodeProtobufTraces(request(RESOURCE, goodSpan(extra as number[]))), 't');
    expect(out.events).toHaveLength(0);
    expect(out.reasons).toEqual(new Map([[reason, 1]]));
  });

  it.each([
    ['a length past the end', Buffer.from([...tag(1, 2), ...varint(1000), 1, 2, 3]), /length 1000 runs past the end/],
    ['a truncated varint', Buffer.from([0x0a, 0x80]), /truncated varint/],
    ['an 11-byte varint', Buffer.from([...tag(9, 0), ...new Array(10).fill(0xff), 0x01]), /varint longer than 10 bytes/],
    ['field number 0', Buffer.from([0x02, 0x00]), /invalid tag 2/],
    ['a group wire type', Buffer.from([...tag(5, 3)]), /unsupported wire type 3/],
    ['a truncated fixed64 timestamp', Buffer.from(len(1, len(2, len(2, [...tag(7, 1), 1, 2, 3])))), /truncated fixed64/],
    ['a nested length past its parent', Buffer.from(len(1, [...tag(2, 2), ...varint(50), 1])), /runs past the end/],
  ])('refuses %s with a clear OtlpDecodeError', (_n, body, message) => {
    expect(() => decodeProtobufTraces(body)).toThrow(OtlpDecodeError);
    expect(() => decodeProtobufTraces(body)).toThrow(message);
  });

  it('an empty body is an empty request', () => {
    expect(decodeProtobufTraces(Buffer.alloc(0)).spans).toEqual([]);
  });
});
