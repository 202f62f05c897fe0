import { describe, expect, it } from 'vitest';
import { createLogger } from '@pulsegate/logging';
import { DEFAULT_WINDOW_CONFIG, MemoryWindowStore, type WindowStore } from '@pulsegate/windows';
import type { InvocationEvent } from '@pulsegate/events';
import { MetricsQueries, namedRange, type QueryLimits } from '../src/query';
import { CacheWarmer } from '../src/warmup';
import { invocation } from './builders';
import { referenceMetrics } from './reference';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const START = Math.floor(Date.now() / HOUR) * HOUR + 30 * 60_000;
const SERIES = 60;

/** A store whose bucket reads (getBuckets and readBuckets calls) are counted, and may run a hook before answering. */
function counted(store: MemoryWindowStore): { store: WindowStore; reads: () => number; onRead: (f: (() => void) | null) => void } {
  let reads = 0;
  let hook: (() => void) | null = null;
  const wrapped = Object.create(store) as WindowStore;
  wrapped.getBuckets = (...args) => {
    reads++;
    hook?.();
    return store.getBuckets(...args);
  };
  wrapped.readBuckets = (...args) => {
    reads++;
    hook?.();
    return store.readBuckets(...args);
  };
  return { store: wrapped, reads: () => reads, onRead: (f) => (hook = f) };
}

/** `SERIES` series on two connectors, calls spread over 29 days and the last hour. */
async function fixture(clock: { now: number }): Promise<{ raw: MemoryWindowStore; events: InvocationEvent[] }> {
  const raw = new MemoryWindowStore({ clock: () => clock.now });
  const events: InvocationEvent[] = [];
  for (let i = 0; i < SERIES * 6; i++) {
    const s = i % SERIES;
    const age = i % 6 < 4 ? ((i * 7_919_993) % (29 * DAY)) + 2 * HOUR : (i * 60_013) % (50 * 60_000);
    events.push(invocation({ tenant: 'acme', connector: i % 2 === 0 ? 'crm' : 'erp', action: `a${s}`, connectorVersion: `${s % 3}.0.0`, httpStatus: i % 13 === 0 ? 429 : 200, latencyMs: 1 + (i % 211), eventTime: clock.now - age }));
  }
  await raw.apply({ source: 's', partition: 0, firstOffset: '0', lastOffset: '0', records: [{ offset: '0', events }] });
  return { raw, events };
}

/** The answer of a query that merges every bucket (no cache) next to the warmed one, and the reference calls. */
async function expectExact(queries: MetricsQueries, raw: MemoryWindowStore, events: InvocationEvent[], now: number, connector: string): Promise<void> {
  const exact = new MetricsQueries(raw, DEFAULT_WINDOW_CONFIG, () => now, 0);
  for (const w of ['30d', '7d', '24h']) {
    const range = namedRange(w, now);
    const got = await queries.metrics('acme', connector, {}, range);
    expect(got).toEqual(await exact.metrics('acme', connector, {}, range));
    expect(got!.calls).toBe(referenceMetrics(events, { tenant: 'acme', connector, from: range.from, to: range.to }).calls);
  }
}

/** The fixture, its store counted, and queries with a cache (and `limits`) over it, at a movable clock. */
async function setup(limits: Partial<QueryLimits> = {}) {
  const clock = { now: START };
  const { raw, events } = await fixture(clock);
  const c = counted(raw);
  const queries = new MetricsQueries(c.store, DEFAULT_WINDOW_CONFIG, () => clock.now, 20_000, limits);
  return { clock, raw, events, c, queries };
}

const warmerOf = (queries: MetricsQueries, store: WindowStore, clock: { now: number }) =>
  new CacheWarmer({ queries, store, logger: createLogger({ name: 'warmup-test', level: 'silent' }), clock: () => clock.now, intervalMs: 3_600_000, maxConnectors: 10 });

