import type { BusRecord, DecodedBatch } from '@pulsegate/bus';
import { NonRetriableError } from '@pulsegate/bus';
import type { AlertEvent, SeriesSnapshot, WindowMetrics } from '@pulsegate/events';
import { isFeatureName, type FeatureValues } from '../model/features';
import type { ReleaseRecord, RiskStore } from '../store/types';

/** Largest message accepted on the topics the risk scorer reads, in bytes (1 MiB). */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

function parse(record: BusRecord): Record<string, unknown> {
  if (record.value.length > MAX_MESSAGE_BYTES) throw new NonRetriableError(`message larger than ${MAX_MESSAGE_BYTES} bytes`);
  let v: unknown;
  try {
    v = JSON.parse(record.value.toString('utf8'));
  } catch (err) {
    throw new NonRetriableError(`undecodable JSON: ${(err as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new NonRetriableError('message must be a JSON object');
  return v as Record<string, unknown>;
}

function str(o: Record<string, unknown>, field: string): string {
  const v = o[field];
  if (typeof v !== 'string' || v === '' || v.length > 256) throw new NonRetriableError(`${field} must be a non-empty string of at most 256 characters`);
  return v;
}

function num(o: Record<string, unknown>, field: string): number {
  const v = o[field];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new NonRetriableError(`${field} must be a finite number`);
  return v;
}

/**
 * Decodes a metrics-topic message. Adoption snapshots are not used here and decode to null;
 * a malformed series snapshot is a NonRetriableError (dead letter).
 */
export function decodeSnapshot(record: BusRecord): SeriesSnapshot | null {
  const o = parse(record);
  if (o.type === 'adoption') return null;
  if (o.type !== 'series' || o.schemaVersion !== 1) throw new NonRetriableError(`unsupported snapshot type ${JSON.stringify(o.type)} / schemaVersion ${JSON.stringify(o.schemaVersion)}`);
  str(o, 'tenant');
  str(o, 'connector');
  str(o, 'action');
  str(o, 'version');
  num(o, 'at');
  if (o.kind !== 'read' && o.kind !== 'write') throw new NonRetriableError('kind must be read or write');
  if (typeof o.windows !== 'object' || o.windows === null) throw new NonRetriableError('windows must be an object');
  for (const [name, w] of Object.entries(o.windows as Record<string, unknown>)) {
    const m = w as Record<string, unknown>;
    if (typeof m !== 'object' || m === null) throw new NonRetriableError(`windows.${name} must be an object`);
    for (const f of ['from', 'to', 'calls', 'successes', 'throttled']) num(m, f);
    if ((m.calls as number) < 0 || (m.successes as number) < 0 || (m.throttled as number) < 0) throw new NonRetriableError(`windows.${name}: counts must not be negative`);
  }
  return o as unknown as SeriesSnapshot;
}

/** The window the risk scorer uses: "1h" when present, else the longest one. */
export function pickWindow(windows: Record<string, WindowMetrics>): WindowMetrics | undefined {
  if (windows['1h'] !== undefined) return windows['1h'];
  return Object.values(windows).sort((a, b) => b.to - b.from - (a.to - a.from))[0];
}

/** Batch handler for the metrics topic: keeps the latest window of each series. */
export function snapshotHandler(store: RiskStore) {
  return async (batch: DecodedBatch<SeriesSnapshot | null>): Promise<void> => {
    for (const { value: s } of batch.items) {
      if (s === null) continue;
      const window = pickWindow(s.windows);
      if (window === undefined) continue;
      await store.putSeries(s.tenant, s.connector, s.version, { action: s.action, kind: s.kind, at: s.at, window });
    }
  };
}

/** Decodes an alerts-topic message; malformed ones are NonRetriableError. */
export function decodeAlert(record: BusRecord): AlertEvent {
  const o = parse(record);
  if (o.schemaVersion !== 1) throw new NonRetriableError(`unsupported alert schemaVersion ${JSON.stringify(o.schemaVersion)}`);
  str(o, 'tenant');
  str(o, 'fingerprint');
  str(o, 'rule');
  num(o, 'startsAt');
  if (o.state !== 'firing' && o.state !== 'resolved') throw new NonRetriableError('state must be firing or resolved');
  if (typeof o.labels !== 'object' || o.labels === null) throw new NonRetriableError('labels must be an object');
  return o as unknown as AlertEvent;
}

/**
 * Batch handler for the alerts topic: counts each firing alert once per (fingerprint, start)
 * against the connector version in its labels (`connector` and `version` or `connectorVersion`).
 */
export function alertHandler(store: RiskStore) {
  return async (batch: DecodedBatch<AlertEvent>): Promise<void> => {
    for (const { value: a } of batch.items) {
      if (a.state !== 'firing') continue;
      const connector = a.labels.connector;
      const version = a.labels.version ?? a.labels.connectorVersion;
      if (connector === undefined || version === undefined) continue;
      await store.addAlert(a.tenant, connector, version, { fingerprint: a.fingerprint, rule: a.rule, startsAt: a.startsAt });
    }
  };
}

/** A labelled release as published on the releases topic. */
export interface ReleaseMessage extends ReleaseRecord {
  schemaVersion: 1;
  tenant: string;
}

/** Decodes a releases-topic message; features must be known names with finite values. */
export function decodeRelease(record: BusRecord): ReleaseMessage {
  const o = parse(record);
  if (o.schemaVersion !== 1) throw new NonRetriableError(`unsupported release schemaVersion ${JSON.stringify(o.schemaVersion)}`);
  const tenant = str(o, 'tenant');
  const connector = str(o, 'connector');
  const version = str(o, 'version');
  if (typeof o.incident !== 'boolean') throw new NonRetriableError('incident must be true or false');
  if (typeof o.features !== 'object' || o.features === null || Array.isArray(o.features)) throw new NonRetriableError('features must be an object');
  const features: FeatureValues = {};
  for (const [k, v] of Object.entries(o.features as Record<string, unknown>)) {
    if (!isFeatureName(k)) throw new NonRetriableError(`unknown feature ${JSON.stringify(k)}`);
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new NonRetriableError(`features.${k} must be a finite number`);
    features[k] = v;
  }
  const at = typeof o.at === 'number' && Number.isFinite(o.at) ? o.at : record.timestamp;
  return { schemaVersion: 1, tenant, connector, version, features, incident: o.incident, at };
}

/** Batch handler for the releases topic: appends to each tenant's training history. */
export function releaseHandler(store: RiskStore) {
  return async (batch: DecodedBatch<ReleaseMessage>): Promise<void> => {
    const byTenant = new Map<string, ReleaseRecord[]>();
    for (const { value: r } of batch.items) {
      const list = byTenant.get(r.tenant) ?? [];
      list.push({ connector: r.connector, version: r.version, features: r.features, incident: r.incident, at: r.at });
      byTenant.set(r.tenant, list);
    }
    for (const [tenant, records] of byTenant) await store.appendReleases(tenant, records);
  };
}
