import type { Consumer, EachBatchPayload, IHeaders, KafkaMessage } from 'kafkajs';
import { Topics } from '@pulsegate/events';
import { DEFAULT_ISOLATE_AFTER, DEFAULT_MAX_ATTEMPTS, handleIsolating } from './isolate';
import { deadLetter } from './memory-bus';
import { guardedHandler, ResumeAt } from './resume';
import type { BackoffOptions } from './retry';
import type { BusRecord, DecodedBatch, FailingBatch, OutgoingRecord, PartitionLag, SubscribeOptions } from './types';

/** The slice of a pino logger the runner uses. */
interface RunnerLogger {
  warn(obj: Record<string, unknown>, msg: string): void;
}

/** Default SubscribeOptions.lingerMs of a KafkaBus subscription. */
export const DEFAULT_LINGER_MS = 0;

function toHeaders(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers === undefined) return out;
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    const first = Array.isArray(v) ? v[0] : v;
    if (first !== undefined) out[k] = first.toString();
  }
  return out;
}

function toRecord(m: KafkaMessage): BusRecord {
  return {
    key: m.key === null || m.key === undefined ? null : m.key.toString('utf8'),
    value: m.value ?? Buffer.alloc(0),
    headers: toHeaders(m.headers),
    offset: m.offset,
    timestamp: Number(m.timestamp),
  };
}

/** Decoded records of one partition read but not yet handled: the next handler batch. */
interface Pending<T> {
  items: DecodedBatch<T>['items'];
  poison: OutgoingRecord[];
  firstOffset: string;
  lastOffset: string;
  /** Records read, poison ones included (bounded by maxBatchRecords). */
  records: number;
  weight: number;
  /** When the first record was added, ms (performance.now()). */
  since: number;
  /** The last fetch that added records reached the high watermark. */
  caughtUp: boolean;
}

/** What the runner knows of one assigned partition. */
interface PartitionState<T> {
  partition: number;
  /** Tail of the partition's lock chain: eachBatch, timer flushes and stop() take turns on it. */
  lock: Promise<void>;
  /** Records read but not handed over yet. */
  pending: Pending<T> | undefined;
  /** The batch being handled (at most one per partition), resolving when it is committed or given up. */
  inFlight: Promise<void> | undefined;
  timer: NodeJS.Timeout | undefined;
  /** The broker's high watermark as last seen (fetch or admin), offset. */
  highWatermark: string;
  /** Next offset to handle: committed offset, or the first offset read since assignment. */
  next: bigint | undefined;
  /** Where the last ResumeAt sent this partition back to, until a batch is handed over from there. */
  resumedTo: bigint | undefined;
  /** From the partition's latest eachBatch payload; flushes outside eachBatch use them too. */
  heartbeat: () => Promise<void>;
  isRunning: () => boolean;
  isStale: () => boolean;
}

/** 'abandoned': given up uncommitted; ResumeAt: the handler's store is behind the batch. */
type FlushResult = 'done' | 'abandoned' | ResumeAt;

/** The group moved on while a handler ran (failed heartbeat): not the batch's fault. */
class MembershipLost extends Error {
  constructor(readonly reason: unknown) {
    super((reason as Error).message);
  }
}

export interface BatchRunnerDeps<T> {
  consumer: Consumer;
  options: SubscribeOptions<T>;
  /** Most records one handler call receives. */
  maxBatchRecords: number;
  retry: BackoffOptions | undefined;
  log: RunnerLogger | undefined;
  publish(topic: string, records: OutgoingRecord[]): Promise<void>;
  isStopping(): boolean;
  /** Aborted by stop(): ends a backoff wait. */
  signal: AbortSignal;
  /** Batches of this subscription being retried, by partition. */
  failing: Map<number, FailingBatch>;
}

