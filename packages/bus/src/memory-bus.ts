import { Topics } from '@pulsegate/events';
import { DEFAULT_ISOLATE_AFTER, DEFAULT_MAX_ATTEMPTS, handleIsolating } from './isolate';
import { DEFAULT_PARTITIONS, partitionFor } from './partition';
import { guardedHandler, ResumeAt } from './resume';
import type { Bus, BusRecord, DecodedBatch, FailingBatch, OutgoingRecord, SubscribeOptions, Subscription } from './types';

export interface MemoryBusOptions {
  /** Partitions per topic. Default 4. */
  partitions?: number;
  /** Most records a handler receives at once. Default 500. */
  maxBatchRecords?: number;
  /** Records kept per partition once every group has consumed them. Default 10 000. */
  retainRecords?: number;
  /** Bytes (record values) a partition may hold before consumed records are dropped, however few. Default 4 MiB. */
  retainBytes?: number;
  /**
   * Bytes a partition of a consumed topic may hold before publish() waits for the consumers (the
   * broker's backpressure: ingest then answers 503 instead of buffering without bound). Default 64 MiB.
   */
  maxPartitionBytes?: number;
}

interface PartitionLog {
  /** Offset of records[0]. */
  base: number;
  records: BusRecord[];
  /** Sum of the held records' value sizes. */
  bytes: number;
}

interface Member {
  id: number;
  stopped: boolean;
  wake: () => void;
  assigned: Set<number>;
  /** Assigned partitions not yet checked against the handler's store (SubscribeOptions.offsets). */
  unchecked: Set<number>;
}

interface Group {
  committed: Map<string, number[]>;
  members: Member[];
}

/**
 * In-process bus for the embedded mode: the same contract as Kafka (per-key order, partitions,
 * consumer groups with committed offsets, at-least-once redelivery, dead letters) without a broker.
 */
export class MemoryBus implements Bus {
  readonly kind = 'memory' as const;
  private readonly partitions: number;
  private readonly maxBatch: number;
  private readonly retain: number;
  private readonly retainBytes: number;
  private readonly maxPartitionBytes: number;
  /** Publishers waiting for consumers to make room. */
  private readonly roomWaiters = new Set<() => void>();
  private readonly topics = new Map<string, PartitionLog[]>();
  private readonly groups = new Map<string, Group>();
  private readonly subscriptions = new Set<Subscription>();
  private readonly waiters = new Set<() => void>();
  private nextMemberId = 1;
  private closed = false;
  /** Bumped by every publish, so a consumer that scanned during a publish knows to look again. */
  private generation = 0;

  constructor(options: MemoryBusOptions = {}) {
    this.partitions = options.partitions ?? DEFAULT_PARTITIONS;
    this.maxBatch = options.maxBatchRecords ?? 500;
    this.retain = options.retainRecords ?? 10_000;
    this.retainBytes = options.retainBytes ?? 4 * 1024 * 1024;
    this.maxPartitionBytes = options.maxPartitionBytes ?? 64 * 1024 * 1024;
  }

  isReady(): boolean {
    return !this.closed;
  }

  private log(topic: string): PartitionLog[] {
    let logs = this.topics.get(topic);
    if (logs === undefined) {
      logs = Array.from({ length: this.partitions }, () => ({ base: 0, records: [], bytes: 0 }));
      this.topics.set(topic, logs);
    }
    return logs;
  }

  /** True while some partition of a consumed `topic` holds more than maxPartitionBytes. */
  private full(topic: string): boolean {
    const consumed = [...this.groups.values()].some((g) => g.committed.has(topic));
    return consumed && this.log(topic).some((l) => l.bytes > this.maxPartitionBytes);
  }

  async publish(topic: string, records: OutgoingRecord[]): Promise<void> {
    while (!this.closed && this.full(topic)) await new Promise<void>((resolve) => this.roomWaiters.add(resolve));
    if (this.closed) throw new Error('bus is closed');
    const logs = this.log(topic);
    const now = Date.now();
    for (const r of records) {
      const p = logs[partitionFor(r.key, this.partitions)]!;
      const value = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
      p.bytes += value.length;
      p.records.push({
        key: r.key,
        value,
        headers: { ...(r.headers ?? {}) },
        offset: String(p.base + p.records.length),
        timestamp: now,
      });
    }
    this.generation++;
    // Topics nobody consumes (or consumes slowly) are bounded here too, not only when a group commits.
    this.trim(topic);
    for (const w of [...this.waiters]) w();
  }

