import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { integration, startRedis, startRedisCluster, type RedisClusterHandle, type RedisHandle } from '@pulsegate/testkit';
import { RedisWindowStore } from '../src/redis-store';
import { keySlot, redisKey } from '../src/keys';
import { windowStoreContract, records } from './store-contract';
import { invocation, traffic } from './builders';
import { rng } from './random';
import { MemoryWindowStore } from '../src/memory-store';
import { COMPACT_RECORDS_BYTES } from '../src/lua';
import { connectorTag, MINUTE_MS, minuteArchiveKey, seriesField } from '../src/keys';
import { archiveEntries, countRecords, encodeRecord } from '../src/codec';
import { emptyBucket, type BucketData } from '../src/bucket';
import type { Resolution, SeriesId } from '../src/keys';
import type { WindowStore } from '../src/store';

/** readBuckets' grid merged cell by cell into empty buckets, shaped like getBuckets' answer. */
async function viaGrid(store: WindowStore, resolution: Resolution, series: readonly SeriesId[], starts: readonly number[]): Promise<Array<Array<BucketData | null>>> {
  const grid = await store.readBuckets('acme', 'crm', resolution, series, starts);
  return series.map((_, i) =>
    starts.map((__, j) => {
      const acc = emptyBucket();
      return grid.mergeInto(i, j, [acc]) ? acc : null;
    }),
  );
}

const single = integration(['redis']);
let redis: RedisHandle | undefined;

