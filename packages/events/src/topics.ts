/**
 * Every Kafka topic Pulsegate uses, in one place. The suffix is the schema generation of the
 * payload: a breaking change to a payload gets a new topic, never a silent reinterpretation.
 */
export const Topics = {
  /** Invocation batches from ingest (value: InvocationBatch, key: tenant/connector). */
  invocations: 'pulsegate.invocations.v1',
  /** Records the invocation consumers could not decode or validate, with the reason in headers. */
  invocationsDeadLetter: 'pulsegate.invocations.dlq.v1',
  /** Metric snapshots from the aggregator for the anomaly detector. */
  metrics: 'pulsegate.metrics.v1',
  /** Alert lifecycle events from the anomaly detector (incident history for the risk scorer). */
  alerts: 'pulsegate.alerts.v1',
  /** Connector catalog changes (latest / deprecated versions) from the risk scorer's catalog. */
  catalog: 'pulsegate.catalog.v1',
  /** Risk assessments, one per answered promotion question. */
  risk: 'pulsegate.risk.v1',
  /** Labelled release history used to train the risk model. */
  releases: 'pulsegate.releases.v1',
  /** Dead letters of every other consumer. */
  deadLetter: 'pulsegate.dlq.v1',
} as const;

export type TopicName = (typeof Topics)[keyof typeof Topics];

/** How `pulsegate topics` creates a topic unless PULSEGATE_TOPIC_* says otherwise. */
export interface TopicDefaults {
  /** Partitions: the most consumers of one group that can share the topic. */
  partitions: number;
  /** retention.ms in hours; null = kept forever (the topic is history a consumer rebuilds from). */
  retentionHours: number | null;
}

/**
 * Every topic Pulsegate uses with its default partitions and retention: the one list the topic
 * init job creates. Partitions of the two high-volume topics leave room for the aggregator's and
 * anomaly detector's replicas; the catalog and the release history are read from the beginning
 * by every new consumer group, so they are never deleted.
 */
export const TOPIC_DEFAULTS: Readonly<Record<TopicName, TopicDefaults>> = {
  [Topics.invocations]: { partitions: 12, retentionHours: 24 },
  [Topics.invocationsDeadLetter]: { partitions: 4, retentionHours: 14 * 24 },
  [Topics.metrics]: { partitions: 12, retentionHours: 24 },
  [Topics.alerts]: { partitions: 4, retentionHours: 30 * 24 },
  [Topics.catalog]: { partitions: 4, retentionHours: null },
  [Topics.risk]: { partitions: 4, retentionHours: 30 * 24 },
  [Topics.releases]: { partitions: 4, retentionHours: null },
  [Topics.deadLetter]: { partitions: 4, retentionHours: 14 * 24 },
};
