import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { integration, startRedis, type RedisHandle } from '@pulsegate/testkit';
import type { BatchRecord } from '../src/aggregate';
import { DEFAULT_WINDOW_CONFIG } from '../src/config';
import { DAY_MS, SettledDayCache } from '../src/day-cache';
import { HOUR_MS, MINUTE_MS } from '../src/keys';
import { MemoryWindowStore } from '../src/memory-store';
import { mergeAll, planRange, readRanges } from '../src/reader';
import { RedisWindowStore } from '../src/redis-store';
import type { WindowStore } from '../src/store';
import { bucketReads, readTotals } from '../src/totals';
import { invocation, traffic } from './builders';
import { records } from './store-contract';

const NOW = Math.floor(Date.now() / HOUR_MS) * HOUR_MS + 37 * MINUTE_MS + 12_000;
const cfg = DEFAULT_WINDOW_CONFIG;

function batch(recs: BatchRecord[]) {
  return { source: 'src', partition: 0, firstOffset: recs[0]!.offset, lastOffset: recs[recs.length - 1]!.offset, records: recs };
}

/** The ranges of a 30-day metrics query, a 24h/1h and a 2h/1m timeseries, as the aggregator plans them. */
function plansAt(now: number) {
  const to = Math.floor(now / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
  const steps = (span: number, step: number) => Array.from({ length: span / step }, (_, i) => planRange(to - span + i * step, to - span + (i + 1) * step, now, cfg));
  return [planRange(to - 30 * DAY_MS, to, now, cfg), planRange(to - 7 * DAY_MS - 5 * HOUR_MS, to - DAY_MS, now, cfg), ...steps(DAY_MS, HOUR_MS), ...steps(2 * HOUR_MS, MINUTE_MS)];
}

function totalsSuite(name: string, make: (ns: string) => Promise<WindowStore>): void {
  describe(`readTotals on the ${name} store`, () => {
    it('equals merging every series bucket by bucket (readRanges), in small chunks, with and without the set cache, and a late write invalidates cached days', async () => {
      const store = await make('totals');
      const evs = [...traffic(3_000, 5, NOW - 31 * DAY_MS, NOW - 3 * HOUR_MS, { connectors: ['crm'] }), ...traffic(1_500, 6, NOW - 3 * HOUR_MS, NOW, { connectors: ['crm'] })];
      await store.apply(batch(records(evs, 500)));
      const series = await store.listSeries('acme', 'crm');
      expect(series.length).toBeGreaterThan(10);
      const plans = plansAt(NOW);
      const expected = async () => (await readRanges(store, 'acme', 'crm', series, plans)).map((perSeries) => mergeAll(perSeries));
      const plain = await expected();
      expect(plain[0]!.c).toBe(evs.filter((e) => e.eventTime >= plans[0]!.from && e.eventTime < plans[0]!.to).length);
      const cache = new SettledDayCache();
      const opts = { now: NOW, cfg, chunkBuckets: 300 };
      expect(await readTotals(store, 'acme', 'crm', series, plans, { ...opts, cache: null })).toEqual(plain);
      expect(await readTotals(store, 'acme', 'crm', series, plans, { ...opts, cache })).toEqual(plain); // fills the cache
      expect(cache.size).toBeGreaterThan(28);
      expect(await readTotals(store, 'acme', 'crm', series, plans, { ...opts, cache })).toEqual(plain); // served from it
      // A subset of the series is another set: its own entries, its own totals.
      const some = series.filter((s) => s.kind === 'read');
      const want = (await readRanges(store, 'acme', 'crm', some, plans)).map((perSeries) => mergeAll(perSeries));
      expect(await readTotals(store, 'acme', 'crm', some, plans, { ...opts, cache })).toEqual(want);
      // A late event twenty days back bumps the generation: cached days are read again.
      const s0 = series[0]!;
      const late = invocation({ action: s0.action, connectorVersion: s0.version, httpMethod: s0.kind === 'read' ? 'GET' : 'POST', eventTime: NOW - 20 * DAY_MS, httpStatus: 503 });
      await store.apply(batch(records([late], 1, 50)));
      const after = await expected();
      expect(after[0]!.c).toBe(plain[0]!.c + 1);
      expect(await readTotals(store, 'acme', 'crm', series, plans, { ...opts, cache })).toEqual(after);
      await store.close();
    });

    it('skips buckets after a series was last seen, without changing the answer', async () => {
      const store = await make('prune');
      const evs = traffic(800, 9, NOW - 2 * DAY_MS, NOW - 20 * HOUR_MS, { connectors: ['crm'] });
      await store.apply(batch(records(evs, 400)));
      const series = await store.listSeries('acme', 'crm');
      let reads = 0;
      const counting = new Proxy(store, {
        get(target, prop, receiver) {
          if (prop === 'getBuckets') {
            return (...args: Parameters<WindowStore['getBuckets']>) => {
              reads += args[3].length * args[4].length;
              return target.getBuckets(...args);
            };
          }
          if (prop === 'readBuckets') {
            return (...args: Parameters<WindowStore['readBuckets']>) => {
              reads += args[3].length * args[4].length;
              return target.readBuckets(...args);
            };
          }
          return Reflect.get(target, prop, receiver) as unknown;
        },
      });
      const plans = plansAt(NOW);
      const want = (await readRanges(store, 'acme', 'crm', series, plans)).map((perSeries) => mergeAll(perSeries));
      expect(await readTotals(counting, 'acme', 'crm', series, plans, { now: NOW, cfg })).toEqual(want);
      // Nothing after the newest lastSeen (≈ 20 h ago) is read: the 2h/1m points and recent hours cost nothing.
      expect(reads).toBeGreaterThan(0);
      expect(reads).toBeLessThan(bucketReads(series.length, plans) / 2);
      await store.close();
    });
  });
}

totalsSuite('memory', async () => new MemoryWindowStore({ clock: () => NOW }));

const needs = integration(['redis']);
let redis: RedisHandle | undefined;
describe.skipIf(needs.skip)('with Redis', () => {
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  totalsSuite('redis', async (ns) => new RedisWindowStore({ target: { url: redis!.url }, clock: () => NOW, keyPrefix: `${ns}:` }));
});
