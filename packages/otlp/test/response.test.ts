import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { describe, expect, it } from 'vitest';
import { encodeTraceResponseJson, encodeTraceResponseProtobuf } from '../src/index';

describe('ExportTraceServiceResponse encoders, read back by the OpenTelemetry deserializers', () => {
  it.each([
    [0, ''],
    [3, '2 × end time before start time; 1 × traceId missing'],
    [300, ''],
    [0, 'warning: 12 events folded into __overflow__'],
    [2 ** 40, 'ü'.repeat(200)],
  ])('rejectedSpans %d, message %j', (rejected, message) => {
    const proto = ProtobufTraceSerializer.deserializeResponse(encodeTraceResponseProtobuf(rejected, message));
    const json = JsonTraceSerializer.deserializeResponse(encodeTraceResponseJson(rejected, message));
    for (const r of [proto, json]) {
      const p = r.partialSuccess ?? {};
      expect(Number(p.rejectedSpans ?? 0)).toBe(rejected);
      expect(p.errorMessage ?? '').toBe(message);
    }
  });

  it('nothing to report is an empty protobuf message', () => {
    expect(encodeTraceResponseProtobuf(0, '')).toHaveLength(0);
  });
});
