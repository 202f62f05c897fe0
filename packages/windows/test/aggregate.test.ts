import { describe, expect, it } from 'vitest';
import { decodeInvocationColumns, encodeInvocationBatch, encodeInvocationBatchV1, encodeInvocationBatchV2, type InvocationEvent } from '@pulsegate/events';
import { aggregateBatch, deltaBucket, deltaJson, recordEvents, type BatchRecord, type ConnectorGroup, type DeltaData } from '../src/aggregate';
import { DEFAULT_WINDOW_CONFIG } from '../src/config';
import { HOUR_MS, MINUTE_MS, redisKey, seriesField } from '../src/keys';
import { addToBuckets, type SketchBuckets } from '../src/sketch';
import { addErrorCode, emptyBucket, type BucketData } from '../src/bucket';
import { invocation, traffic } from './builders';
import { rng } from './random';

const cfg = DEFAULT_WINDOW_CONFIG;
const now = Math.floor(Date.now() / HOUR_MS) * HOUR_MS + 20 * MINUTE_MS;

/** A group as plain data (deltas in their stored form), to compare aggregations. */
function view(groups: ReadonlyMap<string, ConnectorGroup>) {
  return Object.fromEntries(
    [...groups].map(([tag, g]) => [
      tag,
      {
        tenant: g.tenant,
        connector: g.connector,
        events: g.events,
        droppedLate: g.droppedLate,
        droppedFuture: g.droppedFuture,
        maxEventTime: g.maxEventTime,
        touchesSettled: g.touchesSettled,
        lastSeen: Object.fromEntries(g.lastSeen),
        deltas: Object.fromEntries([...g.deltas].map(([k, d]) => [k, { key: d.key, resolution: d.resolution, start: d.start, series: d.series, expireAt: d.expireAt, data: deltaBucket(d.data) }])),
      },
    ]),
  );
}

function packed(events: readonly InvocationEvent[], sizes: () => number): Array<{ offset: string; events: readonly InvocationEvent[] }> {
  const out: Array<{ offset: string; events: readonly InvocationEvent[] }> = [];
  for (let i = 0; i < events.length; ) {
    const n = sizes();
    out.push({ offset: String(out.length), events: events.slice(i, i + n) });
    i += n;
  }
  return out;
}

describe('delta forms', () => {
  it('hold, per series-bucket, exactly the counts, error codes and sketch of its events added one by one', () => {
    const events = traffic(3_000, 8, now - 3 * HOUR_MS, now, { connectors: ['crm'], weights: true });
    events.push(invocation({ latencyMs: 0, eventTime: now - MINUTE_MS }), invocation({ latencyMs: 0.0004, eventTime: now - MINUTE_MS, httpStatus: 429 }));
    // Reference: every event added to a plain bucket of its series, minute and hour.
    const want = new Map<string, BucketData>();
    for (const e of events) {
      const field = seriesField({ action: e.action, version: e.connectorVersion, kind: e.kind });
      for (const [res, size] of [['m', MINUTE_MS], ['h', HOUR_MS]] as const) {
        const id = `${res}:${Math.floor(e.eventTime / size) * size}:${field}`;
        const b = want.get(id) ?? want.set(id, emptyBucket()).get(id)!;
        b.c += e.sampleWeight;
        if (e.outcome === 'success') b.s += e.sampleWeight;
        else addErrorCode(b, e.errorCode!, e.sampleWeight);
        if (e.outcome === 'throttled') b.t += e.sampleWeight;
        addToBuckets(b.l as SketchBuckets, e.latencyMs, e.sampleWeight);
      }
    }
    const [g] = [...aggregateBatch([{ offset: '0', events }], now, cfg).values()];
    const got = new Map([...g!.deltas.values()].map((d) => [`${d.resolution}:${d.start}:${seriesField(d.series)}`, deltaBucket(d.data)]));
    expect(got.size).toBe(want.size);
    for (const [id, b] of want) expect(got.get(id), id).toEqual(b);
  });


  it('deltaJson is the JSON of deltaBucket: zero bucket, fractional weights, error codes that need escaping', () => {
    const d: DeltaData = { c: 7.5, s: 2, t: 1.25, e: { RATE_LIMIT: 1.25, UNMAPPED: 3, 'Q"\\\n\u2028': 1 }, l: new Map<number | 'z', number>([[312, 4], ['z', 1.5], [-40, 2], [1_000, 1e-7]]) };
    const text = deltaJson(d);
    expect(JSON.parse(text)).toEqual(deltaBucket(d));
    expect(deltaBucket(d)).toEqual({ c: 7.5, s: 2, t: 1.25, e: { RATE_LIMIT: 1.25, UNMAPPED: 3, 'Q"\\\n\u2028': 1 }, l: { '312': 4, z: 1.5, '-40': 2, '1000': 1e-7 } });
    const empty: DeltaData = { c: 0, s: 0, t: 0, e: {}, l: new Map() };
    expect(JSON.parse(deltaJson(empty))).toEqual({ c: 0, s: 0, t: 0, e: {}, l: {} });
  });

  it('names each delta with the key redisKey() builds, for labels with separators, braces, escapes and non-ASCII', () => {
    const labels = ['plain', 'a|b', 'x:y', '{tag}', '100%', 'ünï 漢字', 'a b/c?d=e&f'];
    const events = labels.flatMap((l, i) => [
      invocation({ tenant: l, connector: labels[(i + 1) % labels.length]!, action: labels[(i + 2) % labels.length]!, connectorVersion: l, eventTime: now - 5 * MINUTE_MS }),
      invocation({ tenant: l, connector: labels[(i + 1) % labels.length]!, action: labels[(i + 2) % labels.length]!, connectorVersion: l, httpMethod: 'POST', eventTime: now - 5 * MINUTE_MS }),
    ]);
    const groups = aggregateBatch([{ offset: '0', events }], now, cfg);
    let checked = 0;
    for (const g of groups.values()) {
      for (const [key, d] of g.deltas) {
        expect(key).toBe(d.key);
        expect(d.key).toBe(redisKey({ type: 'bucket', tenant: g.tenant, connector: g.connector, resolution: d.resolution, start: d.start, series: d.series }));
        checked++;
      }
    }
    expect(checked).toBe(labels.length * 2 * 2); // read and write series, minute and hour each
  });
});

