import { TOPIC_DEFAULTS, type TopicName } from '@pulsegate/events';

/** One topic as `pulsegate topics` wants it. */
export interface TopicSpec {
  name: string;
  partitions: number;
  /** retention.ms; -1 = forever (Kafka's own spelling). */
  retentionMs: number;
}

/** What `pulsegate topics` reads from the environment. */
export interface TopicsConfig {
  /** KAFKA_BROKERS, split. */
  brokers: string[];
  /** PULSEGATE_TOPIC_REPLICATION_FACTOR; -1 = the broker's default.replication.factor. */
  replicationFactor: number;
  topics: TopicSpec[];
}

const HOUR_MS = 3_600_000;

/** `pulsegate.invocations.dlq.v1` → `invocations.dlq`: the name PULSEGATE_TOPIC_* lists use. */
export function shortName(topic: string): string {
  return topic.replace(/^pulsegate\./, '').replace(/\.v\d+$/, '');
}

/** `name=value,…` overrides keyed by short or full topic name; errors name the variable. */
function overrides(variable: string, raw: string | undefined, parse: (value: string) => number | undefined, rule: string): Map<string, number> {
  const out = new Map<string, number>();
  if (raw === undefined || raw.trim() === '') return out;
  const byName = new Map<string, string>();
  for (const topic of Object.keys(TOPIC_DEFAULTS)) {
    byName.set(topic, topic);
    byName.set(shortName(topic), topic);
  }
  for (const item of raw.split(',')) {
    const m = /^\s*([^=\s]+)\s*=\s*(\S+)\s*$/.exec(item);
    if (m === null) throw new Error(`${variable} must be a comma list of <topic>=<value>, got ${JSON.stringify(item.trim())}`);
    const topic = byName.get(m[1]!);
    if (topic === undefined) throw new Error(`${variable}: unknown topic ${JSON.stringify(m[1])} (known: ${Object.keys(TOPIC_DEFAULTS).map(shortName).join(', ')})`);
    const value = parse(m[2]!);
    if (value === undefined) throw new Error(`${variable}: ${m[1]} must be ${rule}, got ${JSON.stringify(m[2])}`);
    out.set(topic, value);
  }
  return out;
}

const partitionCount = (v: string): number | undefined => (/^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 10_000 ? Number(v) : undefined);
const retention = (v: string): number | undefined => {
  if (v === 'forever') return -1;
  const hours = Number(v);
  return /^\d+(\.\d+)?$/.test(v) && hours > 0 ? Math.round(hours * HOUR_MS) : undefined;
};

/**
 * Reads KAFKA_BROKERS (required), PULSEGATE_TOPIC_PARTITIONS, PULSEGATE_TOPIC_RETENTION_HOURS and
 * PULSEGATE_TOPIC_REPLICATION_FACTOR over TOPIC_DEFAULTS. Throws one Error naming every bad variable.
 */
export function loadTopicsConfig(env: Record<string, string | undefined>): TopicsConfig {
  const problems: string[] = [];
  const attempt = <T>(read: () => T, fallback: T): T => {
    try {
      return read();
    } catch (err) {
      problems.push((err as Error).message);
      return fallback;
    }
  };
  const brokers = (env.KAFKA_BROKERS ?? '').split(',').map((b) => b.trim()).filter((b) => b !== '');
  if (brokers.length === 0) problems.push('KAFKA_BROKERS is required (comma list of host:port)');
  else if (!brokers.every((b) => /^[^\s:,]+:\d{1,5}$/.test(b))) problems.push(`KAFKA_BROKERS must be a comma list of host:port, got ${JSON.stringify(env.KAFKA_BROKERS)}`);
  const partitions = attempt(() => overrides('PULSEGATE_TOPIC_PARTITIONS', env.PULSEGATE_TOPIC_PARTITIONS, partitionCount, 'an integer 1-10000'), new Map());
  const retentions = attempt(() => overrides('PULSEGATE_TOPIC_RETENTION_HOURS', env.PULSEGATE_TOPIC_RETENTION_HOURS, retention, 'a positive number of hours or "forever"'), new Map());
  const rf = env.PULSEGATE_TOPIC_REPLICATION_FACTOR;
  let replicationFactor = -1;
  if (rf !== undefined && rf.trim() !== '') {
    if (/^\d+$/.test(rf.trim()) && Number(rf) >= 1 && Number(rf) <= 32) replicationFactor = Number(rf);
    else problems.push(`PULSEGATE_TOPIC_REPLICATION_FACTOR must be an integer 1-32, got ${JSON.stringify(rf)}`);
  }
  if (problems.length > 0) throw new Error(problems.join('; '));
  const topics = (Object.entries(TOPIC_DEFAULTS) as Array<[TopicName, (typeof TOPIC_DEFAULTS)[TopicName]]>).map(([name, d]) => ({
    name,
    partitions: partitions.get(name) ?? d.partitions,
    retentionMs: retentions.get(name) ?? (d.retentionHours === null ? -1 : d.retentionHours * HOUR_MS),
  }));
  return { brokers, replicationFactor, topics };
}
