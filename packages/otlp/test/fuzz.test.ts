import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { validateInvocation } from '@pulsegate/events';
import { seededRandom as rng } from '@pulsegate/random';
import { beforeAll, describe, expect, it } from 'vitest';
import { OtlpDecodeError, decodeJsonTraces, decodeProtobufTraces, extractInvocations, type DecodedTraces } from '../src/index';
import { recordSpans } from './builders';
import { MAPPING_CASES, caseStart } from './fixtures/cases';


function mutateBytes(src: Uint8Array, rand: () => number): Buffer {
  let b = Buffer.from(src);
  const n = 1 + Math.floor(rand() * 4);
  for (let k = 0; k < n; k++) {
    const at = Math.floor(rand() * b.length);
    switch (Math.floor(rand() * 5)) {
      case 0:
        b[at] = Math.floor(rand() * 256);
        break;
      case 1:
        b[at] = b[at]! ^ (1 << Math.floor(rand() * 8));
        break;
      case 2:
        b = b.subarray(0, at);
        break;
      case 3:
        b = Buffer.concat([b.subarray(0, at), Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]), b.subarray(at)]);
        break;
      default: {
        const len = Math.floor(rand() * 64);
        b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + len), b.subarray(at)]);
      }
    }
    if (b.length === 0) break;
  }
  return b;
}

const WEIRD: unknown[] = [null, -1, 1e308, '', 'x'.repeat(300), [], {}, true, '99999999999999999999999', { stringValue: 7 }, [[[[[]]]]], 'ffffffffffffffffffffffffffffffff'];

function mutateJson(value: unknown, rand: () => number, depth = 0): unknown {
  if (Array.isArray(value)) return value.map((v) => mutateJson(v, rand, depth + 1));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = rand() < 0.03 ? WEIRD[Math.floor(rand() * WEIRD.length)] : mutateJson(v, rand, depth + 1);
    return out;
  }
  return rand() < 0.05 ? WEIRD[Math.floor(rand() * WEIRD.length)] : value;
}

/** Either a clear decode error or spans whose every event is schema-valid; nothing else. */
function check(decode: () => DecodedTraces): 'error' | 'ok' {
  let decoded: DecodedTraces;
  try {
    decoded = decode();
  } catch (err) {
    expect(err).toBeInstanceOf(OtlpDecodeError);
    expect((err as Error).message.length).toBeGreaterThan(10);
    return 'error';
  }
  const out = extractInvocations(decoded, 'fuzz');
  expect(out.events.length + out.ignored + out.rejected).toBeGreaterThanOrEqual(out.spans);
  for (const e of out.events) expect(validateInvocation(e)).toEqual([]);
  return 'ok';
}

describe('fuzz: mutated real OTLP bodies never crash or hang the decoders', () => {
  let proto: Uint8Array;
  let json: Uint8Array;

  beforeAll(async () => {
    const spans = await recordSpans(MAPPING_CASES.map((c, i) => ({ attributes: c.resource, spans: [{ ...c.span, startNs: caseStart(i) }] })));
    proto = ProtobufTraceSerializer.serializeRequest(spans)!;
    json = JsonTraceSerializer.serializeRequest(spans)!;
  });

  it('protobuf: 3000 byte-level mutations', () => {
    const rand = rng(0xc0ffee);
    const seen = { error: 0, ok: 0 };
    for (let i = 0; i < 3000; i++) seen[check(() => decodeProtobufTraces(mutateBytes(proto, rand)))]++;
    // Both paths must really have been exercised.
    expect(seen.error).toBeGreaterThan(100);
    expect(seen.ok).toBeGreaterThan(100);
  });

  it('json: 500 byte-level and 1500 structural mutations', () => {
    const rand = rng(42);
    const seen = { error: 0, ok: 0 };
    for (let i = 0; i < 500; i++) seen[check(() => decodeJsonTraces(mutateBytes(json, rand)))]++;
    const tree = JSON.parse(Buffer.from(json).toString('utf8')) as unknown;
    for (let i = 0; i < 1500; i++) {
      const text = JSON.stringify(mutateJson(tree, rand));
      seen[check(() => decodeJsonTraces(text))]++;
    }
    expect(seen.error).toBeGreaterThan(50);
    expect(seen.ok).toBeGreaterThan(1000);
  });

  it('deeply nested JSON is refused or read without recursion trouble', () => {
    const deep = '{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"http.route","value":' + '{"arrayValue":{"values":['.repeat(5000) + ']}}'.repeat(5000) + '}]}]}]}]}';
    expect(check(() => decodeJsonTraces(deep))).toBe('ok');
  });
});
