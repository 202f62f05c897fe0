import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { validateInvocation, type InvocationEvent } from '@pulsegate/events';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeJsonTraces, decodeProtobufTraces, extractInvocations, rejectionMessage, spanToInvocation } from '../src/index';
import { recordSpans, spanDerived } from './builders';
import { MAPPING_CASES, caseStart } from './fixtures/cases';

const TENANT = 'acme';

describe.each([
  ['protobuf', (spans: ReadableSpan[]) => decodeProtobufTraces(ProtobufTraceSerializer.serializeRequest(spans)!)],
  ['json', (spans: ReadableSpan[]) => decodeJsonTraces(JsonTraceSerializer.serializeRequest(spans)!)],
] as const)('span → invocation mapping over real SDK %s bodies', (_encoding, decode) => {
  let bySpanName: Map<string, { span: ReadableSpan; result: InvocationEvent | string | null }>;

  beforeAll(async () => {
    // One resource per case, all in one request body, as an exporter with several providers would not
    // do but a collector forwarding many services would.
    const spans = await recordSpans(
      MAPPING_CASES.map((c, i) => ({ attributes: c.resource, spans: [{ ...c.span, name: c.span.name, startNs: caseStart(i) }] })),
    );
    const decoded = decode(spans);
    expect(decoded.spans).toHaveLength(MAPPING_CASES.length);
    bySpanName = new Map();
    decoded.spans.forEach((raw, i) => {
      const sdkSpan = spans.find((s) => s.spanContext().spanId === raw.spanId);
      if (sdkSpan === undefined) throw new Error(`span ${i} lost its id`);
      bySpanName.set(String(i), { span: sdkSpan, result: spanToInvocation(raw, TENANT) });
    });
  });

  it.each(MAPPING_CASES.map((c, i) => [c.name, i] as const))('%s', (_name, i) => {
    const c = MAPPING_CASES[i]!;
    const { span, result } = bySpanName.get(String(i))!;
    if ('ignored' in c.expect) expect(result).toBeNull();
    else if ('rejected' in c.expect) expect(result).toBe(c.expect.rejected);
    else {
      const expected: InvocationEvent = { schemaVersion: 1, tenant: TENANT, ...c.expect.event, ...spanDerived(span) };
      expect(result).toStrictEqual(expected);
      expect(validateInvocation(result)).toEqual([]);
    }
  });
});

describe('extractInvocations', () => {
  it('counts events, ignored and rejected spans with their reasons', async () => {
    const spans = await recordSpans(MAPPING_CASES.map((c, i) => ({ attributes: c.resource, spans: [{ ...c.span, startNs: caseStart(i) }] })));
    const out = extractInvocations(decodeProtobufTraces(ProtobufTraceSerializer.serializeRequest(spans)!), TENANT);
    const want = { events: 0, ignored: 0, rejected: 0 };
    for (const c of MAPPING_CASES) {
      if ('ignored' in c.expect) want.ignored++;
      else if ('rejected' in c.expect) want.rejected++;
      else want.events++;
    }
    expect({ events: out.events.length, ignored: out.ignored, rejected: out.rejected }).toEqual(want);
    expect(out.spans).toBe(MAPPING_CASES.length);
    expect([...out.reasons.values()].reduce((a, b) => a + b, 0)).toBe(want.rejected);
    expect(rejectionMessage(out.reasons)).toContain('1 × HTTP status is not an integer 100-599');
  });

  it('sub-millisecond latencies and event times are exact at 19-digit nanosecond timestamps', async () => {
    const startNs = 1_999_999_999_999_999_999n;
    const spans = await recordSpans([{ attributes: { 'service.name': 's' }, spans: [{ name: 'x', startNs, durationNs: 1n, attributes: { 'connector.operation_id': 'A', 'http.response.status_code': 200 } }] }]);
    for (const body of [decodeProtobufTraces(ProtobufTraceSerializer.serializeRequest(spans)!), decodeJsonTraces(JsonTraceSerializer.serializeRequest(spans)!)]) {
      const [e] = extractInvocations(body, TENANT).events;
      expect(e?.latencyMs).toBe(0.000001);
      expect(e?.eventTime).toBe(2_000_000_000_000);
    }
  });
});
