import { Kafka, logLevel as KafkaLogLevel, Partitioners } from 'kafkajs';
import type { LogEntry, Producer } from 'kafkajs';
import { patchKafkajsRequestQueue } from './kafkajs-patches';
import { isRetriable, PulsegateError } from './errors';
import { BatchRunner } from './kafka-runner';
import { backoffDelay, sleep } from './retry';
import type { BackoffOptions } from './retry';
import type { Bus, FailingBatch, OutgoingRecord, SubscribeOptions, Subscription } from './types';

// Before any client exists: every KafkaBus connection then runs on the patched request queue.
patchKafkajsRequestQueue();

/** The slice of a pino logger the bus uses. */
export interface BusLogger {
  error(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  info(obj: Record<string, unknown>, msg: string): void;
  debug(obj: Record<string, unknown>, msg: string): void;
}

/** Consumer group timing. Defaults suit a real cluster; tests on the mock broker shorten them. */
export interface KafkaConsumerTuning {
  /** Group session timeout, ms. Default 30 000. Must exceed ~3 000 on the librdkafka mock. */
  sessionTimeoutMs?: number;
  /** Time members get to rejoin during a rebalance, ms. Default 60 000. */
  rebalanceTimeoutMs?: number;
  /** Heartbeat interval, ms. Default 3 000 (about a third of the session timeout). */
  heartbeatIntervalMs?: number;
  /** Longest a fetch waits for data, ms; also bounds how long stop() waits. Default 500. */
  maxWaitTimeMs?: number;
  /** Most bytes fetched per partition per request. Default 1 MiB. */
  maxBytesPerPartition?: number;
  /** Most bytes of one fetch request over all partitions. Default 10 MiB (kafkajs). */
  maxBytes?: number;
  /**
   * Longest Subscription.stop() waits for the consumer to finish its batch and leave the group,
   * ms. Default 5 000. After that it gives up (logging a warning): nothing is committed for the
   * unfinished batch, and the broker drops the member after sessionTimeoutMs.
   */
  /** How often a subscription reads the broker's high watermarks for its lag, ms. Default 5 000. */
  lagRefreshMs?: number;
  stopTimeoutMs?: number;
}

export interface KafkaBusOptions {
  /** Bootstrap `host:port` list. */
  brokers: string[];
  /** Kafka client id. Default "pulsegate". */
  clientId?: string;
  /**
   * Idempotent producer: true, false, or "auto" (default) = on when the cluster reports a
   * controller broker, which kafkajs needs for InitProducerId; the librdkafka mock reports none.
   */
  idempotent?: boolean | 'auto';
  /**
   * Produce requests in flight per broker connection. Default: 1 without idempotence (a retried
   * request can otherwise overtake a later one and break per-key order), 5 with it.
   */
  maxInFlightRequests?: number;
  /** Compress produce batches with gzip. Default false (batch payloads are already compact). */
  gzip?: boolean;
  /** Most records a handler receives at once. Default 500. */
  maxBatchRecords?: number;
  /** Consumer group timing. */
  consumer?: KafkaConsumerTuning;
  /** Backoff of a retried batch; default RETRY_DEFAULTS (100 ms doubling to 10 s). */
  retry?: BackoffOptions;
  /** Where kafkajs and runner messages go. Default: nowhere (silent). */
  logger?: BusLogger;
  /** Connection timeout, ms. Default 3 000. */
  connectionTimeoutMs?: number;
  /** How long a request may take before it is failed and retried, ms. Default 30 000 (kafkajs). */
  requestTimeoutMs?: number;
  /** Retries of a failed produce request inside kafkajs before publish() rejects. Default 5. */
  producerRetries?: number;
  /** How long publish() waits for the producer to connect before failing retriably, ms. Default 10 000. */
  connectWaitMs?: number;
  /**
   * Let the producer and consumers ask the broker to create a missing topic (the broker's own
   * auto.create.topics.enable still decides). Default true. Production turns it off and creates
   * the topics with `pulsegate topics`, so a typo or a wrong cluster fails instead of creating a
   * topic with the broker's default partitions and retention.
   */
  autoCreateTopics?: boolean;
}

/** kafkajs log lines routed to a pino-style logger; WARN and above only, by design quiet. */
function logCreatorFor(logger: BusLogger | undefined) {
  return () =>
    ({ level, log }: LogEntry): void => {
      if (logger === undefined) return;
      const { message, ...rest } = log;
      // Per-request error lines ("[Connection] Response Heartbeat ... rebalancing") repeat what the
      // runner reports once; keep them at debug.
      if (message.startsWith('[Connection] Response')) return logger.debug(rest, message);
      if (level === KafkaLogLevel.ERROR || level === KafkaLogLevel.NOTHING) logger.error(rest, message);
      else if (level === KafkaLogLevel.WARN) logger.warn(rest, message);
    };
}

/** The error chain: kafkajs wraps the last failure of its own retries in `cause`. */
function chain(err: unknown): Error[] {
  const out: Error[] = [];
  for (let e: unknown = err; e instanceof Error && out.length < 6; e = (e as { cause?: unknown }).cause) out.push(e);
  return out;
}

/** Errors that mean the connection to the cluster is gone (as opposed to a refused request). */
function isConnectionError(err: unknown): boolean {
  return chain(err).some((e) => /^KafkaJS(Connection|ConnectionClosed|RequestTimeout)Error$|^KafkaJSBrokerNotFound$/.test(e.name));
}

/**
 * Whether a failed publish may succeed if tried again. kafkajs marks "retries exhausted" as
 * non-retriable for its own retrier; for our caller what counts is the cause it gave up on.
 */
function publishRetriable(err: unknown): boolean {
  const errors = chain(err);
  const root = errors[errors.length - 1];
  return root === undefined ? true : isRetriable(root);
}

/**
 * The bus on Kafka (kafkajs). Producer: acks=all, idempotent where the cluster allows, key =
 * record key (series stay on one partition), one produce request per publish() call. Consumer
 * runner: eachBatch with auto-commit off; decode → dead-letter poison records → handle →
 * commit last+1, retrying a failing batch with backoff and never skipping it.
 */
export class KafkaBus implements Bus {
  readonly kind = 'kafka' as const;
  private readonly kafka: Kafka;
  private readonly options: KafkaBusOptions;
  private readonly log: BusLogger | undefined;
  private producer: Producer | undefined;
  private connecting: Promise<void> | undefined;
  private connected = false;
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly subscriptions = new Set<Subscription>();
  /** Whether the producer runs idempotent, once decided (see KafkaBusOptions.idempotent). */
  idempotent: boolean | undefined;

