import type { Consumer, EachBatchPayload, IHeaders, KafkaMessage } from 'kafkajs';
import { Topics } from '@pulsegate/events';
import { isRetriable } from './errors';
import { deadLetter } from './memory-bus';
import { backoffDelay, sleep } from './retry';
import type { BackoffOptions } from './retry';
import type { BusRecord, DecodedBatch, OutgoingRecord, SubscribeOptions } from './types';

/** The slice of a pino logger the runner uses. */
interface RunnerLogger {
  warn(obj: Record<string, unknown>, msg: string): void;
}

/** Default SubscribeOptions.lingerMs of a KafkaBus subscription. */
export const DEFAULT_LINGER_MS = 50;

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
}

/** What the runner knows of one assigned partition. */
interface PartitionState<T> {
  partition: number;
  /** Tail of the partition's lock chain: eachBatch and timer flushes take turns on it. */
  lock: Promise<void>;
  pending: Pending<T> | undefined;
  timer: NodeJS.Timeout | undefined;
  highWatermark: string;
  /** From the partition's latest eachBatch payload; the timer flush uses them too. */
  heartbeat: () => Promise<void>;
  isRunning: () => boolean;
  isStale: () => boolean;
}

type FlushMode = 'batch' | 'timer' | 'final';
type FlushResult = 'done' | 'abandoned';

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
  /** Lag per partition after its last handled batch. */
  lag: Map<number, number>;
}

/**
 * The consumer runner of one KafkaBus subscription (kafkajs eachBatch, auto-commit off).
 *
 * Fetched batches of a partition are decoded into a pending buffer ("linger") and handed to the
 * handler as one batch when the buffer reaches maxBatchRecords or maxBatchWeight, when the
 * partition is caught up (the last fetched offset is the high watermark − 1), or when its oldest
 * record has waited lingerMs. Buffered offsets are resolved so kafkajs fetches on; nothing is
 * committed before the handler resolved, so pending records that are dropped (rebalance, crash,
 * lost membership) are read again from the committed offset. A partition is flushed by one caller
 * at a time (a per-partition lock shared by eachBatch and the linger timer), so order holds.
 */
export class BatchRunner<T> {
  private readonly deps: BatchRunnerDeps<T>;
  private readonly partitions = new Map<number, PartitionState<T>>();
  private readonly lingerMs: number;
  private readonly maxWeight: number;
  private readonly dlq: string;
  /** Bumped on every rebalance or crash: work of an older generation must not commit. */
  private generation = 0;

  constructor(deps: BatchRunnerDeps<T>) {
    this.deps = deps;
    this.lingerMs = Math.max(0, deps.options.lingerMs ?? DEFAULT_LINGER_MS);
    this.maxWeight = deps.options.maxBatchWeight ?? Infinity;
    this.dlq = deps.options.deadLetterTopic ?? Topics.deadLetter;
  }

  private state(partition: number): PartitionState<T> {
    let st = this.partitions.get(partition);
    if (st === undefined) {
      const never = (): boolean => false;
      st = { partition, lock: Promise.resolve(), pending: undefined, timer: undefined, highWatermark: '0', heartbeat: async () => undefined, isRunning: never, isStale: never };
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

  private clearPending(st: PartitionState<T>, pending: Pending<T>): void {
    if (st.pending !== pending) return;
    st.pending = undefined;
    if (st.timer !== undefined) clearTimeout(st.timer);
    st.timer = undefined;
  }

  /**
   * Drops pending records that were not handled and makes kafkajs read them again: their offsets
   * were resolved, so without the seek its next fetch would start after them.
   */
  private dropAndRewind(st: PartitionState<T>, pending: Pending<T>, generation: number): void {
    if (st.pending !== pending) return; // handled and committed, or dropped by a rebalance
    this.clearPending(st, pending);
    if (generation !== this.generation || this.deps.isStopping()) return; // a new assignment starts from the committed offset
    try {
      this.deps.consumer.seek({ topic: this.deps.options.topic, partition: st.partition, offset: pending.firstOffset });
    } catch {
      // Consumer not running: a restart starts from the committed offset anyway.
    }
  }

  /** A rebalance or crash: pending records are no longer ours to commit. kafkajs re-reads from the committed offsets. */
  reset(): void {
    this.generation++;
    for (const st of this.partitions.values()) {
      if (st.timer !== undefined) clearTimeout(st.timer);
      st.timer = undefined;
      st.pending = undefined;
    }
  }

  /** Stops the linger timers (stop() flushes with flushAll instead). */
  stopTimers(): void {
    for (const st of this.partitions.values()) {
      if (st.timer !== undefined) clearTimeout(st.timer);
      st.timer = undefined;
    }
  }

  /** stop(): hands every partition's pending records to the handler once, committing what resolves. */
  async flushAll(): Promise<void> {
    await Promise.all(
      [...this.partitions.values()].map((st) =>
        this.withLock(st, async () => {
          const pending = st.pending;
          if (pending === undefined) return;
          try {
            await this.flush(st, pending, 'final');
          } catch (err) {
            this.deps.log?.warn({ topic: this.deps.options.topic, partition: st.partition, err: (err as Error).message }, 'could not hand pending records over while stopping; the next owner reads them again');
          } finally {
            this.clearPending(st, pending);
          }
        }),
      ),
    );
  }

  /** kafkajs eachBatch. */
  async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, heartbeat, isRunning, isStale, resolveOffset, pause } = payload;
    const { options, isStopping } = this.deps;
    if (isStopping()) {
      // stop() is flushing; stop fetching this partition instead of re-reading it in a loop.
      pause();
      return;
    }
    const st = this.state(batch.partition);
    await this.withLock(st, async () => {
      if (!isRunning() || isStale() || isStopping()) return;
      st.heartbeat = heartbeat;
      st.isRunning = isRunning;
      st.isStale = isStale;
      st.highWatermark = batch.highWatermark;
      const generation = this.generation;
      for (const message of batch.messages) {
        const record = toRecord(message);
        let pending = st.pending;
        if (pending === undefined) {
          pending = { items: [], poison: [], firstOffset: record.offset, lastOffset: record.offset, records: 0, weight: 0, since: performance.now() };
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
          if ((await this.flushInBatch(st, pending, generation)) === 'abandoned') return;
        }
      }
      // Resolved, not committed: kafkajs fetches on; a rewind (seek) or a rebalance re-reads them.
      resolveOffset(batch.lastOffset());
      const pending = st.pending;
      if (pending === undefined) return;
      const caughtUp = BigInt(batch.highWatermark) - 1n <= BigInt(batch.lastOffset());
      if (caughtUp || this.lingerMs === 0) {
        await this.flushInBatch(st, pending, generation);
        return;
      }
      st.timer ??= setTimeout(() => void this.onTimer(st), Math.max(0, pending.since + this.lingerMs - performance.now()));
    });
  }

