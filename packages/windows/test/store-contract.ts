import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeInvocationColumns, encodeInvocationBatch, type InvocationEvent } from '@pulsegate/events';
import type { BatchRecord } from '../src/aggregate';
import { MAX_ERROR_CODES_PER_BUCKET, OVERFLOW_CODE } from '../src/bucket';
import { DEFAULT_WINDOW_CONFIG, type WindowConfig } from '../src/config';
import { DAY_MS, SettledDayCache } from '../src/day-cache';
import { HOUR_MS, MINUTE_MS } from '../src/keys';
import { matches, mergeAll, metricsOf, planRange, readRanges, type SeriesFilter } from '../src/reader';
import { SKETCH_RELATIVE_ACCURACY } from '../src/sketch';
import type { WindowStore } from '../src/store';
import { invocation, traffic } from './builders';
import { exactQuantile } from './random';

/** Makes a fresh, empty store; `clock` is the store's clock. */
export type StoreFactory = (opts: { config?: Partial<WindowConfig>; clock?: () => number; namespace: string }) => Promise<WindowStore>;

/** Packs events into records of `perRecord` events with consecutive offsets from `firstOffset`. */
export function records(events: readonly InvocationEvent[], perRecord: number, firstOffset = 0): BatchRecord[] {
  const out: BatchRecord[] = [];
  for (let i = 0; i < events.length; i += perRecord) out.push({ offset: String(firstOffset + out.length), events: events.slice(i, i + perRecord) });
  return out;
}

/** A record as the aggregator hands it over: its events encoded as on the topic and decoded into columns. */
function inColumns(r: BatchRecord): BatchRecord {
  return 'events' in r ? { offset: r.offset, columns: decodeInvocationColumns(encodeInvocationBatch(r.events)) } : r;
}

function batch(source: string, partition: number, recs: BatchRecord[]) {
  return { source, partition, firstOffset: recs[0]!.offset, lastOffset: recs[recs.length - 1]!.offset, records: recs };
}

/** Exact reference of the metrics the store must reproduce, straight from the events. */
function reference(events: readonly InvocationEvent[], tenant: string, connector: string, f: SeriesFilter, from: number, to: number) {
  const sel = events.filter((e) => e.tenant === tenant && e.connector === connector && e.eventTime >= from && e.eventTime < to && matches({ action: e.action, version: e.connectorVersion, kind: e.kind }, f));
  const calls = sel.reduce((s, e) => s + e.sampleWeight, 0);
  const successes = sel.filter((e) => e.outcome === 'success').reduce((s, e) => s + e.sampleWeight, 0);
  const throttled = sel.filter((e) => e.outcome === 'throttled').reduce((s, e) => s + e.sampleWeight, 0);
  const errorCodes: Record<string, number> = {};
  for (const e of sel) if (e.outcome !== 'success') errorCodes[e.errorCode!] = (errorCodes[e.errorCode!] ?? 0) + e.sampleWeight;
  const lat = sel.map((e) => ({ v: e.latencyMs, w: e.sampleWeight }));
  return { calls, successes, throttled, errorCodes, p50: exactQuantile(lat, 0.5), p95: exactQuantile(lat, 0.95), p99: exactQuantile(lat, 0.99) };
}

function expectClose(got: number | null, want: number | null, what: string): void {
  if (want === null) return void expect(got, what).toBeNull();
  expect(got, what).not.toBeNull();
  expect(Math.abs(got! - want) / want, `${what}: got ${got} want ${want}`).toBeLessThanOrEqual(SKETCH_RELATIVE_ACCURACY);
}

