export type { Bus, BusRecord, OutgoingRecord, DecodedBatch, BatchContext, SubscribeOptions, Subscription } from './types';
export { MemoryBus, deadLetter } from './memory-bus';
export type { MemoryBusOptions } from './memory-bus';
export { PulsegateError, NonRetriableError, isRetriable } from './errors';
export { backoffDelay, sleep, RETRY_DEFAULTS } from './retry';
export type { BackoffOptions } from './retry';
export { partitionFor, DEFAULT_PARTITIONS } from './partition';
