/** A record as read from a topic partition. Offsets are decimal strings (Kafka int64). */
export interface BusRecord {
  key: string | null;
  value: Buffer;
  headers: Record<string, string>;
  offset: string;
  /** Append time, epoch ms. */
  timestamp: number;
}

/** A record to publish. Records with the same key keep their order (same partition). */
export interface OutgoingRecord {
  key: string;
  value: Buffer | string;
  headers?: Record<string, string>;
}

/** Records of one partition handed to a handler after decoding; poison records are already gone. */
export interface DecodedBatch<T> {
  topic: string;
  partition: number;
  items: Array<{ record: BusRecord; value: T }>;
  /**
   * Offsets of the first and last record the runner read for this batch (including poison ones);
   * on Kafka a merged batch spans every fetched batch merged into it.
   */
  firstOffset: string;
  lastOffset: string;
}

export interface BatchContext {
  /** Keeps group membership alive during long work. */
  heartbeat(): Promise<void>;
}

/**
 * A partition's progress as the handler's own store records it, written with (or after) the
 * handler's effects, so that it survives or is lost together with them. The bus reads it before
 * handing records over and resumes from it when it lies behind the batch (see README, "Resuming
 * from the handler's store").
 */
export interface HandlerOffsets {
  /** Next offset of the partition to handle as the store holds it; undefined when it holds none. */
  next(partition: number): Promise<string | undefined>;
  /**
   * Records that every record of the partition before `next` is handled (never lowers it). Called
   * once per bus batch after the handler finished all of it, before the bus commits.
   */
  advance(partition: number, next: string): Promise<void>;
}

export interface SubscribeOptions<T> {
  groupId: string;
  topic: string;
  /**
   * Turns a record into a value. Throw a non-retriable error (see NonRetriableError) for bad input:
   * the runner moves that record to `deadLetterTopic` with the reason and goes on.
   */
  decode(record: BusRecord): T;
  /**
   * Processes a batch. Resolving acknowledges every record of it (offsets are committed after).
   * A failure is isolated to the records that cause it (see handleIsolating): the batch is split
   * by record key and then in halves, and the other records are handed over again; a record
   * failing with a non-retriable error is dead-lettered at once, one failing with retriable errors
   * after `maxAttempts` tries (or `isolateAfter` tries while the rest of its batch succeeds). So a
   * handler must be idempotent for records it already handled (the window store is).
   */
  handle(batch: DecodedBatch<T>, ctx: BatchContext): Promise<void>;
  /**
   * The handler's own record of progress. When set, every handler try first reads it and, when
   * the store holds the partition before the batch (it lost recent writes), the bus reads again
   * from the store's offset instead of handling; after each batch the bus advances it, then
   * commits. Default: none (the committed offsets alone decide).
   */
  offsets?: HandlerOffsets;
  /** Tries of one unit (batch, key group, half, record) with retriable errors before it is dead-lettered. Default 30. */
  maxAttempts?: number;
  /** Failed tries with a retriable error before a unit is split to find the record at fault. Default 3. */
  isolateAfter?: number;
  /** Where undecodable records go. Default: Topics.deadLetter. */
  deadLetterTopic?: string;
  /** Start at the earliest offset when the group has no committed offset. Default true. */
  fromBeginning?: boolean;
  /**
   * Kafka: partitions of this subscription handled at once (each partition still strictly in
   * order, one batch at a time). Default 1. The memory bus handles partitions one after another.
   */
  concurrency?: number;
  /**
   * Kafka: most total weight (see `weightOf`) one handler call receives; a fetched batch is cut
   * at whichever of this and `maxBatchRecords` comes first. Default: no weight limit.
   */
  maxBatchWeight?: number;
  /** Weight of one decoded value for `maxBatchWeight`, e.g. events in a batch record. Default 1. */
  weightOf?(value: T): number;
  /**
   * Kafka: merging of fetched batches. A fetch often returns only a few records of a partition;
   * the runner decodes them into a pending batch and hands it to `handle` once the handler is free
   * for it (no batch of the partition in the handler, fewer than `concurrency` over all partitions)
   * and the batch is caught up (nothing more to fetch), full (`maxBatchWeight` / `maxBatchRecords`)
   * or at least `lingerMs` old. While the handler is busy the pending batch keeps growing, so under
   * load handler calls get larger and under low load nothing waits; a positive `lingerMs` also
   * waits that long for more records while the handler is free. Pending records are not
   * committed: a crash or rebalance hands them to the next owner. Default 0. The memory bus hands
   * out what is there at once and ignores it.
   */
  lingerMs?: number;
}

/** Records of one assigned partition not yet handled by a subscription. */
export interface PartitionLag {
  topic: string;
  partition: number;
  /** Partition end offset minus the next offset to handle, records. */
  lag: number;
}

export interface Subscription {
  /** Stops fetching, lets the in-flight batch finish, commits, leaves the group. Idempotent. */
  stop(): Promise<void>;
  /**
   * Consumer lag of the partitions this subscription owns, when the bus knows it: exact on the
   * memory bus; on Kafka as of the last handled chunk (high watermark − next offset), for the
   * partitions handled since the last rebalance.
   */
  lag?(): PartitionLag[];
  /** Batches being retried now (failed at least once, not handled or dead-lettered yet). */
  failing?(): FailingBatch[];
}

/** The message bus every service talks to: Kafka in distributed mode, memory when embedded. */
export interface Bus {
  readonly kind: 'memory' | 'kafka';
  /** Resolves once every record is acknowledged (Kafka: by all in-sync replicas). */
  publish(topic: string, records: OutgoingRecord[]): Promise<void>;
  subscribe<T>(options: SubscribeOptions<T>): Promise<Subscription>;
  /** True while the bus can accept publishes. */
  isReady(): boolean;
  /** Stops all subscriptions and disconnects. Idempotent. */
  close(): Promise<void>;
}

/** A batch that has failed at least once and is not done yet. */
export interface FailingBatch {
  partition: number;
  /** When the first try failed, epoch ms. */
  since: number;
  /** Failed tries so far, over all units. */
  failures: number;
  /** Message of the latest failure. */
  reason: string;
}