/** The window-store contract: every implementation must pass it. */
export function windowStoreContract(name: string, factory: StoreFactory, opts: { skip?: boolean; /** the store keeps its data across a new instance on the same namespace (Redis) */ persistent?: boolean } = {}): void {
  describe.skipIf(opts.skip ?? false)(`WindowStore contract: ${name}`, () => {
    let n = 0;
    const stores: WindowStore[] = [];
    const make = async (o: { config?: Partial<WindowConfig>; clock?: () => number; namespace?: string } = {}): Promise<WindowStore> => {
      const s = await factory({ ...o, namespace: o.namespace ?? `${name}-${process.pid}-${n++}-${Date.now()}` });
      stores.push(s);
      return s;
    };
    afterAll(async () => {
      await Promise.all(stores.map((s) => s.close()));
    });

    // Fixed "now" well inside a minute so that plans are deterministic.
    const now = Math.floor(Date.now() / HOUR_MS) * HOUR_MS + 30 * MINUTE_MS + 30_000;
    const events = traffic(6_000, 11, now - 3 * HOUR_MS, now, { tenants: ['t1', 't2'], weights: true });
    let store: WindowStore;

    beforeAll(async () => {
      store = await make({ clock: () => now });
      // Three partitions, records of up to 100 events, as the bus hands them over: partition 0 as
      // event objects, partition 1 in columns (what the aggregator hands over), partition 2 mixed.
      const byPartition = [0, 1, 2].map((p) => events.filter((_, i) => i % 3 === p));
      for (const [p, evs] of byPartition.entries()) {
        const recs = records(evs, 100).map((r, i) => (p === 1 || (p === 2 && i % 2 === 0) ? inColumns(r) : r));
        for (let i = 0; i < recs.length; i += 7) await store.apply(batch('g|invocations', p, recs.slice(i, i + 7)));
      }
    });

    const cases: Array<{ name: string; tenant: string; connector: string; filter: SeriesFilter; from: number; to: number }> = [
      { name: 'last 5 minutes, whole connector', tenant: 't1', connector: 'crm', filter: {}, from: now - 5 * MINUTE_MS, to: now },
      { name: 'last hour, reads', tenant: 't1', connector: 'crm', filter: { kind: 'read' }, from: now - HOUR_MS, to: now },
      { name: 'last 3 hours, one action and version', tenant: 't2', connector: 'billing', filter: { action: 'createContact', version: '1.2.0' }, from: now - 3 * HOUR_MS, to: now },
      { name: 'odd range across hour edges, writes', tenant: 't2', connector: 'crm', filter: { kind: 'write' }, from: now - 2 * HOUR_MS - 17 * MINUTE_MS, to: now - 13 * MINUTE_MS },
    ];
    for (const c of cases) {
      it(`matches the exact reference: ${c.name}`, async () => {
        const series = (await store.listSeries(c.tenant, c.connector)).filter((s) => matches(s, c.filter));
        expect(series.length).toBeGreaterThan(0);
        const plan = planRange(c.from, c.to, now, DEFAULT_WINDOW_CONFIG);
        const [merged] = await readRanges(store, c.tenant, c.connector, series, [plan]);
        const m = metricsOf(mergeAll(merged!), c.name, plan.from, plan.to);
        const ref = reference(events, c.tenant, c.connector, c.filter, plan.from, plan.to);
        expect(ref.calls).toBeGreaterThan(0);
        expect(m.calls).toBe(ref.calls);
        expect(m.successes).toBe(ref.successes);
        expect(m.throttled).toBe(ref.throttled);
        expect(m.errorCodes).toEqual(ref.errorCodes);
        expect(m.successRate).toBe(ref.successes / ref.calls);
        expectClose(m.latencyMs.p50, ref.p50, 'p50');
        expectClose(m.latencyMs.p95, ref.p95, 'p95');
        expectClose(m.latencyMs.p99, ref.p99, 'p99');
      });
    }

    it('lists series with their last event time, connectors and tenants, isolated per tenant', async () => {
      const t1crm = events.filter((e) => e.tenant === 't1' && e.connector === 'crm');
      const series = await store.listSeries('t1', 'crm');
      const want = new Map<string, number>();
      for (const e of t1crm) {
        const k = `${e.action}|${e.connectorVersion}|${e.kind}`;
        want.set(k, Math.max(want.get(k) ?? 0, e.eventTime));
      }
      expect(new Map(series.map((s) => [`${s.action}|${s.version}|${s.kind}`, s.lastSeen]))).toEqual(want);
      expect((await store.listTenants()).sort()).toEqual(['t1', 't2']);
      const conns = await store.listConnectors('t1');
      expect(conns.map((c) => c.connector).sort()).toEqual(['billing', 'crm']);
      const last = Math.max(...t1crm.map((e) => e.eventTime));
      expect(conns.find((c) => c.connector === 'crm')!.lastSeen).toBe(Math.floor(last / MINUTE_MS) * MINUTE_MS);
      expect(await store.listSeries('t3', 'crm')).toEqual([]);
      expect(await store.listConnectors('t3')).toEqual([]);
    });

    it('lists every series of a connector with more series than one listing step (2 500), each once', async () => {
      const s = await make({ clock: () => now });
      const many = Array.from({ length: 2_500 }, (_, i) => invocation({ tenant: 'wide', connector: 'crm', action: `a${i}`, connectorVersion: `${i % 3}.0.0`, eventTime: now - 60_000 - (i % 50) * 1_000 }));
      await s.apply({ source: 'wide', partition: 0, firstOffset: '0', lastOffset: '0', records: [{ offset: '0', events: many }] });
      const series = await s.listSeries('wide', 'crm');
      expect(series).toHaveLength(2_500);
      expect(new Map(series.map((x) => [`${x.action}|${x.version}|${x.kind}`, x.lastSeen]))).toEqual(new Map(many.map((e) => [`${e.action}|${e.connectorVersion}|${e.kind}`, e.eventTime])));
    });

    for (const form of ['event objects', 'columns'] as const) it(`skips a replayed batch and applies only the new part of an overlapping one (${form})`, async () => {
      const s = await make({ clock: () => now });
      const evs = traffic(1_000, 5, now - 10 * MINUTE_MS, now, { connectors: ['crm'] });
      const recs = records(evs, 50).map((r) => (form === 'event objects' ? r : inColumns(r)));
      const first = await s.apply(batch('g|inv', 0, recs.slice(0, 10)));
      expect(first.appliedEvents).toBe(500);
      const again = await s.apply(batch('g|inv', 0, recs.slice(0, 10)));
      expect(again).toMatchObject({ appliedEvents: 0, replayedEvents: 500 });
      const overlap = await s.apply(batch('g|inv', 0, recs.slice(4, 20)));
      expect(overlap).toMatchObject({ appliedEvents: 500, replayedEvents: 300 });
      // Another partition has its own offsets (other spans: the same ones would be duplicates).
      const other = await s.apply(batch('g|inv', 1, records(traffic(50, 6, now - 10 * MINUTE_MS, now, { connectors: ['crm'] }), 50)));
      expect(other.appliedEvents).toBe(50);
      const series = await s.listSeries('acme', 'crm');
      const plan = planRange(now - 20 * MINUTE_MS, now, now, DEFAULT_WINDOW_CONFIG);
      const [merged] = await readRanges(s, 'acme', 'crm', series, [plan]);
      const calls = merged!.reduce((a, b) => a + b.c, 0);
      expect(calls).toBe(1_000 + 50);
    });

    it('counts a span once: duplicates within one batch, across batches, re-batched, and replayed through another partition', async () => {
      // A horizon of 2 h keeps the identity sets alive past the fixed `now` by the real clock too
      // (Redis expires by its own clock).
      const config = { dedupHorizonMs: 2 * HOUR_MS };
      const s = await make({ clock: () => now, config });
      const evs = traffic(600, 31, now - 20 * MINUTE_MS, now, { connectors: ['crm', 'billing'], weights: true });
      // Batch 1: events 0-399 plus a retry of 0-49 inside the same batch (another record).
      const b1 = [...records(evs.slice(0, 400), 100, 0), { offset: '4', events: evs.slice(0, 50) }];
      const r1 = await s.apply(batch('g|inv', 0, b1));
      expect(r1).toMatchObject({ appliedEvents: 400, duplicateEvents: 50, eventsWithoutIds: 0 });
      // Batch 2: events 300-599 re-batched (records of 37, columns), so 300-399 are retries.
      const r2 = await s.apply(batch('g|inv', 0, records(evs.slice(300), 37, 5).map(inColumns)));
      expect(r2).toMatchObject({ appliedEvents: 200, duplicateEvents: 100 });
      // Partition 2 (new offsets) carries everything again, shuffled: all duplicates.
      const shuffled = [...evs].sort((a, b) => (a.spanId < b.spanId ? 1 : -1));
      const r3 = await s.apply(batch('g|inv', 2, records(shuffled, 64, 0)));
      expect(r3).toMatchObject({ appliedEvents: 0, duplicateEvents: 600 });
      expect(r1.byTenant.get('acme')).toEqual({ duplicates: 50, withoutIds: 0 });
      // A replay of batch 2's offsets is a replay (offsets), not a duplicate.
      expect(await s.apply(batch('g|inv', 0, records(evs.slice(300), 37, 5)))).toMatchObject({ appliedEvents: 0, replayedEvents: 300, duplicateEvents: 0 });
      for (const connector of ['crm', 'billing']) {
        const series = await s.listSeries('acme', connector);
        const plan = planRange(now - 30 * MINUTE_MS, now, now, DEFAULT_WINDOW_CONFIG);
        const [merged] = await readRanges(s, 'acme', connector, series, [plan]);
        const m = metricsOf(mergeAll(merged!), '30m', plan.from, plan.to);
        const ref = reference(evs, 'acme', connector, {}, plan.from, plan.to);
        expect(m.calls).toBe(ref.calls);
        expect(m.successes).toBe(ref.successes);
        expect(m.errorCodes).toEqual(ref.errorCodes);
      }
      const dups = (await s.dropped('acme', 'crm')).duplicates + (await s.dropped('acme', 'billing')).duplicates;
      expect(dups).toBe(750);
    });

    it('checks identities per event-time minute, the same way in one batch and across batches', async () => {
      // A copy of a span carries its start time, so it falls in the same minute; the same ids
      // under another minute are another span to the store, whichever batch carries them.
      const config = { dedupHorizonMs: 2 * HOUR_MS };
      const base = traffic(30, 41, now - 10 * MINUTE_MS, now - 5 * MINUTE_MS, { connectors: ['crm'] });
      const moved = base.map((e) => ({ ...e, eventTime: e.eventTime + 3 * MINUTE_MS }));
      const sameMinute = base.map((e) => ({ ...e, eventTime: Math.floor(e.eventTime / MINUTE_MS) * MINUTE_MS + ((e.eventTime + 17_000) % MINUTE_MS) }));
      const one = await make({ clock: () => now, config });
      expect(await one.apply(batch('g|inv', 0, records([...base, ...moved, ...sameMinute], 20)))).toMatchObject({ appliedEvents: 60, duplicateEvents: 30 });
      const two = await make({ clock: () => now, config });
      expect(await two.apply(batch('g|inv', 0, records(base, 20)))).toMatchObject({ appliedEvents: 30, duplicateEvents: 0 });
      expect(await two.apply(batch('g|inv', 0, records([...moved, ...sameMinute], 20, 2)))).toMatchObject({ appliedEvents: 30, duplicateEvents: 30 });
    });

    it('counts spans with invalid (all-zero) ids every time and reports them; dedup off counts every copy', async () => {
      const s = await make({ clock: () => now, config: { dedupHorizonMs: 2 * HOUR_MS } });
      const zero = [invocation({ eventTime: now - MINUTE_MS, traceId: '0'.repeat(32) }), invocation({ eventTime: now - MINUTE_MS, spanId: '0'.repeat(16) })];
      expect(await s.apply(batch('g|inv', 0, records([...zero, ...zero], 1)))).toMatchObject({ appliedEvents: 4, duplicateEvents: 0, eventsWithoutIds: 4 });
      const off = await make({ clock: () => now, config: { dedupHorizonMs: 0 } });
      const evs = traffic(50, 4, now - 5 * MINUTE_MS, now, { connectors: ['crm'] });
      expect(await off.apply(batch('g|inv', 0, records([...evs, ...evs], 25)))).toMatchObject({ appliedEvents: 100, duplicateEvents: 0 });
    });

    it('forgets identities after the horizon: a later copy counts again (the documented limit)', async () => {
      let t = now;
      // 2 h, so that Redis (expiring by its own clock, not this fake one) keeps the sets past `now`.
      const s = await make({ clock: () => t, config: { dedupHorizonMs: 2 * HOUR_MS } });
      const evs = traffic(20, 6, now - 2 * MINUTE_MS, now, { connectors: ['crm'] });
      expect((await s.apply(batch('g|inv', 0, records(evs, 10)))).appliedEvents).toBe(20);
      t = now + 90 * MINUTE_MS;
      expect(await s.apply(batch('g|inv', 1, records(evs, 10)))).toMatchObject({ appliedEvents: 0, duplicateEvents: 20 });
      if (s.kind === 'memory') {
        // The memory store expires by the store clock: 2 h after the last write (now + 90 min).
        t = now + 90 * MINUTE_MS + 2 * HOUR_MS + 1;
        expect(await s.apply(batch('g|inv', 2, records(evs, 10)))).toMatchObject({ appliedEvents: 20, duplicateEvents: 0 });
      }
    });

    it.skipIf(!(opts.persistent ?? false))('remembers identities across a restart of the store client', async () => {
      const namespace = `${name}-${process.pid}-restart-${Date.now()}`;
      const config = { dedupHorizonMs: 2 * HOUR_MS };
      const evs = traffic(200, 8, now - 10 * MINUTE_MS, now, { connectors: ['crm'] });
      const a = await make({ clock: () => now, config, namespace });
      expect((await a.apply(batch('g|inv', 0, records(evs, 50)))).appliedEvents).toBe(200);
      await a.close();
      const b = await make({ clock: () => now, config, namespace });
      expect(await b.apply(batch('g|inv', 1, records(evs.slice(100), 30)))).toMatchObject({ appliedEvents: 0, duplicateEvents: 100 });
      expect((await b.dropped('acme', 'crm')).duplicates).toBe(100);
    });

    it('counts late and future events as dropped instead of losing them silently', async () => {
      const s = await make({ clock: () => now });
      const evs = [
        invocation({ eventTime: now - DEFAULT_WINDOW_CONFIG.hourRetentionMs - 2 * HOUR_MS, sampleWeight: 2 }),
        invocation({ eventTime: now + DEFAULT_WINDOW_CONFIG.maxFutureSkewMs + 1_000 }),
        invocation({ eventTime: now + DEFAULT_WINDOW_CONFIG.maxFutureSkewMs - 1_000 }),
        // Older than the minute retention but inside the hour retention: kept in its hour bucket.
        invocation({ eventTime: now - DEFAULT_WINDOW_CONFIG.minuteRetentionMs - 3 * HOUR_MS }),
      ];
      const r = await s.apply(batch('g|inv', 0, records(evs, 10)));
      expect(r).toMatchObject({ appliedEvents: 4, droppedLate: 2, droppedFuture: 1 });
      expect(await s.dropped('acme', 'crm')).toEqual({ late: 2, future: 1, duplicates: 0 });
      const [series] = await s.listSeries('acme', 'crm');
      const old = Math.floor((now - DEFAULT_WINDOW_CONFIG.minuteRetentionMs - 3 * HOUR_MS) / HOUR_MS) * HOUR_MS;
      const [[hour, recent]] = (await s.getBuckets('acme', 'crm', 'h', [series!], [old, Math.floor(now / HOUR_MS) * HOUR_MS])) as [[unknown, unknown]];
      expect(hour).toMatchObject({ c: 1, s: 1 });
      expect(recent).toMatchObject({ c: 1 });
      const minute = await s.getBuckets('acme', 'crm', 'm', [series!], [Math.floor(old / MINUTE_MS) * MINUTE_MS]);
      expect(minute[0]![0]).toBeNull();
    });

    it('caps distinct error codes per bucket, folding the rest into __overflow__ and always keeping UNMAPPED', async () => {
      const s = await make({ clock: () => now });
      const t = now - 30_000;
      const codes = Array.from({ length: MAX_ERROR_CODES_PER_BUCKET + 10 }, (_, i) => `CODE_${i}`);
      // Two batches so the cap is exercised both inside a delta and when merging into the store.
      const evs1 = codes.slice(0, 20).map((c) => invocation({ eventTime: t, httpStatus: 500, errorCode: c }));
      const evs2 = [...codes.slice(20), 'UNMAPPED'].map((c) => invocation({ eventTime: t, httpStatus: 500, errorCode: c }));
      await s.apply(batch('g|inv', 0, records(evs1, 100, 0)));
      await s.apply(batch('g|inv', 0, records(evs2, 100, 1)));
      const [series] = await s.listSeries('acme', 'crm');
      const b = (await s.getBuckets('acme', 'crm', 'm', [series!], [Math.floor(t / MINUTE_MS) * MINUTE_MS]))[0]![0]!;
      const e = b.e;
      expect(Object.values(e).reduce((a: number, x: number) => a + x, 0)).toBe(codes.length + 1);
      expect(e.UNMAPPED).toBe(1);
      expect(e[OVERFLOW_CODE]).toBe(codes.length - MAX_ERROR_CODES_PER_BUCKET);
      expect(Object.keys(e).length).toBe(MAX_ERROR_CODES_PER_BUCKET + 2);
    });

    it('keeps the newest catalog entry per connector', async () => {
      const s = await make({ clock: () => now });
      const entry = (at: number, v: string) => ({ schemaVersion: 1 as const, tenant: 'acme', connector: 'crm', at, versions: [{ version: v, releasedAt: at, deprecatedAt: null, sunsetAt: null }] });
      expect(await s.getCatalog('acme', 'crm')).toBeNull();
      await s.putCatalog(entry(2_000, '2.0.0'));
      await s.putCatalog(entry(1_000, '1.0.0'));
      expect((await s.getCatalog('acme', 'crm'))!.versions[0]!.version).toBe('2.0.0');
      await s.putCatalog(entry(3_000, '3.0.0'));
      expect((await s.getCatalog('acme', 'crm'))!.versions[0]!.version).toBe('3.0.0');
      expect(await s.getCatalog('other', 'crm')).toBeNull();
    });

    it('expires buckets by TTL once their retention has passed', async () => {
      // Real clock: Redis expires by its own clock. The minute bucket of the previous minute gets a
      // retention that ends ~1.5 s from now.
      const realNow = Date.now();
      const prevMinute = Math.floor(realNow / MINUTE_MS) * MINUTE_MS - MINUTE_MS;
      const retention = realNow - prevMinute - MINUTE_MS + 1_500;
      const s = await make({ config: { minuteRetentionMs: retention } });
      await s.apply(batch('g|inv', 0, records([invocation({ eventTime: prevMinute + 1 })], 1)));
      const [series] = await s.listSeries('acme', 'crm');
      const read = async () => (await s.getBuckets('acme', 'crm', 'm', [series!], [prevMinute]))[0]![0];
      expect(await read()).toMatchObject({ c: 1 });
      await new Promise((r) => setTimeout(r, prevMinute + MINUTE_MS + retention - Date.now() + 200));
      expect(await read()).toBeNull();
      // The hour bucket, with its longer retention, is still there.
      expect((await s.getBuckets('acme', 'crm', 'h', [series!], [Math.floor(prevMinute / HOUR_MS) * HOUR_MS]))[0]![0]).toMatchObject({ c: 1 });
    });

    it('serves whole settled days from a SettledDayCache exactly like reading every hour, and a late write into a cached day invalidates it', async () => {
      const store = await make({ clock: () => now });
      const from = now - 10 * DAY_MS;
      const evs = traffic(4_000, 21, from, now - 3 * HOUR_MS, { connectors: ['crm'], weights: true });
      await store.apply(batch('src', 0, records(evs, 500)));
      const series = await store.listSeries('acme', 'crm');
      const plans = [planRange(from, now, now, DEFAULT_WINDOW_CONFIG), planRange(now - 3 * DAY_MS - 5 * HOUR_MS, now - DAY_MS, now, DEFAULT_WINDOW_CONFIG)];
      const cache = new SettledDayCache();
      const read = (c?: SettledDayCache) => readRanges(store, 'acme', 'crm', series, plans, c === undefined ? undefined : { cache: c, now, cfg: DEFAULT_WINDOW_CONFIG });
      const plain = await read();
      expect(await read(cache)).toEqual(plain); // fills the cache
      expect(cache.size).toBeGreaterThanOrEqual(8 * series.length);
      expect(await read(cache)).toEqual(plain); // served from it
      const gen = await store.generation('acme', 'crm');
      // A late event five days back: the store bumps the generation with the write, the cache refetches.
      const late = invocation({ tenant: 'acme', connector: 'crm', action: series[0]!.action, connectorVersion: series[0]!.version, httpMethod: series[0]!.kind === 'read' ? 'GET' : 'POST', eventTime: now - 5 * DAY_MS, latencyMs: 12_345, httpStatus: 503 });
      await store.apply(batch('src', 0, records([late], 1, 8)));
      expect(await store.generation('acme', 'crm')).toBeGreaterThan(gen);
      const after = await read();
      expect(after[0]![0]!.c).toBe(plain[0]![0]!.c + 1);
      expect(await read(cache)).toEqual(after);
      // Writes into the current hour leave the generation alone.
      const g2 = await store.generation('acme', 'crm');
      await store.apply(batch('src', 0, records([invocation({ tenant: 'acme', connector: 'crm', eventTime: now - MINUTE_MS })], 1, 9)));
      expect(await store.generation('acme', 'crm')).toBe(g2);
    });

    it('keeps a resume offset per source and partition: none at first, raised by advanceOffset, never lowered', async () => {
      const s = await make({ clock: () => now });
      expect(await s.resumeOffset('g|inv', 0)).toBeUndefined();
      await s.advanceOffset('g|inv', 0, '120');
      await s.advanceOffset('g|inv', 0, '80'); // a late writer (the partition's previous owner) never lowers it
      await s.advanceOffset('g|inv', 1, '7');
      await s.advanceOffset('other|inv', 0, '9000000000001'); // beyond 2^32: Kafka offsets are int64
      expect(await s.resumeOffset('g|inv', 0)).toBe('120');
      expect(await s.resumeOffset('g|inv', 1)).toBe('7');
      expect(await s.resumeOffset('g|inv', 2)).toBeUndefined();
      expect(await s.resumeOffset('other|inv', 0)).toBe('9000000000001');
    });

    it.skipIf(!(opts.persistent ?? false))('keeps resume offsets across a restart of the store client', async () => {
      const namespace = `${name}-${process.pid}-resume-${Date.now()}`;
      const a = await make({ clock: () => now, namespace });
      await a.advanceOffset('g|inv', 3, '42');
      await a.close();
      const b = await make({ clock: () => now, namespace });
      expect(await b.resumeOffset('g|inv', 3)).toBe('42');
    });

    it('guards a replay by offsets, not by the dedup horizon: applied offsets replayed after the identities expired count nothing', async () => {
      // The real clock and a 1 ms horizon: the identity sets are gone (in Redis too) right after the write.
      const s = await make({ clock: Date.now, config: { dedupHorizonMs: 1 } });
      const evs = traffic(60, 12, Date.now() - 3 * MINUTE_MS, Date.now() - 2 * MINUTE_MS, { connectors: ['crm'] });
      expect((await s.apply(batch('g|inv', 0, records(evs, 20)))).appliedEvents).toBe(60);
      await new Promise((r) => setTimeout(r, 20));
      expect(await s.apply(batch('g|inv', 0, records(evs, 20)))).toMatchObject({ appliedEvents: 0, replayedEvents: 60, duplicateEvents: 0 });
      // The same spans at new offsets after the horizon are counted again (the documented limit).
      expect(await s.apply(batch('g|inv', 1, records(evs, 20)))).toMatchObject({ appliedEvents: 60, duplicateEvents: 0 });
    });

    it('answers ping', async () => {
      expect(await store.ping()).toBe(true);
    });
  });
}
