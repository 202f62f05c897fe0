import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { integration, startRedis, startRedisCluster, type RedisClusterHandle, type RedisHandle } from '@pulsegate/testkit';
import { RedisWindowStore } from '../src/redis-store';
import { keySlot, redisKey } from '../src/keys';
import { windowStoreContract, records } from './store-contract';
import { invocation, traffic } from './builders';
import { rng } from './random';
import { MemoryWindowStore } from '../src/memory-store';
import { COMPACT_BUCKET_BYTES } from '../src/lua';
import { MINUTE_MS } from '../src/keys';

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
    const now = Date.now();
    const minute = Math.floor((now - 5 * MINUTE_MS) / MINUTE_MS) * MINUTE_MS;
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
    // At most the threshold plus one delta (a delta of 15 events is far below 4 KiB).
    expect(longest).toBeLessThan(COMPACT_BUCKET_BYTES + 4_096);
    expect(await client.pttl(key)).toBeGreaterThan(0);
    const series = [{ action: 'listContacts', version: '1.2.0', kind: 'read' as const }];
    const got = await store.getBuckets('acme', 'crm', 'm', series, [minute]);
    const want = await reference.getBuckets('acme', 'crm', 'm', series, [minute]);
    expect(got[0]![0]!.c).toBeGreaterThan(120 * 15);
    expect(got).toEqual(want);
    await client.quit();
    await store.close();
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
    const keys = await client.keys('bytes:pg:w1:*:b:m:*');
    let bytes = 0;
    for (const k of keys) bytes += Number(await client.memory('USAGE', k));
    await client.quit();
    // ~30 events per series-minute here; the bound is stated in the README.
    expect(bytes / keys.length).toBeLessThan(2_048);
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