describe('query cache warm-up', () => {
  it('warms every connector so the next 30-day query reads only unsettled buckets, with exact answers', async () => {
    const { clock, raw, events, c, queries } = await setup();
    const warmer = warmerOf(queries, c.store, clock);
    await warmer.runPass();
    expect(warmer.progress()).toMatchObject({ warm: 2, selected: 2, passes: 1, warming: 0 });
    expect(queries.dayCache!.size).toBeGreaterThan(0);
    const before = c.reads();
    const range = namedRange('30d', clock.now);
    await queries.metrics('acme', 'crm', {}, range);
    // Only the hours not yet settled are read: one store call for the ≤ 2 unsettled hours of SERIES / 2 series.
    expect(c.reads() - before).toBe(1);
    await expectExact(queries, raw, events, clock.now, 'crm');
    await expectExact(queries, raw, events, clock.now, 'erp');
  });

  it('re-warms after a late write into a settled hour (the generation moved) and after an hour settles; answers stay exact', async () => {
    const { clock, raw, events, c, queries } = await setup();
    const warmer = warmerOf(queries, c.store, clock);
    await warmer.runPass();
    // A late call into an hour 3 days back, cached by the pass: bumps the connector's generation.
    const late = invocation({ tenant: 'acme', connector: 'crm', action: 'a0', connectorVersion: '0.0.0', httpStatus: 500, latencyMs: 999, eventTime: clock.now - 3 * DAY });
    const gen = await raw.generation('acme', 'crm');
    await raw.apply({ source: 's', partition: 0, firstOffset: '1', lastOffset: '1', records: [{ offset: '1', events: [late] }] });
    events.push(late);
    expect(await raw.generation('acme', 'crm')).toBeGreaterThan(gen);
    const beforePass = c.reads();
    await warmer.runPass();
    // Only crm is read again (erp's generation and the settled hour did not move).
    expect(c.reads()).toBeGreaterThan(beforePass);
    await expectExact(queries, raw, events, clock.now, 'crm');
    // Nothing moved since: a pass reads nothing.
    const idle = c.reads();
    await warmer.runPass();
    expect(c.reads()).toBe(idle);
    // An hour later: a new hour settled, both connectors are warmed again, still exact.
    clock.now += HOUR;
    const beforeHour = c.reads();
    await warmer.runPass();
    expect(c.reads()).toBeGreaterThan(beforeHour);
    expect(warmer.progress()).toMatchObject({ warm: 2, passes: 4 });
    await expectExact(queries, raw, events, clock.now, 'crm');
    await expectExact(queries, raw, events, clock.now, 'erp');
  });

  it('a query arriving during the warm-up of its connector joins it and answers exactly', async () => {
    const { clock, raw, events, c, queries } = await setup({ chunkBuckets: 50 });
    const range = namedRange('30d', clock.now);
    let query: ReturnType<MetricsQueries['metrics']> | null = null;
    let readsAtQuery = 0;
    c.onRead(() => {
      if (query !== null) return;
      readsAtQuery = c.reads();
      query = queries.metrics('acme', 'crm', {}, range);
    });
    const warming = queries.warm('acme', 'crm');
    expect(queries.warmingNow).toBe(1);
    await warming;
    c.onRead(null);
    const warmReads = c.reads();
    const got = await query!;
    const joinedReads = c.reads() - warmReads;
    // The joined query read only what a query on a warm cache reads (its unsettled hours), not the settled ones again.
    await queries.metrics('acme', 'crm', {}, range);
    expect(joinedReads).toBe(c.reads() - warmReads - joinedReads);
    expect(joinedReads).toBeLessThanOrEqual(2);
    expect(readsAtQuery).toBe(1);
    expect(got).toEqual(await new MetricsQueries(raw, DEFAULT_WINDOW_CONFIG, () => clock.now, 0).metrics('acme', 'crm', {}, range));
    expect(got!.calls).toBe(referenceMetrics(events, { tenant: 'acme', connector: 'crm', from: range.from, to: range.to }).calls);
  });

  it('a filtered query (another series set) does not wait for the warm-up of its connector', async () => {
    const { clock, events, c, queries } = await setup({ chunkBuckets: 20 });
    const range = namedRange('1h', clock.now);
    const order: string[] = [];
    let query: Promise<unknown> | null = null;
    c.onRead(() => {
      query ??= queries.metrics('acme', 'crm', { version: '1.0.0' }, range).then((m) => {
        order.push('query');
        expect(m!.calls).toBe(referenceMetrics(events, { tenant: 'acme', connector: 'crm', version: '1.0.0', from: range.from, to: range.to }).calls);
      });
    });
    await queries.warm('acme', 'crm').then(() => order.push('warm-up'));
    await query;
    expect(order).toEqual(['query', 'warm-up']);
  });

  it('stops on shutdown: the read in flight ends between two steps and nothing more is read', async () => {
    const { clock, raw, events, c, queries } = await setup({ chunkBuckets: 20 });
    const warmer = warmerOf(queries, c.store, clock);
    let stopped: Promise<void> | null = null;
    c.onRead(() => {
      if (c.reads() === 3) stopped = warmer.stop();
    });
    warmer.start();
    await new Promise<void>((resolve) => {
      const wait = (): void => (stopped === null ? void setImmediate(wait) : resolve());
      wait();
    });
    await stopped;
    c.onRead(null);
    // A 30-day read of 30 series at 20 buckets per step takes hundreds of steps; it stopped after the
    // one in flight (the read ahead included) and never finished a pass.
    expect(c.reads()).toBeLessThanOrEqual(4);
    expect(warmer.progress()).toMatchObject({ passes: 0, warming: 0, warm: 0 });
    // Nothing partial was cached: a query afterwards is exact.
    await expectExact(queries, raw, events, clock.now, 'crm');
    // start() after stop() does nothing.
    const after = c.reads();
    warmer.start();
    await warmer.runPass();
    expect(c.reads()).toBe(after);
  });
});
