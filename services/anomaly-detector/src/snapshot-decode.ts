import { NonRetriableError, type BusRecord } from '@pulsegate/bus';
import type { MetricSnapshot } from '@pulsegate/events';
import { z } from 'zod';

/** Largest metrics-topic message decoded, bytes. */
export const MAX_SNAPSHOT_BYTES = 1024 * 1024;

const label = z.string().min(1).max(256);
const time = z.number().finite().min(0).max(8.64e15);
const ratio = z.number().finite().min(0).max(1).nullable();
const count = z.number().finite().min(0);

const windowMetrics = z.object({
  window: z.string().max(16),
  from: time,
  to: time,
  calls: count,
  successes: count,
  successRate: ratio,
  throttled: count,
  throttleRate: ratio,
  latencyMs: z.object({ p50: count.nullable(), p95: count.nullable(), p99: count.nullable() }),
  errorCodes: z.record(z.string().max(64), count),
  errorMappingCoverage: ratio,
  latencyLe: z.record(z.string().max(16), count).optional(),
});

const seriesSnapshot = z.object({
  type: z.literal('series'),
  schemaVersion: z.literal(1),
  tenant: label,
  connector: label,
  action: label,
  version: label,
  kind: z.enum(['read', 'write']),
  at: time,
  windows: z.record(z.string().max(16), windowMetrics),
});

const adoptionSnapshot = z.object({
  type: z.literal('adoption'),
  schemaVersion: z.literal(1),
  tenant: label,
  connector: label,
  at: time,
  window: z.string().max(16),
  latest: z.string().max(256).nullable(),
  latestMinorReleasedAt: time.nullable(),
  latestMinorShare: ratio,
  deprecatedShare: ratio,
  recentWindow: z.string().max(16).optional(),
  versions: z
    .array(z.object({ version: z.string().max(256), calls: count, share: z.number().finite().min(0).max(1), deprecated: z.boolean(), deprecatedAt: time.nullable(), sunsetAt: time.nullable().optional(), daysToSunset: z.number().int().finite().nullable().optional(), recentCalls: count.optional() }))
    .max(10_000),
});

const snapshot = z.discriminatedUnion('type', [seriesSnapshot, adoptionSnapshot]);

/**
 * Decodes one metrics-topic message. Throws NonRetriableError (the bus runner dead-letters the
 * record and goes on) when it is not JSON, too large, or breaks the snapshot schema.
 */
export function decodeSnapshot(record: Pick<BusRecord, 'value'>): MetricSnapshot {
  if (record.value.length > MAX_SNAPSHOT_BYTES) throw new NonRetriableError(`snapshot larger than ${MAX_SNAPSHOT_BYTES} bytes`);
  let raw: unknown;
  try {
    raw = JSON.parse(record.value.toString('utf8'));
  } catch (err) {
    throw new NonRetriableError(`undecodable snapshot: ${(err as Error).message}`);
  }
  const parsed = snapshot.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0]!;
    throw new NonRetriableError(`invalid snapshot: ${first.path.map(String).join('.') || '(root)'} ${first.message}`);
  }
  return parsed.data as MetricSnapshot;
}
