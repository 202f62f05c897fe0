import { describe, expect, it } from 'vitest';
import { BatchDecodeError, decodeInvocationBatch, encodeInvocationBatch, MAX_EVENTS_PER_BATCH, seriesKey } from '../src/index';
import { anEvent } from './builders';

describe('invocation batch codec', () => {
  it('round-trips events in order', () => {
    const events = [anEvent(), anEvent({ spanId: 'b7ad6b7169203332', latencyMs: 3 }), anEvent({ outcome: 'throttled', httpStatus: 429, errorCode: 'RATE_LIMIT' })];
    expect(decodeInvocationBatch(encodeInvocationBatch(events))).toEqual(events);
  });

  it.each<[string, Buffer | string, RegExp]>([
    ['undecodable bytes', Buffer.from([0xff, 0xfe, 0x00]), /undecodable/],
    ['truncated JSON', encodeInvocationBatch([anEvent()]).subarray(0, 30), /undecodable/],
    ['a JSON scalar', '42', /object/],
    ['another format', JSON.stringify({ format: 'other', v: 1, events: [] }), /unknown batch format/],
    ['another version', JSON.stringify({ format: 'pulsegate.invocation-batch', v: 2, events: [] }), /unsupported batch version/],
    ['events not an array', JSON.stringify({ format: 'pulsegate.invocation-batch', v: 1, events: {} }), /array/],
    ['an invalid event', JSON.stringify({ format: 'pulsegate.invocation-batch', v: 1, events: [anEvent(), { ...anEvent(), latencyMs: -5 }] }), /event 1: latencyMs/],
    ['too many events', JSON.stringify({ format: 'pulsegate.invocation-batch', v: 1, events: new Array(MAX_EVENTS_PER_BATCH + 1).fill(0) }), /at most/],
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