  constructor(options: KafkaBusOptions) {
    if (options.brokers.length === 0) throw new Error('KafkaBus: brokers must not be empty');
    this.options = options;
    this.log = options.logger;
    this.kafka = new Kafka({
      clientId: options.clientId ?? 'pulsegate',
      brokers: options.brokers,
      connectionTimeout: options.connectionTimeoutMs ?? 3_000,
      requestTimeout: options.requestTimeoutMs ?? 30_000,
      logLevel: KafkaLogLevel.WARN,
      logCreator: logCreatorFor(options.logger),
    });
  }

  /** True while the producer is connected and the bus is open. */
  isReady(): boolean {
    return this.connected && !this.closed;
  }

  /**
   * Connects the producer, retrying with backoff until it succeeds or the bus is closed.
   * Idempotent: concurrent callers share one attempt. createBus() starts it right away.
   */
  connect(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('bus is closed'));
    this.connecting ??= this.connectLoop().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async decideIdempotence(): Promise<boolean> {
    const wanted = this.options.idempotent ?? 'auto';
    if (wanted !== 'auto') return wanted;
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const cluster = await admin.describeCluster();
      return cluster.brokers.some((b) => b.nodeId === cluster.controller);
    } finally {
      await admin.disconnect();
    }
  }

  private async connectLoop(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (this.closed) throw new Error('bus is closed');
      try {
        if (this.producer === undefined) {
          this.idempotent ??= await this.decideIdempotence();
          const producer = this.kafka.producer({
            idempotent: this.idempotent,
            maxInFlightRequests: this.options.maxInFlightRequests ?? (this.idempotent ? 5 : 1),
            allowAutoTopicCreation: this.options.autoCreateTopics ?? true,
            ...(this.options.producerRetries === undefined || this.idempotent ? {} : { retry: { retries: this.options.producerRetries } }),
            // Java-compatible murmur2 partitioning (kafkajs' v2 default, named to silence its warning).
            createPartitioner: Partitioners.DefaultPartitioner,
          });
          producer.on(producer.events.CONNECT, () => {
            this.connected = true;
          });
          producer.on(producer.events.DISCONNECT, () => {
            this.connected = false;
          });
          this.producer = producer;
        }
        await this.producer.connect();
        this.connected = true;
        this.log?.info({ brokers: this.options.brokers, idempotent: this.idempotent }, 'kafka producer connected');
        return;
      } catch (err) {
        this.log?.warn({ err: (err as Error).message, attempt }, 'kafka producer connect failed; retrying');
        await sleep(backoffDelay(Math.min(attempt, 6), this.options.retry));
      }
    }
  }

  private async readyProducer(): Promise<Producer> {
    if (this.closed) throw new Error('bus is closed');
    if (!this.connected || this.producer === undefined) {
      const wait = this.options.connectWaitMs ?? 10_000;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new PulsegateError(`kafka producer not connected after ${wait} ms`, { retriable: true })), wait);
      });
      try {
        await Promise.race([this.connect(), timeout]);
      } finally {
        clearTimeout(timer);
      }
    }
    if (this.producer === undefined) throw new Error('bus is closed');
    return this.producer;
  }

  async publish(topic: string, records: OutgoingRecord[]): Promise<void> {
    if (records.length === 0) return;
    const producer = await this.readyProducer();
    try {
      await producer.send({
        topic,
        acks: -1,
        compression: this.options.gzip === true ? 1 : 0,
        messages: records.map((r) => ({ key: r.key, value: r.value, headers: r.headers ?? {} })),
      });
    } catch (err) {
      if (isConnectionError(err) && !this.closed) {
        // Not ready until a reconnect proves the cluster is back (readiness follows the broker).
        this.connected = false;
        void producer
          .disconnect()
          .catch(() => undefined)
          .then(() => this.connect())
          .catch(() => undefined);
      }
      throw new PulsegateError(`publish to ${topic} failed: ${(err as Error).message}`, { retriable: publishRetriable(err), cause: err });
    }
  }

  async subscribe<T>(options: SubscribeOptions<T>): Promise<Subscription> {
    if (this.closed) throw new Error('bus is closed');
    const tuning = this.options.consumer ?? {};
    let stopping = false;
    const consumer = this.kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: tuning.sessionTimeoutMs ?? 30_000,
      rebalanceTimeout: tuning.rebalanceTimeoutMs ?? 60_000,
      heartbeatInterval: tuning.heartbeatIntervalMs ?? 3_000,
      maxWaitTimeInMs: tuning.maxWaitTimeMs ?? 500,
      maxBytesPerPartition: tuning.maxBytesPerPartition ?? 1024 * 1024,
      maxBytes: tuning.maxBytes ?? 10 * 1024 * 1024,
      allowAutoTopicCreation: this.options.autoCreateTopics ?? true,
      // kafkajs restarts itself after a retriable crash unless this says no; non-retriable
      // crashes it never restarts (see the CRASH handler below).
      retry: { restartOnFailure: async () => !stopping },
    });
    const abort = new AbortController();
    const failing = new Map<number, FailingBatch>();
    const runner = new BatchRunner<T>({
      consumer,
      options,
      maxBatchRecords: Math.max(1, this.options.maxBatchRecords ?? 500),
      retry: this.options.retry,
      log: this.log,
      publish: (topic, records) => this.publish(topic, records),
      isStopping: () => stopping,
      signal: abort.signal,
      failing,
    });
    // A new generation starts every assigned partition again from its committed offset, so
    // records read but not handled yet (linger) are dropped, never committed by the old owner.
    consumer.on(consumer.events.REBALANCING, () => runner.reset());
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      runner.reset();
      runner.forgetPositions();
      runner.resumeAssigned(payload.memberAssignment[options.topic] ?? []);
    });
    // The high watermark of a fetch is stale while the runner holds back (a batch being retried
    // stops fetching): ask the broker for it now and then, so lag keeps growing while stuck.
    const lagRefreshMs = tuning.lagRefreshMs ?? 5_000;
    const admin = this.kafka.admin();
    let adminConnected: Promise<void> | undefined;
    const refreshHighWatermarks = async (): Promise<void> => {
      if (runner.ownedPartitions().length === 0) return;
      adminConnected ??= admin.connect();
      await adminConnected;
      for (const o of await admin.fetchTopicOffsets(options.topic)) runner.observeHighWatermark(o.partition, o.high);
    };
    const lagTimer = setInterval(() => {
      refreshHighWatermarks().catch((err: unknown) => {
        adminConnected = undefined;
        this.log?.warn({ topic: options.topic, err: (err as Error).message }, 'could not read high watermarks for consumer lag');
      });
    }, lagRefreshMs);
    lagTimer.unref();
    const where = { topic: options.topic, groupId: options.groupId };
    const start = async (): Promise<void> => {
      await consumer.connect();
      await consumer.subscribe({ topic: options.topic, fromBeginning: options.fromBeginning ?? true });
      // run() resolves once the first join and sync are done, or after a crash during them.
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        // kafkajs never hands two batches of one partition out at once, so per-partition order holds.
        partitionsConsumedConcurrently: Math.max(1, Math.floor(options.concurrency ?? 1)),
        eachBatch: (payload) => runner.eachBatch(payload),
      });
    };
    // A crash kafkajs will not restart from (a non-retriable error, e.g. the librdkafka mock's
    // INVALID_REQUEST on a late SyncGroup) leaves the consumer disconnected for good while its
    // partitions stay assigned to it; without a restart they would never be consumed again.
    let crashed = false;
    let inStart = false;
    let restarting: Promise<void> | undefined;
    const startTracked = async (): Promise<void> => {
      crashed = false;
      inStart = true;
      try {
        await start();
      } finally {
        inStart = false;
      }
    };
    const restartLoop = async (): Promise<void> => {
      for (let attempt = 0; crashed && !stopping; attempt++) {
        await sleep(backoffDelay(Math.min(attempt, 6), this.options.retry), abort.signal);
        if (stopping) return;
        this.log?.warn({ ...where, attempt }, 'restarting kafka consumer after a crash');
        try {
          await startTracked();
        } catch (err) {
          crashed = true;
          this.log?.warn({ ...where, attempt, err: (err as Error).message }, 'kafka consumer restart failed; retrying');
        }
      }
    };
    const scheduleRestart = (): void => {
      restarting ??= restartLoop().finally(() => {
        restarting = undefined;
      });
    };
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      runner.reset();
      if (stopping) return;
      if (payload.restart) {
        this.log?.warn({ ...where, err: payload.error.message }, 'kafka consumer crashed; kafkajs restarts it');
        return;
      }
      crashed = true;
      this.log?.error({ ...where, err: payload.error.message }, 'kafka consumer crashed with a non-retriable error; restarting it');
      // A crash inside start() is seen by whoever called it once run() resolves.
      if (!inStart) scheduleRestart();
    });
    await startTracked();
    if (crashed) scheduleRestart();
    const stopTimeoutMs = tuning.stopTimeoutMs ?? 5_000;
    let stopped: Promise<void> | undefined;
    const subscription: Subscription = {
      lag: () => runner.lag(),
      failing: () => [...failing.values()].map((f) => ({ ...f })),
      stop: () => {
        stopped ??= (async () => {
          stopping = true;
          clearInterval(lagTimer);
          void adminConnected?.then(() => admin.disconnect()).catch(() => undefined);
          abort.abort();
          runner.stopTimers();
          // First the batches in the handler finish and commit while kafkajs still runs (it skips
          // commits once stopping); records read but not handed over yet (linger) are dropped
          // uncommitted, for the next owner. Then disconnect() leaves the group; it also waits for a
          // join or sync in progress, which a broker may hold for up to the rebalance timeout. Both
          // are bounded by stopTimeoutMs together, so a stopping service never hangs on them.
          const deadline = Date.now() + stopTimeoutMs;
          const until = async <R>(work: Promise<R>, at: number): Promise<R | 'timeout'> => {
            let timer: NodeJS.Timeout | undefined;
            const timedOut = new Promise<'timeout'>((resolve) => {
              timer = setTimeout(() => resolve('timeout'), Math.max(0, at - Date.now()));
            });
            try {
              return await Promise.race([work, timedOut]);
            } finally {
              clearTimeout(timer);
            }
          };
          if ((await until(runner.drain(), Date.now() + stopTimeoutMs / 2)) === 'timeout') {
            this.log?.warn({ ...where, stopTimeoutMs }, 'kafka consumer did not stop in time: a handler is still running; its batch stays uncommitted for the next owner');
          }
          const disconnected = consumer.disconnect().then(
            () => 'done' as const,
            (err: unknown) => {
              this.log?.warn({ ...where, err: (err as Error).message }, 'kafka consumer disconnect failed');
              return 'done' as const;
            },
          );
          if ((await until(disconnected, deadline)) === 'timeout') {
            this.log?.warn({ ...where, stopTimeoutMs }, 'kafka consumer did not stop in time; giving up on it (the broker expires the member after the session timeout)');
          }
          this.subscriptions.delete(subscription);
        })();
        return stopped;
      },
    };
    this.subscriptions.add(subscription);
    return subscription;
  }

  /** Stops every subscription (each finishes its batch and commits), then the producer. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.subscriptions].map((s) => s.stop()));
      this.closed = true;
      const producer = this.producer;
      this.producer = undefined;
      if (producer !== undefined) await producer.disconnect().catch(() => undefined);
      this.connected = false;
    })();
    return this.closing;
  }
}
