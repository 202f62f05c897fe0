import { isNonLoopback, parseApiKeys, serverLimitsFromEnv, type ApiKeyEntry, type ServerLimits } from '@pulsegate/http-kit';
import { z } from 'zod';
import { intVar } from '@pulsegate/env';

/** Ingest settings, parsed once from the environment by loadConfig. */
export interface IngestConfig {
  /** Bind address. Default 127.0.0.1. */
  host: string;
  /** Listen port. Default 4318 (the OTLP/HTTP port). */
  port: number;
  /** Kafka bootstrap brokers; empty means the embedded in-memory bus. */
  kafkaBrokers: string[];
  /** API keys (hashed) mapping to tenants; empty means anonymous, tenant "default". */
  apiKeys: ApiKeyEntry[];
  /** Allow anonymous ingest on a non-loopback address. Default false. */
  allowAnonymous: boolean;
  /** Largest request body as sent (compressed), bytes. Default 8 MiB. */
  maxBodyBytes: number;
  /** Largest request body after gunzip, bytes. Default 32 MiB. */
  maxDecompressedBytes: number;
  /** Requests decoding or waiting for the bus at once; beyond it: 429. Default 64. */
  maxInFlightRequests: number;
  /** Bytes held by in-flight requests at once (bodies as received, packed events awaiting the bus); beyond it: 429. Default 96 MiB. */
  maxInFlightBytes: number;
  /** Of those, requests one tenant may hold; default a quarter of maxInFlightRequests with API keys, all of it without (one tenant). */
  maxInFlightRequestsPerTenant: number;
  /** Of those, bytes one tenant may hold; default a quarter of maxInFlightBytes with API keys, all of it without. */
  maxInFlightBytesPerTenant: number;
  /** Client time limits of the HTTP server (HTTP_* variables). */
  http: ServerLimits;
  /** Retry-After sent with 429/503, seconds. Default 1. */
  retryAfterSeconds: number;
  /** How long a request waits for the bus to acknowledge its events before 503, ms. Default 30 000. */
  publishTimeoutMs?: number;
  /** A publish pending this long marks the bus stalled: new requests get 503 at once, ms. Default 1 000. */
  publishStallMs?: number;
  /** Distinct actions kept per tenant/connector before folding into __overflow__. Default 200. */
  maxActionsPerConnector: number;
  /** Distinct versions kept per tenant/connector before folding into __overflow__. Default 50. */
  maxVersionsPerConnector: number;
  /** Distinct connectors kept per tenant before folding into __overflow__. Default 1000. */
  maxConnectorsPerTenant: number;
  /** Distinct action × version series kept per tenant/connector before folding both into __overflow__. Default 2000. */
  maxSeriesPerConnector: number;
  /** Distinct action × version series kept per tenant over all its connectors. Default 20 000. */
  maxSeriesPerTenant: number;
}

const MiB = 1024 * 1024;