/**
 * The consumer runner of one KafkaBus subscription (kafkajs eachBatch, auto-commit off).
 *
 * Fetched records of a partition are decoded into a pending batch, which is handed to the handler
 * as soon as the handler is free for it (no batch of the partition in the handler and fewer than
 * `concurrency` over all partitions) and the batch is ready: caught up (its last fetch reached the
 * high watermark), full (maxBatchRecords / maxBatchWeight) or at least lingerMs old (default 0).
 * While the handler is busy the pending batch keeps growing, so under load handler calls get
 * larger (up to the limits) and under low load nothing waits. Pending offsets are resolved, so
 * kafkajs fetches on; nothing is committed before the handler resolved.
 *
 * A batch is handled in the background: while the handler runs (e.g. a Redis script), kafkajs
 * fetches and decodes the next records. Per partition at most one batch is in the handler; a full
 * pending batch waits for it inside eachBatch (back-pressure: at most about two batches per
 * partition in memory); commits follow in order. When a batch is given up (lost membership, stop,
 * a failure outside the handler), kafkajs is sought back to its first offset and everything read
 * after it is dropped, so nothing is skipped: the records are read again from there (or, after a
 * rebalance, by the next owner from the committed offset).
 */
export class BatchRunner<T> {
  private readonly deps: BatchRunnerDeps<T>;
  private readonly partitions = new Map<number, PartitionState<T>>();
  private readonly lingerMs: number;
  private readonly maxWeight: number;
  private readonly dlq: string;
  /** Bumped on every rebalance or crash: work of an older generation must not commit. */
  private generation = 0;
  /** Batches in the handler, over all partitions: at most SubscribeOptions.concurrency. */
  private readonly running = new Set<Promise<void>>();
  private readonly concurrency: number;

  constructor(deps: BatchRunnerDeps<T>) {
    this.deps = deps;
    this.concurrency = Math.max(1, Math.floor(deps.options.concurrency ?? 1));
    this.lingerMs = Math.max(0, deps.options.lingerMs ?? DEFAULT_LINGER_MS);
    this.maxWeight = deps.options.maxBatchWeight ?? Infinity;
    this.dlq = deps.options.deadLetterTopic ?? Topics.deadLetter;
  }

  private state(partition: number): PartitionState<T> {
    let st = this.partitions.get(partition);
    if (st === undefined) {
      const never = (): boolean => false;
      st = { partition, lock: Promise.resolve(), pending: undefined, inFlight: undefined, timer: undefined, highWatermark: '0', next: undefined, resumedTo: undefined, heartbeat: async () => undefined, isRunning: never, isStale: never };
      this.partitions.set(partition, st);
    }
    return st;
  }

  private async withLock<R>(st: PartitionState<T>, body: () => Promise<R>): Promise<R> {
    const previous = st.lock;
    let release!: () => void;
    st.lock = new Promise<void>((resolve) => (release = resolve));
    try {
      await previous;
      return await body();
    } finally {
      release();
    }
  }

  private clearTimer(st: PartitionState<T>): void {
    if (st.timer !== undefined) clearTimeout(st.timer);
    st.timer = undefined;
  }

  /**
   * Gives up a batch that was not handled: drops it and everything read after it, and seeks
   * kafkajs back to its first offset (its offsets were resolved, so without the seek the next
   * fetch would start after them). No seek after a rebalance (the new assignment starts from the
   * committed offset) or while stopping.
   */
  private rewind(st: PartitionState<T>, firstOffset: string, generation: number): void {
    // After a rebalance reset() dropped that generation's records; what is pending now is newer.
    if (generation !== this.generation) return;
    st.pending = undefined;
    this.clearTimer(st);
    if (this.deps.isStopping()) return;
    try {
      this.deps.consumer.seek({ topic: this.deps.options.topic, partition: st.partition, offset: firstOffset });
    } catch {
      // Consumer not running: a restart starts from the committed offset anyway.
    }
  }

  /** A rebalance or crash: pending records are no longer ours to commit. kafkajs re-reads from the committed offsets. */
  reset(): void {
    this.generation++;
    for (const st of this.partitions.values()) {
      this.clearTimer(st);
      st.pending = undefined;
    }
  }

  /** Raises a partition's known high watermark (from a fetch or the admin API); never lowers it. */
  observeHighWatermark(partition: number, highWatermark: string): void {
    const st = this.state(partition);
    if (BigInt(highWatermark) > BigInt(st.highWatermark)) st.highWatermark = highWatermark;
  }

  /** A new group generation: the positions of partitions we may no longer own are unknown. */
  forgetPositions(): void {
    for (const st of this.partitions.values()) {
      st.next = undefined;
      st.resumedTo = undefined;
    }
  }