  /** Number of records currently held for a topic (all partitions), for tests and diagnostics. */
  recordsIn(topic: string): BusRecord[] {
    return (this.topics.get(topic) ?? []).flatMap((p) => p.records);
  }

  private rebalance(group: Group): void {
    const live = group.members.filter((m) => !m.stopped);
    for (const m of live) m.assigned.clear();
    for (let p = 0; p < this.partitions; p++) live[p % Math.max(1, live.length)]?.assigned.add(p);
    for (const m of live) m.unchecked = new Set(m.assigned);
    // Newly assigned partitions may hold records: a member mid-scan must look again.
    this.generation++;
    for (const m of live) m.wake();
  }

  private trim(topic: string): void {
    const logs = this.topics.get(topic);
    if (logs === undefined) return;
    for (let p = 0; p < logs.length; p++) {
      const log = logs[p]!;
      let min = Infinity;
      for (const g of this.groups.values()) {
        const c = g.committed.get(topic);
        if (c !== undefined) min = Math.min(min, c[p] ?? 0);
      }
      const consumedEnd = Math.min(min, log.base + log.records.length);
      let keepFrom = Math.max(log.base, consumedEnd - this.retain);
      // Consumed records past the byte budget go too: after a flood they would otherwise keep
      // up to retainRecords large batches per partition alive for good.
      let bytes = log.bytes;
      for (let i = log.base; i < keepFrom; i++) bytes -= log.records[i - log.base]!.value.length;
      while (keepFrom < consumedEnd && bytes > this.retainBytes) bytes -= log.records[keepFrom++ - log.base]!.value.length;
      if (keepFrom > log.base) {
        log.records.splice(0, keepFrom - log.base);
        log.base = keepFrom;
        log.bytes = bytes;
      }
    }
    // Publishers held back by a full partition look again (each re-checks and waits again if need be).
    const waiting = [...this.roomWaiters];
    this.roomWaiters.clear();
    for (const w of waiting) w();
  }

