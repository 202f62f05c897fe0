import { decodeInvocationColumns, Topics, type CatalogEvent, type InvocationColumns } from '@pulsegate/events';
import { NonRetriableError, type Bus, type Subscription } from '@pulsegate/bus';
import type { Logger } from '@pulsegate/logging';
import type { ApplyResult, WindowStore } from '@pulsegate/windows';

/** Running totals of the consumer, for /readyz details and tests. */
export interface ConsumerStats {
  batches: number;
  appliedEvents: number;
  replayedEvents: number;
  droppedLate: number;
  droppedFuture: number;
  storeCalls: number;
  /** Per tenant: events not counted because their (tenant, traceId, spanId) was already counted (retried exports). */
  duplicates: Record<string, number>;
  /** Per tenant: events with an invalid (all-zero) trace or span id, counted without dedup. */
  withoutIds: Record<string, number>;
}

/** Called with each applied batch's tenants/connectors (used by the snapshot publisher). */
export type OnApplied = (connectors: Array<{ tenant: string; connector: string }>) => void;

/**
 * Subscribes the aggregator to the invocations topic (one consumer group, offsets committed by the
 * bus runner after the handler resolves) and to the catalog topic. Records are decoded into
 * columns (decodeInvocationColumns: the validation of decodeInvocationBatch, no object per event),
 * which wait in the runner until their batch is applied. Undecodable records are dead-lettered by
 * the runner (decode throws the non-retriable BatchDecodeError).
 */
export async function startConsumers(deps: {
  bus: Bus;
  store: WindowStore;
  logger: Logger;
  groupId: string;
  stats: ConsumerStats;
  onApplied?: OnApplied;
  /** Partitions applied at once (Kafka). Default 1. */
  concurrency?: number;
  /** Most events per store apply. Default: the bus's record limit alone. */
  maxBatchEvents?: number;
  /** Tries of a failing unit before it is dead-lettered (SubscribeOptions.maxAttempts). Default: the bus's. */
  maxAttempts?: number;
  /** Failed tries before a batch is split (SubscribeOptions.isolateAfter). Default: the bus's. */
  isolateAfter?: number;
}): Promise<Subscription[]> {
  const { bus, store, logger, groupId, stats } = deps;
  const source = `${groupId}|${Topics.invocations}`;
  const invocations = await bus.subscribe<InvocationColumns>({
    groupId,
    topic: Topics.invocations,
    deadLetterTopic: Topics.invocationsDeadLetter,
    // Partitions are independent for the store (offsets are kept per partition), so while Redis
    // runs one partition's script this process can decode and pre-aggregate another's.
    ...(deps.concurrency === undefined ? {} : { concurrency: deps.concurrency }),
    ...(deps.maxBatchEvents === undefined ? {} : { maxBatchWeight: deps.maxBatchEvents, weightOf: (c: InvocationColumns) => c.length }),
    ...(deps.maxAttempts === undefined ? {} : { maxAttempts: deps.maxAttempts }),
    ...(deps.isolateAfter === undefined ? {} : { isolateAfter: deps.isolateAfter }),
    // The store's own resume offsets: after Redis lost recent writes (restart from an older
    // snapshot, failover to a lagging replica) the bus reads again from what Redis still holds.
    offsets: {
      next: (partition) => store.resumeOffset(source, partition),
      advance: (partition, next) => store.advanceOffset(source, partition, next),
    },
    decode: (record) => decodeInvocationColumns(record.value),
    handle: async (batch) => {
      const r: ApplyResult = await store.apply({
        source,
        partition: batch.partition,
        firstOffset: batch.firstOffset,
        lastOffset: batch.lastOffset,
        records: batch.items.map((i) => ({ offset: i.record.offset, columns: i.value })),
      });
      stats.batches++;
      stats.appliedEvents += r.appliedEvents;
      stats.replayedEvents += r.replayedEvents;
      stats.droppedLate += r.droppedLate;
      stats.droppedFuture += r.droppedFuture;
      stats.storeCalls += r.storeCalls;
      for (const [tenant, t] of r.byTenant) {
        if (t.duplicates > 0) stats.duplicates[tenant] = (stats.duplicates[tenant] ?? 0) + t.duplicates;
        if (t.withoutIds > 0) stats.withoutIds[tenant] = (stats.withoutIds[tenant] ?? 0) + t.withoutIds;
      }
      if (r.droppedLate + r.droppedFuture > 0) logger.warn({ partition: batch.partition, late: r.droppedLate, future: r.droppedFuture }, 'dropped events outside the accepted event-time range');
      if (deps.onApplied !== undefined) {
        const seen = new Map<string, { tenant: string; connector: string }>();
        // A record holds one tenant/connector (ingest packs them so): build a key only on a change.
        for (const { value: c } of batch.items) {
          for (let i = 0, t = -1, n = -1; i < c.length; i++) {
            if (c.tenant[i] === t && c.connector[i] === n) continue;
            t = c.tenant[i]!;
            n = c.connector[i]!;
            const tenant = c.dict[t]!;
            const connector = c.dict[n]!;
            seen.set(`${tenant}\u0000${connector}`, { tenant, connector });
          }
        }
        deps.onApplied([...seen.values()]);
      }
    },
  });
  const catalog = await bus.subscribe<CatalogEvent>({
    groupId: `${groupId}-catalog`,
    topic: Topics.catalog,
    decode: (record) => decodeCatalog(record.value),
    handle: async (batch) => {
      for (const i of batch.items) await store.putCatalog(i.value);
    },
  });
  return [invocations, catalog];
}

/** Validates a catalog event; bad ones are non-retriable (dead-lettered). */
export function decodeCatalog(value: Buffer): CatalogEvent {
  let o: unknown;
  try {
    o = JSON.parse(value.toString('utf8'));
  } catch (err) {
    throw new NonRetriableError(`undecodable catalog event: ${(err as Error).message}`);
  }
  const e = o as Partial<CatalogEvent>;
  const okTime = (t: unknown) => t === null || (typeof t === 'number' && Number.isFinite(t));
  if (
    typeof o !== 'object' ||
    o === null ||
    e.schemaVersion !== 1 ||
    typeof e.tenant !== 'string' ||
    e.tenant === '' ||
    typeof e.connector !== 'string' ||
    e.connector === '' ||
    typeof e.at !== 'number' ||
    !Array.isArray(e.versions) ||
    !e.versions.every((v) => typeof v === 'object' && v !== null && typeof v.version === 'string' && okTime(v.releasedAt) && okTime(v.deprecatedAt) && okTime(v.sunsetAt))
  ) {
    throw new NonRetriableError('catalog event does not match schema v1 {schemaVersion: 1, tenant, connector, at, versions: [{version, releasedAt, deprecatedAt, sunsetAt}]}');
  }
  return o as CatalogEvent;
}