describe.skipIf(single.skip)('RedisWindowStore on one server', () => {
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  windowStoreContract('redis', async ({ config, clock, namespace }) => new RedisWindowStore({ target: { url: redis!.url }, config, clock, keyPrefix: `${namespace}:` }), { persistent: true });

  it('appends deltas to a series-bucket and compacts it past the threshold: bounded bytes, the same bucket as exact merging', async () => {
    // A hot minute (the current one): deltas are appended, and merged once past the threshold.
    const minute = Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS;
    const now = minute + 30_000;
    const store = new RedisWindowStore({ target: { url: redis!.url }, clock: () => now, keyPrefix: 'compact:' });
    const reference = new MemoryWindowStore({ clock: () => now });
    const random = rng(77);
    const statuses = [200, 200, 200, 404, 429, 500, 503];
    const client = new Redis(redis!.url);
    const key = `compact:${redisKey({ type: 'bucket', tenant: 'acme', connector: 'crm', resolution: 'm', start: minute, series: { action: 'listContacts', version: '1.2.0', kind: 'read' } })}`;
    let longest = 0;
    let compactions = 0;
    let previous = 0;
    for (let i = 0; i < 120; i++) {
      // Wide latencies (0.01 ms to ~30 s) so each delta carries many sketch buckets.
      const events = Array.from({ length: 15 }, () =>
        invocation({ eventTime: minute + Math.floor(random() * MINUTE_MS), latencyMs: Math.exp(random() * 15 - 4.6), httpStatus: statuses[Math.floor(random() * statuses.length)]!, sampleWeight: random() < 0.3 ? 2.5 : 1 }),
      );
      const input = { source: 'g|t', partition: 0, firstOffset: String(i), lastOffset: String(i), records: [{ offset: String(i), events }] };
      expect((await store.apply(input)).appliedEvents).toBe(15);
      await reference.apply(input);
      const length = Number(await client.strlen(key));
      if (length < previous) compactions++;
      previous = length;
      longest = Math.max(longest, length);
    }
    expect(compactions).toBeGreaterThan(0);
    // At most the larger of the threshold and the merged record, plus one delta (a delta of 15
    // events is far below 512 bytes).
    const series0 = { action: 'listContacts', version: '1.2.0', kind: 'read' as const };
    const merged = encodeRecord((await reference.getBuckets('acme', 'crm', 'm', [series0], [minute]))[0]![0]!).length;
    expect(longest).toBeLessThan(Math.max(COMPACT_RECORDS_BYTES, merged) + 512);
    expect(await client.pttl(key)).toBeGreaterThan(0);
    const series = [{ action: 'listContacts', version: '1.2.0', kind: 'read' as const }];
    const got = await store.getBuckets('acme', 'crm', 'm', series, [minute]);
    const want = await reference.getBuckets('acme', 'crm', 'm', series, [minute]);
    expect(got[0]![0]!.c).toBeGreaterThan(120 * 15);
    expect(got).toEqual(want);
    await client.quit();
    await store.close();
  });

  it('keeps hot minutes appendable, moves them compacted into the minute archive once settled, and merges late writes into archived minutes', async () => {
    const t0 = Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS - 30 * MINUTE_MS;
    let now = t0 + 20_000;
    const store = new RedisWindowStore({ target: { url: redis!.url }, clock: () => now, keyPrefix: 'settle:' });
    const reference = new MemoryWindowStore({ clock: () => now });
    const client = new Redis(redis!.url);
    const series = { action: 'listContacts', version: '1.2.0', kind: 'read' as const };
    const keyOf = (start: number, resolution: 'm' | 'h' = 'm'): string => `settle:${redisKey({ type: 'bucket', tenant: 'acme', connector: 'crm', resolution, start, series })}`;
    const random = rng(12);
    let offset = 0;
    const write = async (from: number, n: number, alongWith?: number): Promise<void> => {
      const events = Array.from({ length: n }, () => invocation({ eventTime: from + Math.floor(random() * MINUTE_MS), latencyMs: 50 + random() * 500, httpStatus: random() < 0.9 ? 200 : 503 }));
      if (alongWith !== undefined) events.push(invocation({ eventTime: alongWith, latencyMs: 80 }));
      const input = { source: 'g|t', partition: 0, firstOffset: String(offset), lastOffset: String(offset), records: [{ offset: String(offset), events }] };
      offset++;
      expect((await store.apply(input)).appliedEvents).toBe(events.length);
      await reference.apply(input);
    };
    const records = async (key: string): Promise<number> => countRecords((await client.getBuffer(key))!);
    const hour = Math.floor(t0 / 3_600_000) * 3_600_000;
    const archiveKey = `settle:${minuteArchiveKey(connectorTag('acme', 'crm'), hour, seriesField(series))}`;
    const archived = async (): Promise<Array<{ minute: number; records: number }>> =>
      archiveEntries((await client.getBuffer(archiveKey)) ?? Buffer.alloc(0)).map((e) => ({ minute: e.minute, records: countRecords(e.record) }));
    const minuteOfHour = (t0 - hour) / MINUTE_MS;
    // Minute t0, hot: five deltas stay five appended records.
    for (let i = 0; i < 5; i++) await write(t0, 4);
    expect(await records(keyOf(t0))).toBe(5);
    expect(await archived()).toEqual([]);
    // Three minutes later minute t0 has settled: the next write of the series merges it into one
    // record and moves it into the series' minute archive of the hour.
    now = t0 + 3 * MINUTE_MS + 20_000;
    await write(t0 + 3 * MINUTE_MS, 4);
    expect(await client.exists(keyOf(t0))).toBe(0);
    expect(await archived()).toEqual([{ minute: minuteOfHour, records: 1 }]);
    // A late write into the settled (archived) minute, in a batch that also carries the series'
    // current minute, is merged into the minute's archive entry by the same script.
    await write(t0, 3, t0 + 3 * MINUTE_MS + 5_000);
    await write(t0, 2, t0 + 3 * MINUTE_MS + 6_000);
    expect(await client.exists(keyOf(t0))).toBe(0);
    expect(await archived()).toEqual([{ minute: minuteOfHour, records: 1 }]);
    // A batch holding only the late minute (as when a consumer lags behind) is appended to a hot
    // key — no merge per delta while catching up — and archived once the series moves on.
    await write(t0, 2);
    expect(await records(keyOf(t0))).toBe(1);
    await write(t0 + 3 * MINUTE_MS, 1);
    expect(await client.exists(keyOf(t0))).toBe(0);
    expect(await archived()).toEqual([{ minute: minuteOfHour, records: 1 }]);
    expect(await client.pttl(archiveKey)).toBeGreaterThan(0);
    expect(await records(keyOf(t0 + 3 * MINUTE_MS))).toBe(4);
    const starts = [t0, t0 + 3 * MINUTE_MS];
    expect(await store.getBuckets('acme', 'crm', 'm', [series], starts)).toEqual(await reference.getBuckets('acme', 'crm', 'm', [series], starts));
    expect(await store.getBuckets('acme', 'crm', 'h', [series], [hour])).toEqual(await reference.getBuckets('acme', 'crm', 'h', [series], [hour]));
    // The grid readTotals merges (archived minute, hot minute with 4 records, hour) gives the same buckets.
    expect(await viaGrid(store, 'm', [series], starts)).toEqual(await store.getBuckets('acme', 'crm', 'm', [series], starts));
    expect(await viaGrid(store, 'h', [series], [hour])).toEqual(await store.getBuckets('acme', 'crm', 'h', [series], [hour]));
    await client.quit();
    await store.close();
  });

  it('reads buckets of the JSON layout until they expire, and old and new writers in one consumer group count every event once', async () => {
    const minute = Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS;
    const now = minute + 40_000;
    const opts = { target: { url: redis!.url }, clock: () => now, keyPrefix: 'upgrade:' };
    // The old aggregator (layout 1, today's writer and reader) and the new one share the offsets.
    const oldStore = new RedisWindowStore({ ...opts, bucketLayout: 1 });
    const newStore = new RedisWindowStore(opts);
    const reference = new MemoryWindowStore({ clock: () => now });
    const events = traffic(4_000, 31, minute - 20 * MINUTE_MS, now, { connectors: ['crm'] });
    const recs = records(events, 100);
    const batches = Array.from({ length: Math.ceil(recs.length / 4) }, (_, i) => recs.slice(i * 4, i * 4 + 4)).map((rs) => ({ source: 'g|t', partition: 0, firstOffset: rs[0]!.offset, lastOffset: rs[rs.length - 1]!.offset, records: rs }));
    let applied = 0;
    for (const [i, b] of batches.entries()) {
      await reference.apply(b);
      // Batches go to either writer; after a rebalance the other one re-delivers some of them,
      // including a batch overlapping an applied one.
      applied += (await (i % 3 === 0 ? oldStore : newStore).apply(b)).appliedEvents;
      if (i % 4 === 1) expect((await (i % 3 === 0 ? newStore : oldStore).apply(b)).appliedEvents).toBe(0);
      if (i > 0 && i % 5 === 0) {
        const overlap = { ...b, firstOffset: batches[i - 1]!.firstOffset, records: [...batches[i - 1]!.records, ...b.records] };
        expect((await oldStore.apply(overlap)).appliedEvents).toBe(0);
      }
    }
    expect(applied).toBe(events.length);
    const client = new Redis(redis!.url);
    expect((await client.keys('upgrade:pg:w1:*:b:m:*')).length).toBeGreaterThan(0);
    expect((await client.keys('upgrade:pg:w1:*:b2:m:*')).length).toBeGreaterThan(0);
    await client.quit();
    const series = (await reference.listSeries('acme', 'crm')).map(({ action, version, kind }) => ({ action, version, kind }));
    const starts = Array.from({ length: 21 }, (_, i) => minute - 20 * MINUTE_MS + i * MINUTE_MS);
    const got = await newStore.getBuckets('acme', 'crm', 'm', series, starts);
    const want = await reference.getBuckets('acme', 'crm', 'm', series, starts);
    // Equal but for the order of merging the two layouts' parts (weights are integers here, so sums are exact).
    expect(got).toEqual(want);
    const hours = [...new Set(starts.map((s) => Math.floor(s / 3_600_000) * 3_600_000))];
    expect(await newStore.getBuckets('acme', 'crm', 'h', series, hours)).toEqual(await reference.getBuckets('acme', 'crm', 'h', series, hours));
    // The grid readTotals merges, buckets of both layouts included, from either reader.
    for (const store of [newStore, oldStore]) {
      expect(await viaGrid(store, 'm', series, starts)).toEqual(await store.getBuckets('acme', 'crm', 'm', series, starts));
      expect(await viaGrid(store, 'h', series, hours)).toEqual(await store.getBuckets('acme', 'crm', 'h', series, hours));
    }
    await oldStore.close();
    await newStore.close();
  });

  it('dedup: writers sharing a connector reload what the other wrote, and a log restored to an older copy is not trusted from the cache', async () => {
    const minute = Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS;
    const now = minute + 30_000;
    const config = { dedupHorizonMs: 2 * 3_600_000 };
    const a = new RedisWindowStore({ target: { url: redis!.url }, clock: () => now, keyPrefix: 'ddshare:', config });
    const b = new RedisWindowStore({ target: { url: redis!.url }, clock: () => now, keyPrefix: 'ddshare:', config });
    const reference = new MemoryWindowStore({ clock: () => now, config });
    const evs = traffic(900, 41, minute, now, { connectors: ['crm'] });
    // Alternating writers (another partition each time), every batch re-sending part of the one before.
    const batches = [evs.slice(0, 300), evs.slice(200, 500), evs.slice(450, 700), evs.slice(0, 900)];
    let applied = 0;
    let duplicates = 0;
    for (const [i, part] of batches.entries()) {
      const input = { source: 'g|t', partition: i, firstOffset: '0', lastOffset: '0', records: records(part, 1_000) };
      const r = await (i % 2 === 0 ? a : b).apply(input);
      const want = await reference.apply(input);
      expect(r).toMatchObject({ appliedEvents: want.appliedEvents, duplicateEvents: want.duplicateEvents });
      applied += r.appliedEvents;
      duplicates += r.duplicateEvents;
    }
    expect(applied).toBe(900);
    expect(duplicates).toBe(100 + 50 + 700);
    // The log of that minute as a Redis restored from an older copy would hold it: events 900-949
    // applied by `a` after the copy are gone from Redis (with their buckets), still in a's cache.
    const client = new Redis(redis!.url);
    const [log] = await client.keys('ddshare:pg:w1:*:dl:*');
    const older = (await client.getBuffer(log!))!;
    const more = traffic(50, 43, minute, now, { connectors: ['crm'] });
    expect((await a.apply({ source: 'g|t', partition: 9, firstOffset: '0', lastOffset: '0', records: records(more, 100) })).appliedEvents).toBe(50);
    await client.set(log!, older, 'KEEPTTL');
    // Re-delivered after the restore, they count (a cache trusted blindly would call them duplicates).
    expect(await a.apply({ source: 'g|t', partition: 10, firstOffset: '0', lastOffset: '0', records: records(more, 100) })).toMatchObject({ appliedEvents: 50, duplicateEvents: 0 });
    expect(await b.apply({ source: 'g|t', partition: 11, firstOffset: '0', lastOffset: '0', records: records([...more, ...evs.slice(0, 10)], 100) })).toMatchObject({ appliedEvents: 0, duplicateEvents: 60 });
    await client.quit();
    await a.close();
    await b.close();
  });

  it('dedup: a log appended to is rewritten at its exact size once its minute is over, keeping every identity', async () => {
    const minute = Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS - 5 * MINUTE_MS;
    let now = minute + 30_000;
    const store = new RedisWindowStore({ target: { url: redis!.url }, clock: () => now, keyPrefix: 'ddcompact:', config: { dedupHorizonMs: 2 * 3_600_000 } });
    const evs = traffic(2_000, 47, minute, minute + MINUTE_MS, { connectors: ['crm'] });
    for (let i = 0; i < 20; i++) await store.apply({ source: 'g|t', partition: 0, firstOffset: String(i), lastOffset: String(i), records: records(evs.slice(i * 100, i * 100 + 100), 100, i) });
    const client = new Redis(redis!.url);
    const [log] = await client.keys('ddcompact:pg:w1:*:dl:*');
    const length = await client.strlen(log!);
    expect(length).toBe(32 + 2_000 * 24);
    const before = Number(await client.memory('USAGE', log!));
    now = minute + 3 * MINUTE_MS;
    await store.apply({ source: 'g|t', partition: 0, firstOffset: '20', lastOffset: '20', records: records(traffic(10, 48, now - 1_000, now, { connectors: ['crm'] }), 10, 20) });
    const after = Number(await client.memory('USAGE', log!));
    expect(await client.strlen(log!)).toBe(length);
    expect(after).toBeLessThan(before);
    expect(after).toBeLessThan(length * 1.15 + 100);
    expect(await client.pttl(log!)).toBeGreaterThan(0);
    // Every identity still found, by this client and by a fresh one.
    const fresh = new RedisWindowStore({ target: { url: redis!.url }, clock: () => now, keyPrefix: 'ddcompact:', config: { dedupHorizonMs: 2 * 3_600_000 } });
    expect(await fresh.apply({ source: 'g|t', partition: 1, firstOffset: '0', lastOffset: '0', records: records(evs, 2_000) })).toMatchObject({ appliedEvents: 0, duplicateEvents: 2_000 });
    await client.quit();
    await fresh.close();
    await store.close();
  });

  it('refuses writes of a partition checked on an earlier connection than the one they would go to (Redis restarted meanwhile), until it is checked again', async () => {
    // Its own server (AOF, so the restart keeps the data): this one is restarted.
    const own = await startRedis({ appendonly: true });
    const store = new RedisWindowStore({ target: { url: own.url } });
    try {
      const now = Date.now();
      const evs = traffic(60, 5, now - 3 * MINUTE_MS, now - MINUTE_MS, { connectors: ['crm'] });
      const batch = (first: number) => ({ source: 'g|inv', partition: 0, firstOffset: String(first), lastOffset: String(first + 2), records: records(evs.slice(first * 10, first * 10 + 30), 10, first) });
      expect(await store.resumeOffset('g|inv', 0)).toBeUndefined();
      expect((await store.apply(batch(0))).appliedEvents).toBe(30);
      await store.advanceOffset('g|inv', 0, '3');
      await own.restart();
      expect(await store.ping()).toBe(true);
      // Checked before the restart: the new connection's server may have lost writes.
      await expect(store.apply(batch(3))).rejects.toThrow(/connection changed/);
      await expect(store.advanceOffset('g|inv', 0, '6')).rejects.toThrow(/connection changed/);
      expect(await store.resumeOffset('g|inv', 0)).toBe('3');
      expect((await store.apply(batch(3))).appliedEvents).toBe(30);
      await store.advanceOffset('g|inv', 0, '6');
      expect(await store.resumeOffset('g|inv', 0)).toBe('6');
    } finally {
      await store.close();
      await own.stop();
    }
  });

  it('writes a batch of 1 000 series with one script call and bounded bytes per series-minute', async () => {
    const now = Date.now();
    const store = new RedisWindowStore({ target: { url: redis!.url }, clock: () => now, keyPrefix: 'bytes:' });
    const connectors = Array.from({ length: 40 }, (_, i) => `conn-${i}`);
    const events = traffic(20_000, 3, now - 50_000, now - 45_000, { connectors });
    const r = await store.apply({ source: 'g|t', partition: 0, firstOffset: '0', lastOffset: '9', records: records(events, 2_000) });
    expect(r.appliedEvents).toBe(20_000);
    // 40 connectors in one call (plus one connector-index call): far below 0.05 commands per event.
    expect(r.storeCalls).toBe(2);
    const client = new Redis(redis!.url);
    const keys = await client.keys('bytes:pg:w1:*:b2:m:*');
    let bytes = 0;
    for (const k of keys) bytes += Number(await client.memory('USAGE', k));
    await client.quit();
    // ~30 events per series-minute here, one record each; the figures are in the README.
    expect(keys.length).toBeGreaterThan(0);
    expect(bytes / keys.length).toBeLessThan(400);
    await store.close();
  });
});

