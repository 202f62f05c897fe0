import { isRetriable, type Bus, type OutgoingRecord } from '@pulsegate/bus';
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

/**
 * Most bytes of record values one coalesced publish carries. Below Kafka's default
 * message.max.bytes (1 MiB): every record of a publish may land on one partition, in one batch.
 */
export const DEFAULT_COALESCE_MAX_BYTES = 768 * 1024;

interface Waiting {
  records: OutgoingRecord[];
  bytes: number;
  resolve(): void;
  reject(err: unknown): void;
}

const sizeOf = (records: readonly OutgoingRecord[]): number => {
  let n = 0;
  for (const r of records) n += typeof r.value === 'string' ? Buffer.byteLength(r.value) : r.value.length;
  return n;
};

/**
 * Group commit for one topic: while a publish is in flight, the records of requests that arrive
 * meanwhile wait and then go out together in one publish (one produce request) of at most
 * `maxBytes`. Each caller resolves once its own records are acknowledged. Records keep their
 * order per key (one publish in flight at a time, in arrival order). When a combined publish
 * fails for a reason retrying will not cure, each caller's records are tried alone, so one bad
 * request cannot fail the others sent alongside.
 */
export class PublishCoalescer {
  private readonly queue: Waiting[] = [];
  private flushing = false;

  constructor(
    private readonly bus: Bus,
    private readonly topic: string,
    private readonly maxBytes = DEFAULT_COALESCE_MAX_BYTES,
  ) {}

  /** Publishes `records` (`bytes`: their value bytes, when the caller has counted them already). */
  publish(records: OutgoingRecord[], bytes = sizeOf(records)): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ records, bytes, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  /** Requests waiting for the publish in flight to finish. */
  waiting(): number {
    return this.queue.length;
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const group: Waiting[] = [this.queue.shift()!];
        let bytes = group[0]!.bytes;
        while (this.queue.length > 0 && bytes + this.queue[0]!.bytes <= this.maxBytes) {
          const w = this.queue.shift()!;
          bytes += w.bytes;
          group.push(w);
        }
        await this.send(group);
      }
    } finally {
      this.flushing = false;
    }
  }

  private async send(group: Waiting[]): Promise<void> {
    try {
      await this.bus.publish(this.topic, group.length === 1 ? group[0]!.records : group.flatMap((w) => w.records));
      for (const w of group) w.resolve();
    } catch (err) {
      if (group.length === 1 || isRetriable(err)) {
        for (const w of group) w.reject(err);
        return;
      }
      for (const w of group) {
        try {
          await this.bus.publish(this.topic, w.records);
          w.resolve();
        } catch (alone) {
          w.reject(alone);
        }
      }
    }
  }
}