  /**
   * A new assignment (GROUP_JOIN): each partition starts where the handler's store holds it
   * (SubscribeOptions.offsets), so one that gets no new record is read again too. Under the
   * partition's lock, so the generation's first batch waits for it; skipped when a batch of this
   * generation was read already or the store does not answer (the check before each try remains).
   */
  resumeAssigned(partitions: readonly number[]): void {
    const offsets = this.deps.options.offsets;
    if (offsets === undefined) return;
    const generation = this.generation;
    for (const partition of partitions) {
      const st = this.state(partition);
      void this.withLock(st, async () => {
        if (generation !== this.generation || st.next !== undefined || this.deps.isStopping()) return;
        const next = await offsets.next(partition).catch((err: unknown) => {
          this.deps.log?.warn({ topic: this.deps.options.topic, partition, err: (err as Error).message }, "could not read the handler's store offset of a new assignment; checking before the first batch instead");
          return undefined;
        });
        if (next === undefined || generation !== this.generation || st.next !== undefined || this.deps.isStopping()) return;
        try {
          this.deps.consumer.seek({ topic: this.deps.options.topic, partition, offset: next });
          st.resumedTo = BigInt(next);
        } catch {
          // Consumer not running: its restart joins again.
        }
      });
    }
  }

  /** Partitions with a known position, for admin high-watermark refreshes. */
  ownedPartitions(): number[] {
    return [...this.partitions.values()].filter((st) => st.next !== undefined).map((st) => st.partition);
  }

  /**
   * Lag of each partition read since the last rebalance: the broker's high watermark (as last
   * seen) minus the next offset to handle, so a batch that does not get handled shows as growing
   * lag, not as 0.
   */
  lag(): PartitionLag[] {
    return [...this.partitions.values()]
      .filter((st) => st.next !== undefined)
      .sort((a, b) => a.partition - b.partition)
      .map((st) => ({ topic: this.deps.options.topic, partition: st.partition, lag: Math.max(0, Number(BigInt(st.highWatermark) - st.next!)) }));
  }

  /** Stops the linger timers (stop() then drains). */
  stopTimers(): void {
    for (const st of this.partitions.values()) this.clearTimer(st);
  }

  /**
   * stop(): waits for the batches in the handler (they commit while kafkajs still runs), then
   * drops every partition's pending records uncommitted: the next owner reads them again from
   * the committed offset (nothing of them reached the handler).
   */
  async drain(): Promise<void> {
    await Promise.all(
      [...this.partitions.values()].map((st) =>
        this.withLock(st, async () => {
          await st.inFlight;
          st.pending = undefined;
          this.clearTimer(st);
        }),
      ),
    );
  }

  /** Everything handed to the handler so far is committed or given up (tests, stop). */
  async idle(): Promise<void> {
    for (;;) {
      const busy = [...this.partitions.values()].map((st) => st.inFlight).filter((p) => p !== undefined);
      await Promise.all(busy);
      // A finished batch hands the next one over on a later tick (kickAll).
      await new Promise((r) => setImmediate(r));
      if ([...this.partitions.values()].every((st) => st.inFlight === undefined)) return;
    }
  }

