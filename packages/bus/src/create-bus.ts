import { KafkaBus } from './kafka-bus';
import type { BusLogger, KafkaBusOptions } from './kafka-bus';
import { MemoryBus } from './memory-bus';
import type { MemoryBusOptions } from './memory-bus';
import type { Bus } from './types';

/** The environment createBus reads. */
export interface BusEnv {
  /** Comma-separated `host:port` list; unset or empty = embedded in-memory bus. */
  KAFKA_BROKERS?: string;
  /** Kafka client id. Default "pulsegate". */
  clientId?: string;
}

export interface CreateBusOptions {
  logger?: BusLogger;
  /** Extra KafkaBus settings (brokers and clientId come from env). */
  kafka?: Omit<KafkaBusOptions, 'brokers' | 'clientId' | 'logger'>;
  memory?: MemoryBusOptions;
}

/**
 * KafkaBus when `KAFKA_BROKERS` is set (its producer starts connecting at once, so isReady()
 * turns true without waiting for a first publish), else a MemoryBus.
 */
export function createBus(env: BusEnv, options: CreateBusOptions = {}): Bus {
  const brokers = (env.KAFKA_BROKERS ?? '').split(',').map((b) => b.trim()).filter((b) => b !== '');
  if (brokers.length === 0) return new MemoryBus(options.memory);
  const bus = new KafkaBus({ ...options.kafka, brokers, clientId: env.clientId ?? 'pulsegate', logger: options.logger });
  // connect() retries until it succeeds or the bus is closed; its failure is reported by isReady().
  bus.connect().catch(() => undefined);
  return bus;
}