  /** A flush inside eachBatch: a lost membership is thrown to kafkajs (which rejoins the group). */
  private async flushInBatch(st: PartitionState<T>, pending: Pending<T>, generation: number): Promise<FlushResult> {
    let result: FlushResult;
    try {
      result = await this.flush(st, pending, 'batch');
    } catch (err) {
      this.dropAndRewind(st, pending, generation);
      throw err instanceof MembershipLost ? err.reason : err;
    }
    // Given up because kafkajs stopped or moved the partition: read it again from the committed
    // offset; while stopping, stop() hands the records over once more.
    if (result === 'abandoned' && !this.deps.isStopping()) this.dropAndRewind(st, pending, generation);
    // Keeps the membership alive between large batches; a failure here is kafkajs' to handle.
    if (result === 'done') await st.heartbeat();
    return result;
  }

  private async onTimer(st: PartitionState<T>): Promise<void> {
    st.timer = undefined;
    await this.withLock(st, async () => {
      const pending = st.pending;
      if (pending === undefined || this.deps.isStopping() || st.timer !== undefined) return;
      const generation = this.generation;
      try {
        const result = await this.flush(st, pending, 'timer');
        if (result === 'abandoned' && !this.deps.isStopping()) this.dropAndRewind(st, pending, generation);
      } catch (err) {
        const cause = err instanceof MembershipLost ? err.reason : err;
        this.deps.log?.warn({ topic: this.deps.options.topic, partition: st.partition, err: (cause as Error).message }, 'linger flush failed; reading the batch again from the committed offset');
        this.dropAndRewind(st, pending, generation);
      }
    });
  }

  /**
   * Dead-letters the batch's poison records, hands the rest to the handler (retrying a retriable
   * failure with backoff, never skipping; dead-lettering a non-retriable one), then commits
   * lastOffset + 1. 'abandoned' when kafkajs stopped, the partition was sought or the group
   * rebalanced before that: nothing committed. A 'final' flush tries the handler once.
   */
  private async flush(st: PartitionState<T>, pending: Pending<T>, mode: FlushMode): Promise<FlushResult> {
    const { consumer, options, log } = this.deps;
    const topic = options.topic;
    const partition = st.partition;
    const generation = this.generation;
    const gone = (): boolean => generation !== this.generation || !st.isRunning() || st.isStale() || (mode !== 'final' && this.deps.isStopping());
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
    for (let attempt = 0; decoded.items.length > 0; attempt++) {
      if (gone()) return 'abandoned';
      try {
        await options.handle(decoded, { heartbeat: guardedHeartbeat });
        break;
      } catch (err) {
        if (membershipLost !== undefined) {
          log?.warn({ topic, partition, err: (membershipLost as Error).message }, 'lost group membership during a batch; leaving it uncommitted for the next owner');
          throw new MembershipLost(membershipLost);
        }
        if (!isRetriable(err)) {
          log?.warn({ topic, partition, records: decoded.items.length, err: (err as Error).message }, 'handler rejected batch; dead-lettering it');
          await this.deps.publish(this.dlq, decoded.items.map((i) => deadLetter(topic, partition, i.record, err)));
          break;
        }
        if (mode === 'final') throw err;
        const delay = backoffDelay(Math.min(attempt, 10), this.deps.retry);
        log?.warn({ topic, partition, attempt, delayMs: delay, err: (err as Error).message }, 'handler failed; retrying batch');
        await sleep(delay, this.deps.signal);
        try {
          await st.heartbeat();
        } catch (hbErr) {
          throw new MembershipLost(hbErr);
        }
      }
    }
    // Handled, but a new generation may have given the partition to another member.
    if (generation !== this.generation) return 'abandoned';
    await consumer.commitOffsets([{ topic, partition, offset: String(BigInt(pending.lastOffset) + 1n) }]);
    this.clearPending(st, pending);
    this.deps.lag.set(partition, Math.max(0, Number(BigInt(st.highWatermark) - BigInt(pending.lastOffset) - 1n)));
    return 'done';
  }
}