const clustered = integration(['redis-cluster']);
let cluster: RedisClusterHandle | undefined;

describe.skipIf(clustered.skip)('RedisWindowStore on a 3-master Redis Cluster', () => {
  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3 });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  windowStoreContract('redis-cluster', async ({ config, clock, namespace }) => new RedisWindowStore({ target: { clusterNodes: cluster!.nodes }, config, clock, keyPrefix: `${namespace}:` }), { persistent: true });

  it('computes the same slots as the cluster and keeps a connector in one slot', async () => {
    const client = new Redis(cluster!.nodes[0]!);
    const keys = [
      redisKey({ type: 'bucket', tenant: 'acme', connector: 'crm', resolution: 'm', start: 60_000, series: { action: 'a', version: '1', kind: 'read' } }),
      redisKey({ type: 'offsets', tenant: 'acme', connector: 'crm' }),
      redisKey({ type: 'series', tenant: 'ac{me}', connector: 'c|r:m' }),
      redisKey({ type: 'tenants' }),
      'no-tag-at-all',
    ];
    for (const k of keys) expect(keySlot(k)).toBe(Number(await client.cluster('KEYSLOT', k)));
    expect(keySlot(keys[0]!)).toBe(keySlot(keys[1]!));
    await client.quit();
  });

  it('spreads connectors over several slots and applies each slot group on its own', async () => {
    const now = Date.now();
    const store = new RedisWindowStore({ target: { clusterNodes: cluster!.nodes }, clock: () => now, keyPrefix: 'spread:' });
    const connectors = Array.from({ length: 12 }, (_, i) => `conn-${i}`);
    const events = traffic(3_000, 9, now - 120_000, now, { connectors });
    const recs = records(events, 500);
    const input = { source: 'g|t', partition: 2, firstOffset: recs[0]!.offset, lastOffset: recs[recs.length - 1]!.offset, records: recs };
    const r = await store.apply(input);
    expect(r.appliedEvents).toBe(3_000);
    expect(r.storeCalls).toBeGreaterThan(2);
    expect(await store.apply(input)).toMatchObject({ appliedEvents: 0, replayedEvents: 3_000 });
    await store.close();
  });
});
