import { afterEach, describe, expect, it } from 'vitest';
import request from 'supertest';
import { MemoryBus } from '@pulsegate/bus';
import { encodeInvocationBatch, seriesKey, Topics } from '@pulsegate/events';
import { createLogger } from '@pulsegate/logging';
import { parsePrometheusText, sampleValue } from '@pulsegate/telemetry';
import { MemoryWindowStore, type ApplyInput, type ApplyResult } from '@pulsegate/windows';
import { loadConfig } from '../src/config';
import { createAggregatorService, type AggregatorService } from '../src/service';
import { invocation, packed } from './builders';
import { openapi } from './metrics-suite';

const HOUR = 3_600_000;
const NOW = Math.floor(Date.now() / HOUR) * HOUR + 30 * 60_000;
const logger = createLogger({ name: 'aggregator-poison-test', level: 'silent' });

/** Bounded wait for a condition (not a timing assertion). */
async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * A memory store that fails like the old key builder did on the records of one tenant (URIError,
 * which carries no `retriable` flag, so the bus must treat it as transient), and fails every apply
 * while `down` (an outage).
 */
class PoisonStore extends MemoryWindowStore {
  down = false;
  constructor(private readonly poisonTenant: string) {
    super({ clock: () => NOW });
  }
  override async apply(input: ApplyInput): Promise<ApplyResult> {
    if (this.down) throw new Error('connection lost');
    if (input.records.some((r) => ('columns' in r ? r.columns.dict : r.events.map((e) => e.tenant)).includes(this.poisonTenant))) throw new URIError('URI malformed');
    return super.apply(input);
  }
}

async function metric(svc: AggregatorService, name: string): Promise<number | undefined> {
  const res = await request(svc.app).get('/metrics');
  return sampleValue(parsePrometheusText(res.text), name);
}

describe('aggregator: poison and stuck batches', () => {
  let svc: AggregatorService | null = null;
  let bus: MemoryBus | null = null;
  afterEach(async () => {
    await svc?.stop();
    await bus?.close();
    svc = null;
    bus = null;
  });

  it('counts every other tenant exactly while one tenant’s records keep failing, and dead-letters those with the reason', async () => {
    bus = new MemoryBus({ partitions: 1, maxBatchRecords: 50 });
    const store = new PoisonStore('evil');
    svc = await createAggregatorService({ bus, logger, config: loadConfig({ SNAPSHOT_INTERVAL_SECONDS: '3600', AGGREGATOR_BATCH_ISOLATE_AFTER: '2' }), store, clock: () => NOW });
    await svc.start();
    const good = Array.from({ length: 300 }, (_, i) => invocation({ tenant: i % 2 === 0 ? 'acme' : 'globex', connector: 'crm', eventTime: NOW - 60_000 }));
    const evil = Array.from({ length: 7 }, () => invocation({ tenant: 'evil', connector: 'crm', eventTime: NOW - 60_000 }));
    // One partition: the poison shares its batches with the other tenants' records.
    const records = [...packed(good.slice(0, 150), 10), ...packed(evil, 3), ...packed(good.slice(150), 10)];
    await bus.publish(Topics.invocations, records);
    await until(() => svc!.stats.appliedEvents === good.length, 'every good event applied');
    await until(() => bus!.recordsIn(Topics.invocationsDeadLetter).length === 3, 'the three evil records dead-lettered');
    const dlq = bus.recordsIn(Topics.invocationsDeadLetter);
    expect(dlq.map((r) => r.key)).toEqual([seriesKey('evil', 'crm'), seriesKey('evil', 'crm'), seriesKey('evil', 'crm')]);
    for (const r of dlq) expect(r.headers['x-dlq-reason']).toMatch(/^URI malformed \(gave up after \d+ attempts\)$/);
    for (const tenant of ['acme', 'globex']) {
      const m = await store.getBuckets(tenant, 'crm', 'm', [{ action: good[0]!.action, version: good[0]!.connectorVersion, kind: 'read' }], [Math.floor((NOW - 60_000) / 60_000) * 60_000]);
      expect(m[0]![0]!.c).toBe(150);
    }
  });

  it('dead-letters records whose labels break the label rule at decode, before the store', async () => {
    bus = new MemoryBus({ partitions: 1 });
    svc = await createAggregatorService({ bus, logger, config: loadConfig({ SNAPSHOT_INTERVAL_SECONDS: '3600' }), store: new MemoryWindowStore({ clock: () => NOW }), clock: () => NOW });
    await svc.start();
    const ok = invocation({ tenant: 'acme', eventTime: NOW - 60_000 });
    await bus.publish(Topics.invocations, [
      { key: 'acme', value: encodeInvocationBatch([invocation({ tenant: 'acme', action: 'p\ud800x', eventTime: NOW - 60_000 })]) },
      { key: 'acme', value: encodeInvocationBatch([invocation({ tenant: 'acme', connector: 'a\u0000b', eventTime: NOW - 60_000 })]) },
      { key: 'acme', value: encodeInvocationBatch([ok]) },
    ]);
    await until(() => svc!.stats.appliedEvents === 1, 'the good event applied');
    expect(bus.recordsIn(Topics.invocationsDeadLetter).map((r) => r.headers['x-dlq-reason'])).toEqual([
      'event 0: action not well-formed Unicode (lone surrogate)',
      'event 0: connector contains a control character',
    ]);
  });

  it('says a batch is stuck on /readyz and in the stuck-batch gauges, and recovers when it is handled', async () => {
    bus = new MemoryBus({ partitions: 1 });
    const store = new PoisonStore('nobody');
    svc = await createAggregatorService({
      bus,
      logger,
      config: loadConfig({ SNAPSHOT_INTERVAL_SECONDS: '3600', AGGREGATOR_STUCK_AFTER_SECONDS: '1', AGGREGATOR_BATCH_MAX_ATTEMPTS: '10000' }),
      store,
      clock: () => NOW,
    });
    await svc.start();
    expect((await request(svc.app).get('/readyz')).body).toEqual({ status: 'ready' });
    expect(await metric(svc, 'pulsegate_consumer_stuck_batches')).toBe(0);
    store.down = true;
    await bus.publish(Topics.invocations, packed([invocation({ tenant: 'acme', eventTime: NOW - 60_000 })], 10));
    await until(async () => (await request(svc!.app).get('/readyz')).status === 503, '/readyz degraded');
    const res = await request(svc.app).get('/readyz');
    expect(openapi.check('GET', '/readyz', 503, res.body)).toEqual([]);
    expect(res.body.status).toBe('degraded');
    expect(res.body.reasons).toEqual([expect.stringMatching(/^pulsegate\.invocations\.v1 partition 0: batch failing for \d+ s \(\d+ failures\), last error: connection lost$/)]);
    expect(await metric(svc, 'pulsegate_consumer_stuck_batches')).toBe(1);
    expect(await metric(svc, 'pulsegate_consumer_oldest_stuck_batch_age_seconds')).toBeGreaterThanOrEqual(1);
    store.down = false;
    await until(() => svc!.stats.appliedEvents === 1, 'the batch applied after the outage');
    expect((await request(svc.app).get('/readyz')).body).toEqual({ status: 'ready' });
    expect(await metric(svc, 'pulsegate_consumer_stuck_batches')).toBe(0);
    expect(await metric(svc, 'pulsegate_consumer_oldest_stuck_batch_age_seconds')).toBe(0);
    expect(bus.recordsIn(Topics.invocationsDeadLetter)).toEqual([]);
  });
});
