import { describe, expect, it } from 'vitest';
import {
  BatchDecodeError,
  decodeInvocationBatch,
  encodeInvocationBatch,
  encodeInvocationBatchV1,
  INVOCATION_BATCH_FIELDS,
  INVOCATION_BATCH_FORMAT,
  MAX_EVENTS_PER_BATCH,
  seriesKey,
  type InvocationEvent,
} from '../src/index';
import { anEvent } from './builders';

const format = INVOCATION_BATCH_FORMAT;
const row = (e: InvocationEvent): unknown[] => INVOCATION_BATCH_FIELDS.map((f) => e[f as keyof InvocationEvent]);

// Every C0 control, both quote characters, backslash, lone and paired surrogates, line/paragraph
// separators, non-ASCII letters and a 4-byte UTF-8 character.
const HOSTILE = [
  Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)).join(''),
  'say "hi" \\ o/ \' `',
  '\ud800 lone high',
  'lone low \udfff',
  'reversed \udc00\ud800 pair',
  'paired 😀 emoji',
  'line\u2028para\u2029 del\u007f',
  'Grüße, 東京, עברית',
  '</script><!--',
];

describe('invocation batch codec', () => {
  const events = [anEvent(), anEvent({ spanId: 'b7ad6b7169203332', latencyMs: 3 }), anEvent({ outcome: 'throttled', httpStatus: 429, errorCode: 'RATE_LIMIT', correlationId: null })];

  it('round-trips events in order (v2, what producers write)', () => {
    const value = encodeInvocationBatch(events);
    expect(JSON.parse(value.toString())).toEqual({ format, v: 2, fields: [...INVOCATION_BATCH_FIELDS], rows: events.map(row) });
    const decoded = decodeInvocationBatch(value);
    expect(decoded).toEqual(events);
    // Same key order as the producer's objects, so re-serialising a decoded event is unchanged.
    expect(decoded.map((e) => JSON.stringify(e))).toEqual(events.map((e) => JSON.stringify(e)));
  });

  it('still decodes v1 messages to the same events', () => {
    const v1 = encodeInvocationBatchV1(events);
    expect(JSON.parse(v1.toString())).toEqual({ format, v: 1, events });
    expect(decodeInvocationBatch(v1)).toEqual(decodeInvocationBatch(encodeInvocationBatch(events)));
    expect(decodeInvocationBatch(v1.toString('utf8'))).toEqual(events);
  });

  it('writes v2 in about half the bytes of v1 (field names are not repeated)', () => {
    const many = Array.from({ length: 500 }, (_, i) => anEvent({ spanId: i.toString(16).padStart(16, '0'), latencyMs: i / 7 }));
    expect(encodeInvocationBatch(many).length).toBeLessThan(encodeInvocationBatchV1(many).length * 0.55);
  });

  it.each(HOSTILE)('round-trips the hostile string %j exactly in every string field', (text) => {
    const e = anEvent({ tenant: text, connector: `c${text}`, connectorVersion: `${text}v`, action: text, httpMethod: text, correlationId: text });
    const value = encodeInvocationBatch([e]);
    // The message is valid UTF-8 JSON whose row holds the values JSON.stringify would write.
    expect(Buffer.from(value.toString('utf8'), 'utf8').equals(value)).toBe(true);
    expect(value.toString('utf8')).toContain(JSON.stringify(row(e)));
    const [back] = decodeInvocationBatch(value);
    expect(back).toEqual(e);
    expect(back!.action === text && back!.correlationId === text).toBe(true);
  });

  it('writes non-finite numbers as null so the consumer rejects them rather than guessing', () => {
    for (const latencyMs of [NaN, Infinity, -Infinity]) {
      expect(() => decodeInvocationBatch(encodeInvocationBatch([anEvent({ latencyMs })]))).toThrow(/event 0: latencyMs must be a finite number/);
    }
  });

  it('writes -0 and exponent-form numbers exactly as JSON.stringify does', () => {
    const e = anEvent({ latencyMs: -0, eventTime: 8.64e15, sampleWeight: 1e-7 });
    expect(encodeInvocationBatch([e]).toString()).toContain(JSON.stringify(row(e)));
    expect(decodeInvocationBatch(encodeInvocationBatch([e]))[0]).toEqual({ ...e, latencyMs: 0 });
  });

  const v2 = (rows: unknown, extra: Record<string, unknown> = {}): string => JSON.stringify({ format, v: 2, fields: INVOCATION_BATCH_FIELDS, rows, ...extra });
  it.each<[string, Buffer | string, RegExp]>([
    ['undecodable bytes', Buffer.from([0xff, 0xfe, 0x00]), /undecodable/],
    ['truncated JSON', encodeInvocationBatch([anEvent()]).subarray(0, 30), /undecodable/],
    ['a JSON scalar', '42', /object/],
    ['another format', JSON.stringify({ format: 'other', v: 1, events: [] }), /unknown batch format/],
    ['another version', JSON.stringify({ format, v: 3, events: [] }), /unsupported batch version 3/],
    ['no version', JSON.stringify({ format, events: [] }), /unsupported batch version undefined/],
    ['v1 events not an array', JSON.stringify({ format, v: 1, events: {} }), /array/],
    ['a v1 invalid event', JSON.stringify({ format, v: 1, events: [anEvent(), { ...anEvent(), latencyMs: -5 }] }), /event 1: latencyMs/],
    ['too many v1 events', JSON.stringify({ format, v: 1, events: new Array(MAX_EVENTS_PER_BATCH + 1).fill(0) }), /at most/],
    ['v2 without fields', JSON.stringify({ format, v: 2, rows: [] }), /batch\.fields must be/],
    ['v2 with reordered fields', v2([], { fields: [...INVOCATION_BATCH_FIELDS].reverse() }), /batch\.fields must be/],
    ['v2 rows not an array', v2({}), /batch\.rows must be an array/],
    ['a v2 row that is an object', v2([row(anEvent()), anEvent()]), /event 1: must be an array of 16 values/],
    ['a short v2 row', v2([row(anEvent()).slice(0, 15)]), /event 0: must be an array of 16 values/],
    ['a long v2 row', v2([[...row(anEvent()), 'extra']]), /event 0: must be an array of 16 values/],
    ['a v2 invalid event', v2([row(anEvent()), row(anEvent({ traceId: 'XYZ' }))]), /event 1: traceId/],
    ['a v2 event of another schema version', encodeInvocationBatch([anEvent({ schemaVersion: 99 as 1 })]), /event 0: schemaVersion unsupported/],
    ['too many v2 rows', v2(new Array(MAX_EVENTS_PER_BATCH + 1).fill(0)), /at most/],
  ])('refuses %s with a non-retriable error', (_name, value, message) => {
    let caught: unknown;
    try {
      decodeInvocationBatch(value);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(BatchDecodeError);
    expect((caught as BatchDecodeError).retriable).toBe(false);
    expect((caught as Error).message).toMatch(message);
  });

  it('keys a series by tenant and connector with a separator that cannot be confused', () => {
    expect(seriesKey('a', 'b/c')).not.toBe(seriesKey('a/b', 'c'));
  });
});
