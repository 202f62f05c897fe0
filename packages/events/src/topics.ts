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
