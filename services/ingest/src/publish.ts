import { MAX_EVENTS_PER_BATCH, encodeInvocationBatch, seriesKey, type InvocationEvent } from '@pulsegate/events';
import type { OutgoingRecord } from '@pulsegate/bus';

/**
 * Packs events into invocation-batch messages: one group per tenant/connector (the partition key,
 * so a series stays in order on one partition), at most `maxPerBatch` events per message.
 */
export function batchRecords(events: readonly InvocationEvent[], maxPerBatch = MAX_EVENTS_PER_BATCH): OutgoingRecord[] {
  const groups = new Map<string, InvocationEvent[]>();
  // Spans of one request mostly share a connector: reuse the last group instead of building a key per event.
  let lastTenant: string | undefined;
  let lastConnector: string | undefined;
  let last: InvocationEvent[] = [];
  for (const e of events) {
    if (e.tenant !== lastTenant || e.connector !== lastConnector) {
      const key = seriesKey(e.tenant, e.connector);
      const g = groups.get(key);
      if (g === undefined) groups.set(key, (last = []));
      else last = g;
      lastTenant = e.tenant;
      lastConnector = e.connector;
    }
    last.push(e);
  }
  const records: OutgoingRecord[] = [];
  for (const [key, group] of groups) {
    if (group.length <= maxPerBatch) records.push({ key, value: encodeInvocationBatch(group) });
    else for (let i = 0; i < group.length; i += maxPerBatch) records.push({ key, value: encodeInvocationBatch(group.slice(i, i + maxPerBatch)) });
  }
  return records;
}

/** How long ingest waits for the bus to acknowledge a request's events before answering 503, ms. */
export const DEFAULT_PUBLISH_TIMEOUT_MS = 30_000;
/** A publish pending longer than this marks the bus as stalled (new requests get 503), ms. */
export const DEFAULT_PUBLISH_STALL_MS = 1_000;

/** Knows when the oldest unacknowledged publish started; the clock is injectable for tests. */
export class PublishTracker {
  private readonly pending = new Map<number, number>();
  private next = 0;
  constructor(
    private readonly stallMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Tracks `work` until it settles. */
  async track<T>(work: Promise<T>): Promise<T> {
    const id = this.next++;
    this.pending.set(id, this.now());
    try {
      return await work;
    } finally {
      this.pending.delete(id);
    }
  }

  /** True while some publish has been pending for longer than the stall threshold. */
  stalled(): boolean {
    const t = this.now();
    for (const started of this.pending.values()) if (t - started > this.stallMs) return true;
    return false;
  }
}

/** Rejects when `work` has not settled within `ms` (the work itself is not cancelled). */
export async function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the bus did not acknowledge within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
    work.catch(() => undefined);
  }
}
