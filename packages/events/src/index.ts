export { Topics, TOPIC_DEFAULTS } from './topics';
export type { TopicName, TopicDefaults } from './topics';
export { UNMAPPED, ERROR_CODE_PATTERN, errorCodeForStatus } from './error-codes';
export { INVOCATION_SCHEMA_VERSION, kindForMethod, outcomeFor, errorCodeFor } from './invocation';
export type { InvocationEvent, ActionKind, Outcome } from './invocation';
export { validateInvocation, isInvocation, labelProblem, MAX_LABEL_LENGTH, MAX_LATENCY_MS, MAX_SAMPLE_WEIGHT } from './validate';
export type { ValidationProblem } from './validate';
export {
  encodeInvocationBatch,
  encodeInvocationBatchV1,
  encodeInvocationBatchV2,
  decodeInvocationBatch,
  seriesKey,
  BatchDecodeError,
  INVOCATION_BATCH_FORMAT,
  INVOCATION_BATCH_VERSION,
  INVOCATION_BATCH_FIELDS,
  INVOCATION_BATCH_CODED_FIELDS,
  MAX_EVENTS_PER_BATCH,
} from './batch';
export type { InvocationBatch, InvocationBatchV2, InvocationBatchV3 } from './batch';
export { decodeInvocationColumns, columnsOf, hexWords, ID_WORDS, OUTCOME_CODES, KIND_CODES } from './columns';
export type { InvocationColumns } from './columns';
export { parseSemver, coerceSemver, compareSemver } from './semver';
export type { SemVer } from './semver';
export type { WindowMetrics, SeriesSnapshot, AdoptionSnapshot, MetricSnapshot } from './snapshot';
export { LATENCY_BOUNDS_MS } from './snapshot';
export type { AlertEvent } from './alert';
export type { CatalogEvent, CatalogVersion } from './catalog';
