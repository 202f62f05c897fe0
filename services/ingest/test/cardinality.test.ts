import { describe, expect, it } from 'vitest';
import type { InvocationEvent } from '@pulsegate/events';
import { seededRandom } from '@pulsegate/random';
import { CardinalityGuard } from '../src/cardinality';
import { labelsOf } from '../src/decode';

const LIMITS = { maxConnectors: 3, maxActions: 4, maxVersions: 2, maxSeriesPerConnector: 5, maxSeriesPerTenant: 12 };

function events(seed: number, n: number): InvocationEvent[] {
  const random = seededRandom(seed);
  const pick = (k: number, prefix: string): string => `${prefix}${Math.floor(random() * k)}`;
  return Array.from({ length: n }, (_, i) => ({
    schemaVersion: 1,
    tenant: random() < 0.8 ? 't1' : 't2',
    connector: pick(5, 'c'),
    connectorVersion: pick(4, '1.'),
    action: pick(7, 'a'),
    httpMethod: 'GET',
    kind: 'read',
    httpStatus: 200,
    outcome: 'success',
    errorCode: null,
    latencyMs: 1,
    eventTime: 1_700_000_000_000 + i,
    correlationId: null,
    traceId: '0'.repeat(31) + '1',
    spanId: (i + 1).toString(16).padStart(16, '0'),
    sampleWeight: 1,
  }));
}

describe('CardinalityGuard: checking a request by its distinct labels equals applying every event', () => {
  it.each([1, 2, 3, 4, 5])('seed %i: same folds, same counts, over several requests', (seed) => {
    const perEvent = new CardinalityGuard(LIMITS);
    const byLabels = new CardinalityGuard(LIMITS);
    const random = seededRandom(seed * 977);
    let foldedEvents = 0;
    for (let request = 0; request < 12; request++) {
      const batch = events(seed * 100 + request, 1 + Math.floor(random() * 60));
      // One request has one tenant (the caller's key).
      const tenant = batch[0]!.tenant;
      for (const e of batch) e.tenant = tenant;
      const want = { connector: 0, action: 0, version: 0, series: 0 };
      const folded = batch.map((e) => {
        const copy = { ...e };
        const f = perEvent.apply(copy);
        if (f.connector) want.connector++;
        if (f.action) want.action++;
        if (f.version) want.version++;
        if (f.series) want.series++;
        return copy;
      });
      const got = { connector: 0, action: 0, version: 0, series: 0 };
      const labels = labelsOf(batch);
      expect(labels.reduce((n, l) => n + l.events, 0)).toBe(batch.length);
      for (const l of labels) {
        const f = byLabels.check(tenant, l.connector, l.action, l.version);
        if (f.connector) got.connector += l.events;
        if (f.action) got.action += l.events;
        if (f.version) got.version += l.events;
        if (f.series) got.series += l.events;
      }
      expect(got).toEqual(want);
      foldedEvents += want.connector + want.action + want.version + want.series;
      // Applying the events afterwards (the slow path) rewrites them exactly as per-event folding did.
      const rewritten = batch.map((e) => {
        const copy = { ...e };
        byLabels.apply(copy);
        return copy;
      });
      expect(rewritten).toEqual(folded);
    }
    // The caps are small enough that every seed folds some labels of each kind.
    expect(foldedEvents).toBeGreaterThan(0);
  });
});

describe('CardinalityGuard: series (action × version) caps', () => {
  it('keeps the first pairs per connector and per tenant, folds later new pairs into one overflow series, and keeps answering kept pairs', () => {
    const guard = new CardinalityGuard({ maxConnectors: 10, maxActions: 200, maxVersions: 50, maxSeriesPerConnector: 100, maxSeriesPerTenant: 250 });
    const series = new Set<string>();
    const folded = new Map<string, number>();
    for (const connector of ['c1', 'c2', 'c3']) {
      for (let a = 0; a < 20; a++) {
        for (let v = 0; v < 20; v++) {
          const e = { ...events(1, 1)[0]!, tenant: 't', connector, action: `a${a}`, connectorVersion: `${v}.0.0` };
          const f = guard.apply(e);
          expect(f.action || f.version || f.connector).toBe(false);
          if (f.series) folded.set(connector, (folded.get(connector) ?? 0) + 1);
          series.add(`${e.connector}|${e.action}|${e.connectorVersion}`);
        }
      }
    }
    // Exact: c1 and c2 keep 100 pairs each, c3 the 50 left of the tenant's 250; each has one overflow series.
    expect(series.size).toBe(100 + 1 + 100 + 1 + 50 + 1);
    expect(Object.fromEntries(folded)).toEqual({ c1: 300, c2: 300, c3: 350 });
    expect(series.has('c3|__overflow__|__overflow__')).toBe(true);
    // A kept pair stays kept; another tenant has its own budget.
    expect(guard.check('t', 'c1', 'a0', '0.0.0').series).toBe(false);
    expect(guard.check('t', 'c1', 'a19', '19.0.0').series).toBe(true);
    expect(guard.check('u', 'c1', 'a19', '19.0.0').series).toBe(false);
  });
});
