import { describe, expect, it } from 'vitest';
import { decodeInvocationBatch, seriesKey, type InvocationEvent } from '@pulsegate/events';
import { batchRecords } from '../src/decode';

function event(i: number, tenant: string, connector: string): InvocationEvent {
  return {
    schemaVersion: 1,
    tenant,
    connector,
    connectorVersion: '1.0.0',
    action: `A${i % 3}`,
    httpMethod: 'GET',
    kind: 'read',
    httpStatus: 200,
    outcome: 'success',
    errorCode: null,
    latencyMs: i + 0.5,
    eventTime: 1_764_000_000_000 + i,
    correlationId: null,
    traceId: i.toString(16).padStart(32, '0').replace(/^0/, 'a'),
    spanId: i.toString(16).padStart(16, '0').replace(/^0/, 'b'),
    sampleWeight: 1,
  };
}

describe('batchRecords', () => {
  it('groups interleaved series by tenant/connector, keeps each series in order and splits at maxPerBatch', () => {
    const series = [
      ['t1', 'c1'],
      ['t1', 'c2'],
      ['t2', 'c1'],
      ['t1', 'c1'],
    ] as const;
    // Runs of 0–4 events per series, interleaved, so the "same as last event" shortcut is exercised both ways.
    const events: InvocationEvent[] = [];
    for (let i = 0; i < 40; i++) {
      const [tenant, connector] = series[(i * 7) % series.length]!;
      for (let k = 0; k < i % 5; k++) events.push(event(events.length, tenant, connector));
    }
    const maxPerBatch = 7;
    const records = batchRecords(events, maxPerBatch);

    // Reference: a plain filter per series, chunked.
    const expected: Array<[string, InvocationEvent[]]> = [];
    for (const key of new Set(events.map((e) => seriesKey(e.tenant, e.connector)))) {
      const all = events.filter((e) => seriesKey(e.tenant, e.connector) === key);
      for (let i = 0; i < all.length; i += maxPerBatch) expected.push([key, all.slice(i, i + maxPerBatch)]);
    }
    expect(records.map((r) => [r.key, decodeInvocationBatch(r.value as Buffer)])).toEqual(expected);
    expect(records.every((r) => decodeInvocationBatch(r.value as Buffer).length <= maxPerBatch)).toBe(true);
  });

  it('produces no records for no events', () => {
    expect(batchRecords([])).toEqual([]);
  });
});