  async subscribe<T>(options: SubscribeOptions<T>): Promise<Subscription> {
    if (this.closed) throw new Error('bus is closed');
    const logs = this.log(options.topic);
    let group = this.groups.get(options.groupId);
    if (group === undefined) {
      group = { committed: new Map(), members: [] };
      this.groups.set(options.groupId, group);
    }
    if (!group.committed.has(options.topic)) {
      const fromBeginning = options.fromBeginning ?? true;
      group.committed.set(options.topic, logs.map((l) => (fromBeginning ? l.base : l.base + l.records.length)));
    }
    const committed = group.committed.get(options.topic)!;
    const dlq = options.deadLetterTopic ?? Topics.deadLetter;
    const failing = new Map<number, FailingBatch>();
    // Per partition: where the last ResumeAt sent it back to (see the KafkaBus runner).
    const resumedTo = new Map<number, number>();
    let wakeUp: () => void = () => undefined;
    const member: Member = { id: this.nextMemberId++, stopped: false, assigned: new Set(), unchecked: new Set(), wake: () => wakeUp() };
    group.members.push(member);
    const g = group;
    this.rebalance(g);

    const waitForWork = (): Promise<void> =>
      new Promise((resolve) => {
        const done = (): void => {
          this.waiters.delete(done);
          resolve();
        };
        wakeUp = done;
        this.waiters.add(done);
      });

    // A newly assigned partition starts where the handler's store holds it, when it holds it.
    const resumeAssigned = async (p: number): Promise<void> => {
      member.unchecked.delete(p);
      const next = await options.offsets!.next(p).catch(() => undefined); // the check before each try still runs
      if (next === undefined || member.stopped || !member.assigned.has(p)) return;
      committed[p] = Number(next);
      resumedTo.set(p, Number(next));
    };

    const runOnce = async (p: number): Promise<boolean> => {
      if (options.offsets !== undefined && member.unchecked.has(p)) await resumeAssigned(p);
      const log = logs[p]!;
      const position = Math.max(committed[p] ?? 0, log.base);
      const end = log.base + log.records.length;
      if (position >= end) return false;
      const slice = log.records.slice(position - log.base, Math.min(end, position + this.maxBatch) - log.base);
      const items: DecodedBatch<T>['items'] = [];
      for (const record of slice) {
        try {
          items.push({ record, value: options.decode(record) });
        } catch (err) {
          await this.publish(dlq, [deadLetter(options.topic, p, record, err)]);
        }
      }
      const batch: DecodedBatch<T> = {
        topic: options.topic,
        partition: p,
        items,
        firstOffset: slice[0]!.offset,
        lastOffset: slice[slice.length - 1]!.offset,
      };
      if (member.stopped || !member.assigned.has(p)) return false;
      // Records before the position were trimmed: what the store lost of them stays lost.
      const lostBefore = resumedTo.get(p);
      resumedTo.delete(p);
      const guarded = lostBefore === undefined || position <= lostBefore;
      if (items.length > 0) {
        let result: Awaited<ReturnType<typeof handleIsolating<T>>>;
        try {
          result = await handleIsolating(batch, {
            handle: guardedHandler(guarded ? options.offsets : undefined, batch.firstOffset, (b: DecodedBatch<T>) => options.handle(b, { heartbeat: async () => undefined })),
            maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
            isolateAfter: options.isolateAfter ?? DEFAULT_ISOLATE_AFTER,
            gone: () => member.stopped || !member.assigned.has(p),
            isFatal: (err) => err instanceof ResumeAt,
            onFailure: (f) => failing.set(p, { ...f }),
          });
        } catch (err) {
          if (!(err instanceof ResumeAt)) throw err;
          // The handler's store is behind the batch: read again from its offset.
          committed[p] = Number(err.offset);
          resumedTo.set(p, Number(err.offset));
          return true;
        } finally {
          failing.delete(p);
        }
        if (result === 'abandoned') return false;
        if (result.length > 0) await this.publish(dlq, result.map((r) => deadLetter(options.topic, p, r.record, r.err)));
      }
      // A stopped member's batch is still committed when the handler finished: it was applied.
      try {
        await options.offsets?.advance(p, String(Number(batch.lastOffset) + 1));
      } catch {
        return false; // not committed: handled again (idempotently) on the next pass
      }
      committed[p] = Number(batch.lastOffset) + 1;
      this.trim(options.topic);
      return true;
    };

    const loop = (async () => {
      while (!member.stopped) {
        const seen = this.generation;
        let worked = false;
        for (const p of [...member.assigned]) {
          if (member.stopped) break;
          if (await runOnce(p)) worked = true;
        }
        // A publish during the scan (no waiter registered yet) must not be slept through.
        if (!worked && !member.stopped && seen === this.generation) await waitForWork();
      }
    })();

    const subscription: Subscription = {
      lag: () =>
        [...member.assigned].sort((a, b) => a - b).map((p) => {
          const log = logs[p]!;
          return { topic: options.topic, partition: p, lag: log.base + log.records.length - Math.max(committed[p] ?? 0, log.base) };
        }),
      failing: () => [...failing.values()].map((f) => ({ ...f })),
      stop: async () => {
        if (member.stopped) return loop;
        member.stopped = true;
        member.wake();
        await loop;
        g.members = g.members.filter((m) => m !== member);
        this.rebalance(g);
        this.subscriptions.delete(subscription);
      },
    };
    this.subscriptions.add(subscription);
    return subscription;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
    this.closed = true;
    for (const w of this.roomWaiters) w();
    this.roomWaiters.clear();
  }
}

/** Dead-letter record: the original bytes and key, with where it came from and why. */
export function deadLetter(topic: string, partition: number, record: BusRecord, err: unknown): OutgoingRecord {
  return {
    key: record.key ?? '',
    value: record.value,
    headers: {
      ...record.headers,
      'x-dlq-reason': err instanceof Error ? err.message.slice(0, 1000) : String(err).slice(0, 1000),
      'x-dlq-topic': topic,
      'x-dlq-partition': String(partition),
      'x-dlq-offset': record.offset,
    },
  };
}