const schema = z.object({
  HOST: z.string().optional().transform((v) => (v === undefined || v.trim() === '' ? '127.0.0.1' : v.trim())),
  PORT: intVar('PORT', 4318, 0, 65535),
  KAFKA_BROKERS: z
    .string()
    .optional()
    .transform((v) => (v ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')),
  PULSEGATE_API_KEYS: z.string().optional(),
  PULSEGATE_ALLOW_ANONYMOUS: z
    .enum(['true', 'false', ''], { message: 'PULSEGATE_ALLOW_ANONYMOUS must be "true" or "false"' })
    .optional()
    .transform((v) => v === 'true'),
  INGEST_MAX_BODY_BYTES: intVar('INGEST_MAX_BODY_BYTES', 8 * MiB, 1024, 1024 * MiB),
  INGEST_MAX_DECOMPRESSED_BYTES: intVar('INGEST_MAX_DECOMPRESSED_BYTES', 32 * MiB, 1024, 1024 * MiB),
  INGEST_MAX_IN_FLIGHT_REQUESTS: intVar('INGEST_MAX_IN_FLIGHT_REQUESTS', 64, 1, 100_000),
  INGEST_MAX_IN_FLIGHT_BYTES: intVar('INGEST_MAX_IN_FLIGHT_BYTES', 96 * MiB, 1024, 16 * 1024 * MiB),
  INGEST_MAX_IN_FLIGHT_REQUESTS_PER_TENANT: intVar('INGEST_MAX_IN_FLIGHT_REQUESTS_PER_TENANT', 0, 0, 100_000),
  INGEST_MAX_IN_FLIGHT_BYTES_PER_TENANT: intVar('INGEST_MAX_IN_FLIGHT_BYTES_PER_TENANT', 0, 0, 16 * 1024 * MiB),
  INGEST_RETRY_AFTER_SECONDS: intVar('INGEST_RETRY_AFTER_SECONDS', 1, 0, 3600),
  INGEST_PUBLISH_TIMEOUT_MS: intVar('INGEST_PUBLISH_TIMEOUT_MS', 30_000, 100, 600_000),
  INGEST_PUBLISH_STALL_MS: intVar('INGEST_PUBLISH_STALL_MS', 1_000, 10, 600_000),
  INGEST_MAX_ACTIONS_PER_CONNECTOR: intVar('INGEST_MAX_ACTIONS_PER_CONNECTOR', 200, 1, 1_000_000),
  INGEST_MAX_VERSIONS_PER_CONNECTOR: intVar('INGEST_MAX_VERSIONS_PER_CONNECTOR', 50, 1, 1_000_000),
  INGEST_MAX_CONNECTORS_PER_TENANT: intVar('INGEST_MAX_CONNECTORS_PER_TENANT', 1000, 1, 1_000_000),
  INGEST_MAX_SERIES_PER_CONNECTOR: intVar('INGEST_MAX_SERIES_PER_CONNECTOR', 2_000, 1, 10_000_000),
  INGEST_MAX_SERIES_PER_TENANT: intVar('INGEST_MAX_SERIES_PER_TENANT', 20_000, 1, 100_000_000),
});

/**
 * Parses and checks the ingest environment once. Throws an Error whose message names each bad
 * variable, including the rule that a non-loopback HOST needs API keys or
 * PULSEGATE_ALLOW_ANONYMOUS=true.
 */
export function loadConfig(env: Record<string, string | undefined>): IngestConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) throw new Error(`invalid ingest configuration: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  const e = parsed.data;
  const apiKeys = parseApiKeys(e.PULSEGATE_API_KEYS);
  // With keys there are tenants to be fair between: none may hold more than a quarter by default.
  const share = (explicit: number, total: number): number => (explicit > 0 ? Math.min(explicit, total) : apiKeys.length > 0 ? Math.max(1, Math.floor(total / 4)) : total);
  const config: IngestConfig = {
    host: e.HOST,
    port: e.PORT,
    kafkaBrokers: e.KAFKA_BROKERS,
    apiKeys,
    allowAnonymous: e.PULSEGATE_ALLOW_ANONYMOUS,
    maxBodyBytes: e.INGEST_MAX_BODY_BYTES,
    maxDecompressedBytes: e.INGEST_MAX_DECOMPRESSED_BYTES,
    maxInFlightRequests: e.INGEST_MAX_IN_FLIGHT_REQUESTS,
    maxInFlightBytes: e.INGEST_MAX_IN_FLIGHT_BYTES,
    maxInFlightRequestsPerTenant: share(e.INGEST_MAX_IN_FLIGHT_REQUESTS_PER_TENANT, e.INGEST_MAX_IN_FLIGHT_REQUESTS),
    maxInFlightBytesPerTenant: share(e.INGEST_MAX_IN_FLIGHT_BYTES_PER_TENANT, e.INGEST_MAX_IN_FLIGHT_BYTES),
    http: httpLimits(env),
    retryAfterSeconds: e.INGEST_RETRY_AFTER_SECONDS,
    publishTimeoutMs: e.INGEST_PUBLISH_TIMEOUT_MS,
    publishStallMs: e.INGEST_PUBLISH_STALL_MS,
    maxActionsPerConnector: e.INGEST_MAX_ACTIONS_PER_CONNECTOR,
    maxVersionsPerConnector: e.INGEST_MAX_VERSIONS_PER_CONNECTOR,
    maxConnectorsPerTenant: e.INGEST_MAX_CONNECTORS_PER_TENANT,
    maxSeriesPerConnector: e.INGEST_MAX_SERIES_PER_CONNECTOR,
    maxSeriesPerTenant: e.INGEST_MAX_SERIES_PER_TENANT,
  };
  assertExposureAllowed(config);
  return config;
}

function httpLimits(env: Record<string, string | undefined>): ServerLimits {
  try {
    return serverLimitsFromEnv(env);
  } catch (err) {
    throw new Error(`invalid ingest configuration: ${(err as Error).message}`);
  }
}

/** Refuses anonymous ingest on a non-loopback bind unless explicitly allowed. */
export function assertExposureAllowed(config: Pick<IngestConfig, 'host' | 'apiKeys' | 'allowAnonymous'>): void {
  if (isNonLoopback(config.host) && config.apiKeys.length === 0 && !config.allowAnonymous) {
    throw new Error(
      `invalid ingest configuration: HOST=${config.host} is reachable from other machines but PULSEGATE_API_KEYS is empty; ` +
        'configure keys or set PULSEGATE_ALLOW_ANONYMOUS=true',
    );
  }
}