  /** kafkajs eachBatch. */
  async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, heartbeat, isRunning, isStale, resolveOffset, pause } = payload;
    const { options, isStopping } = this.deps;
    if (isStopping()) {
      // stop() is draining; stop fetching this partition instead of re-reading it in a loop.
      pause();
      return;
    }
    const st = this.state(batch.partition);
    await this.withLock(st, async () => {
      // Stale: a rewind (seek) is waiting for the next fetch; these records are read again.
      const gone = (): boolean => !isRunning() || isStale() || isStopping();
      if (gone()) return;
      st.heartbeat = heartbeat;
      st.isRunning = isRunning;
      st.isStale = isStale;
      this.observeHighWatermark(batch.partition, batch.highWatermark);
      if (st.next === undefined && batch.messages.length > 0) st.next = BigInt(batch.messages[0]!.offset);
      for (const message of batch.messages) {
        const record = toRecord(message);
        let pending = st.pending;
        if (pending === undefined) {
          pending = { items: [], poison: [], firstOffset: record.offset, lastOffset: record.offset, records: 0, weight: 0, since: performance.now(), caughtUp: false };
          st.pending = pending;
        }
        pending.lastOffset = record.offset;
        pending.records++;
        try {
          const value = options.decode(record);
          pending.items.push({ record, value });
          pending.weight += options.weightOf === undefined ? 1 : options.weightOf(value);
        } catch (err) {
          pending.poison.push(deadLetter(batch.topic, batch.partition, record, err));
        }
        // A batch stops growing once it reaches the weight limit, so it exceeds it by at most one record.
        if (pending.records >= this.deps.maxBatchRecords || pending.weight >= this.maxWeight) {
          await this.handOver(st);
          if (gone()) return;
        }
      }
      // Resolved, not committed: kafkajs fetches on; a rewind (seek) or a rebalance re-reads them.
      resolveOffset(batch.lastOffset());
      if (st.pending === undefined) return;
      st.pending.caughtUp = BigInt(batch.highWatermark) - 1n <= BigInt(batch.lastOffset());
      await this.handOverIfFree(st);
    });
  }

  private handlerFree(st: PartitionState<T>): boolean {
    return st.inFlight === undefined && this.running.size < this.concurrency;
  }

  /**
   * Under the partition lock: hands the pending batch over when the handler is free for it and
   * the batch is ready; when it is free but the batch is younger than lingerMs, arms the linger
   * timer. A busy handler hands it over when it finishes (see kickAll).
   */
  private async handOverIfFree(st: PartitionState<T>): Promise<void> {
    const pending = st.pending;
    if (pending === undefined || !this.handlerFree(st)) return;
    const wait = pending.since + this.lingerMs - performance.now();
    const ready = pending.caughtUp || wait <= 0 || pending.records >= this.deps.maxBatchRecords || pending.weight >= this.maxWeight;
    if (ready) await this.handOver(st);
    else st.timer ??= setTimeout(() => void this.kick(st), wait);
  }

  private async kick(st: PartitionState<T>): Promise<void> {
    this.clearTimer(st);
    await this.withLock(st, async () => {
      if (this.deps.isStopping() || st.isStale()) return;
      await this.handOverIfFree(st);
    });
  }

  /** A handler finished: offer its slot to the partitions with records pending, oldest first. */
  private kickAll(): void {
    const waiting = [...this.partitions.values()].filter((st) => st.pending !== undefined).sort((a, b) => a.pending!.since - b.pending!.since);
    for (const st of waiting) void this.kick(st);
  }

  /**
   * Starts handling the pending batch in the background once the partition's previous batch is
   * done and a concurrency slot is free (called under the partition lock; waits there when the
   * handler is busy, which holds kafkajs back). Records read meanwhile form the next pending batch.
   */
  private async handOver(st: PartitionState<T>): Promise<void> {
    if (st.inFlight !== undefined) await st.inFlight;
    // SubscribeOptions.concurrency bounds the partitions in the handler at once.
    while (this.running.size >= this.concurrency) await Promise.race(this.running);
    const pending = st.pending;
    // The previous batch was given up (rewound) or the group rebalanced meanwhile.
    if (pending === undefined || st.isStale() || this.deps.isStopping()) return;
    st.pending = undefined;
    this.clearTimer(st);
    const generation = this.generation;
    const run = this.flush(st, pending)
      .then((result) => {
        // Given up (kafkajs stopped, rebalance, stop()): nothing after it may be committed either.
        if (result === 'abandoned') this.rewind(st, pending.firstOffset, generation);
        else if (result instanceof ResumeAt) {
          this.deps.log?.warn({ topic: this.deps.options.topic, partition: st.partition, batchFirstOffset: pending.firstOffset, resumeAt: result.offset }, "the handler's store is behind this batch (it lost recent writes); reading again from its offset");
          this.rewind(st, result.offset, generation);
          if (generation === this.generation) st.resumedTo = BigInt(result.offset);
        }
      })
      .catch((err: unknown) => {
        const cause = err instanceof MembershipLost ? err.reason : err;
        this.deps.log?.warn({ topic: this.deps.options.topic, partition: st.partition, err: (cause as Error).message }, 'batch not handed over; reading it again from its first offset');
        this.rewind(st, pending.firstOffset, generation);
      })
      .finally(() => {
        if (st.inFlight === run) st.inFlight = undefined;
        this.running.delete(run);
        this.kickAll();
      });
    st.inFlight = run;
    this.running.add(run);
  }

  /**
   * Dead-letters the batch's poison records, hands the rest to the handler (retrying a retriable
   * failure with backoff, never skipping; dead-lettering a non-retriable one), then commits
   * lastOffset + 1. 'abandoned' when kafkajs stopped, the partition was sought or the group
   * rebalanced before that: nothing committed.
   */
  private async flush(st: PartitionState<T>, pending: Pending<T>): Promise<FlushResult> {
    const { consumer, options, log } = this.deps;
    const topic = options.topic;
    const partition = st.partition;
    const generation = this.generation;
    const gone = (): boolean => generation !== this.generation || !st.isRunning() || st.isStale() || this.deps.isStopping();
    const decoded: DecodedBatch<T> = { topic, partition, items: pending.items, firstOffset: pending.firstOffset, lastOffset: pending.lastOffset };
    if (pending.poison.length > 0) {
      await this.deps.publish(this.dlq, pending.poison);
      pending.poison = [];
    }
    let membershipLost: unknown;
    // A failed heartbeat means the group moved on (rebalance, new generation): the batch is not
    // bad, this member just no longer owns it. Kafka marks those errors non-retriable, so they
    // are told apart here rather than dead-lettering good records.
    const guardedHeartbeat = async (): Promise<void> => {
      try {
        await st.heartbeat();
      } catch (err) {
        membershipLost = err;
        throw err;
      }
    };
    // After a ResumeAt the next batch should start at the store's offset; when it starts later the
    // broker no longer holds the records in between (retention): they are lost, say so, go on.
    let guardFrom: string | undefined = pending.firstOffset;
    if (st.resumedTo !== undefined) {
      if (BigInt(pending.firstOffset) > st.resumedTo) {
        log?.warn({ topic, partition, from: String(st.resumedTo), to: pending.firstOffset }, "records the handler's store lost are no longer on the broker (retention too short): their effects are lost");
        guardFrom = undefined;
      }
      st.resumedTo = undefined;
    }
    if (decoded.items.length > 0) {
      let result: Awaited<ReturnType<typeof handleIsolating<T>>>;
      try {
        result = await handleIsolating(decoded, {
          handle: guardedHandler(guardFrom === undefined ? undefined : options.offsets, guardFrom ?? pending.firstOffset, (b: DecodedBatch<T>) => options.handle(b, { heartbeat: guardedHeartbeat })),
          maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
          isolateAfter: options.isolateAfter ?? DEFAULT_ISOLATE_AFTER,
          retry: this.deps.retry,
          signal: this.deps.signal,
          gone,
          isFatal: (err) => membershipLost !== undefined || err instanceof ResumeAt,
          onFailure: (f, err, delayMs) => {
            this.deps.failing.set(partition, { ...f });
            log?.warn({ topic, partition, failures: f.failures, delayMs, err: err.message }, 'handler failed; retrying');
            // A wait must not cost the group membership (kafkajs' session timeout).
            void st.heartbeat().catch((hbErr: unknown) => (membershipLost ??= hbErr));
          },
        });
      } catch (err) {
        if (err instanceof ResumeAt && membershipLost === undefined) return err;
        throw err;
      } finally {
        this.deps.failing.delete(partition);
      }
      if (membershipLost !== undefined) {
        log?.warn({ topic, partition, err: (membershipLost as Error).message }, 'lost group membership during a batch; leaving it uncommitted for the next owner');
        throw new MembershipLost(membershipLost);
      }
      if (result === 'abandoned') return 'abandoned';
      if (result.length > 0) {
        log?.warn({ topic, partition, records: result.length, err: result[0]!.err.message }, 'handler rejected records; dead-lettering them');
        await this.deps.publish(this.dlq, result.map((r) => deadLetter(topic, partition, r.record, r.err)));
      }
    }
    // Handled, but a new generation may have given the partition to another member.
    if (generation !== this.generation) return 'abandoned';
    // The handler's store first (its record survives or is lost with the effects), then Kafka.
    await options.offsets?.advance(partition, String(BigInt(pending.lastOffset) + 1n));
    await consumer.commitOffsets([{ topic, partition, offset: String(BigInt(pending.lastOffset) + 1n) }]);
    st.next = BigInt(pending.lastOffset) + 1n;
    await st.heartbeat().catch(() => undefined); // a lost membership is kafkajs' to notice
    return 'done';
  }
}