describe('records in columns (decodeInvocationColumns, what the aggregator hands over)', () => {
  const events = traffic(4_000, 21, now - 3 * HOUR_MS, now + 10 * MINUTE_MS, { tenants: ['t1', 't2'], connectors: ['crm', 'billing', 'erp'], weights: true });
  // Late and future ones too (dropped and counted), one older than the minute retention (hour bucket only),
  // and hostile labels.
  events.push(invocation({ eventTime: now - 40 * 86_400_000 }), invocation({ eventTime: now + HOUR_MS }), invocation({ eventTime: now - 49 * HOUR_MS }));
  events.push(invocation({ tenant: '{t|1}', connector: 'a:b%', action: 'ünï 漢字', connectorVersion: '1.0.0|x', eventTime: now - MINUTE_MS, httpStatus: 503 }));

  it('aggregate a batch exactly like its event objects, in any mix of the two forms', () => {
    const r = rng(5);
    for (let trial = 0; trial < 12; trial++) {
      // Records of 1 – 300 events, mixing tenants and connectors (the aggregator sees one per record mostly).
      const recs = packed(events, () => 1 + Math.floor(r() * 300));
      const want = view(aggregateBatch(recs, now, cfg));
      const mixed = recs.map((rec): BatchRecord => (r() < (trial % 3) / 2 ? { offset: rec.offset, columns: decodeInvocationColumns(encodeInvocationBatch(rec.events)) } : rec));
      expect(view(aggregateBatch(mixed, now, cfg))).toEqual(want);
      expect(mixed.reduce((n, rec) => n + recordEvents(rec), 0)).toBe(events.length);
      // A partly replayed batch aggregates a tail of its records: the same as those events alone.
      const tail = Math.floor(r() * mixed.length);
      expect(view(aggregateBatch(mixed.slice(tail), now, cfg))).toEqual(view(aggregateBatch(recs.slice(tail), now, cfg)));
    }
  });

  it('aggregate records decoded from v1 and v2 messages (columns rebuilt from events) the same way', () => {
    const recs = packed(events, () => 250);
    const want = view(aggregateBatch(recs, now, cfg));
    for (const encode of [encodeInvocationBatchV1, encodeInvocationBatchV2]) {
      const cols = recs.map((rec): BatchRecord => ({ offset: rec.offset, columns: decodeInvocationColumns(encode(rec.events)) }));
      expect(view(aggregateBatch(cols, now, cfg))).toEqual(want);
    }
  });
});
