import kafkajs from 'kafkajs';
import type { Admin } from 'kafkajs';
import type { ExistingTopic } from './plan';
import type { TopicSpec } from './config';

const { Kafka, logLevel, ConfigResourceTypes } = kafkajs;

/** The cluster operations `pulsegate topics` needs. */
export interface TopicAdmin {
  /** The Pulsegate topics that exist, with partitions and (where the broker says) retention. */
  describe(names: readonly string[]): Promise<{ topics: Map<string, ExistingTopic>; retentionUnknown?: string }>;
  create(topics: readonly TopicSpec[], replicationFactor: number): Promise<void>;
  addPartitions(grow: ReadonlyArray<{ topic: string; count: number }>): Promise<void>;
  close(): Promise<void>;
}

export interface AdminOptions {
  brokers: string[];
  /** How long one request may take, ms. Default 10 000. */
  requestTimeoutMs?: number;
}

/** kafkajs' message plus the chain of causes it wraps, e.g. each rejected topic's reason. */
export function describeKafkaError(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e instanceof Error && parts.length < 4; e = (e as { cause?: unknown }).cause) {
    if (!parts.includes(e.message)) parts.push(e.message);
    const inner = (e as { errors?: unknown[] }).errors;
    if (Array.isArray(inner)) for (const i of inner.slice(0, 8)) if (i instanceof Error) parts.push(`${(i as { topic?: string }).topic ?? ''} ${i.message}`.trim());
  }
  const text = parts.join(': ') || String(err);
  // kafkajs sends CreateTopics, CreatePartitions and DescribeConfigs to the controller; a cluster
  // that names none (the librdkafka mock) fails with this rather than an unsupported-API error.
  return /Broker -?\d+ not found in the cached metadata/.test(text) ? `${text} (the cluster names no controller broker, which kafkajs sends CreateTopics, CreatePartitions and DescribeConfigs to)` : text;
}

/** A kafkajs admin client on `brokers`, retrying a failed request at most twice. */
export function kafkaTopicAdmin(options: AdminOptions): TopicAdmin {
  const kafka = new Kafka({
    clientId: 'pulsegate-topics',
    brokers: options.brokers,
    connectionTimeout: 3_000,
    requestTimeout: options.requestTimeoutMs ?? 10_000,
    retry: { retries: 2, initialRetryTime: 300, maxRetryTime: 2_000 },
    logLevel: logLevel.NOTHING,
  });
  let admin: Admin | undefined;
  const connected = async (): Promise<Admin> => {
    if (admin === undefined) {
      const a = kafka.admin();
      await a.connect();
      admin = a;
    }
    return admin;
  };
  return {
    async describe(names) {
      const a = await connected();
      const present = new Set(await a.listTopics());
      const mine = names.filter((n) => present.has(n));
      const topics = new Map<string, ExistingTopic>();
      if (mine.length === 0) return { topics };
      const meta = await a.fetchTopicMetadata({ topics: mine });
      for (const t of meta.topics) topics.set(t.name, { partitions: t.partitions.length });
      try {
        const configs = await a.describeConfigs({ includeSynonyms: false, resources: mine.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: ['retention.ms'] })) });
        for (const r of configs.resources) {
          const value = r.configEntries.find((c) => c.configName === 'retention.ms')?.configValue;
          const t = topics.get(r.resourceName);
          if (t !== undefined && value !== undefined && value !== null) t.retentionMs = Number(value);
        }
        return { topics };
      } catch (err) {
        return { topics, retentionUnknown: describeKafkaError(err) };
      }
    },
    async create(specs, replicationFactor) {
      const a = await connected();
      await a.createTopics({
        waitForLeaders: true,
        timeout: options.requestTimeoutMs ?? 10_000,
        topics: specs.map((t) => ({ topic: t.name, numPartitions: t.partitions, replicationFactor, configEntries: [{ name: 'retention.ms', value: String(t.retentionMs) }] })),
      });
    },
    async addPartitions(grow) {
      const a = await connected();
      await a.createPartitions({ timeout: options.requestTimeoutMs ?? 10_000, topicPartitions: grow.map((g) => ({ topic: g.topic, count: g.count })) });
    },
    async close() {
      const a = admin;
      admin = undefined;
      await a?.disconnect().catch(() => undefined);
    },
  };
}
