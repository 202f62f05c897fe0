import { coerceSemver, compareSemver, UNMAPPED, type CatalogEvent, type InvocationEvent } from '@pulsegate/events';

/** Selection of events the API is asked about. */
export interface Selection {
  tenant: string;
  connector: string;
  action?: string;
  version?: string;
  kind?: 'read' | 'write';
  from: number;
  to: number;
}

export function select(events: readonly InvocationEvent[], s: Selection): InvocationEvent[] {
  return events.filter(
    (e) =>
      e.tenant === s.tenant &&
      e.connector === s.connector &&
      e.eventTime >= s.from &&
      e.eventTime < s.to &&
      (s.action === undefined || e.action === s.action) &&
      (s.version === undefined || e.connectorVersion === s.version) &&
      (s.kind === undefined || e.kind === s.kind),
  );
}

/** Exact weighted quantile: smallest latency whose cumulative weight reaches q × total. */
export function exactQuantile(events: readonly InvocationEvent[], q: number): number | null {
  if (events.length === 0) return null;
  const sorted = [...events].sort((a, b) => a.latencyMs - b.latencyMs);
  const total = sorted.reduce((s, e) => s + e.sampleWeight, 0);
  let cum = 0;
  for (const e of sorted) {
    cum += e.sampleWeight;
    if (cum >= q * total) return e.latencyMs;
  }
  return sorted[sorted.length - 1]!.latencyMs;
}

/** Every metric of the metrics endpoint, computed directly from the events (weights honoured). */
export function referenceMetrics(events: readonly InvocationEvent[], s: Selection) {
  const sel = select(events, s);
  const sum = (xs: InvocationEvent[]) => xs.reduce((a, e) => a + e.sampleWeight, 0);
  const calls = sum(sel);
  const successes = sum(sel.filter((e) => e.outcome === 'success'));
  const throttled = sum(sel.filter((e) => e.outcome === 'throttled'));
  const errors = sel.filter((e) => e.outcome !== 'success');
  const errorCodes: Record<string, number> = {};
  for (const e of errors) errorCodes[e.errorCode!] = (errorCodes[e.errorCode!] ?? 0) + e.sampleWeight;
  const errorCalls = sum(errors);
  return {
    calls,
    successes,
    successRate: calls > 0 ? successes / calls : null,
    throttled,
    throttleRate: calls > 0 ? throttled / calls : null,
    throttledPerHour: (throttled * 3_600_000) / (s.to - s.from),
    errorCodes,
    errorMappingCoverage: errorCalls > 0 ? (errorCalls - (errorCodes[UNMAPPED] ?? 0)) / errorCalls : null,
    latencyMs: { p50: exactQuantile(sel, 0.5), p95: exactQuantile(sel, 0.95), p99: exactQuantile(sel, 0.99) },
  };
}

/** Version adoption computed directly from the events and the catalog. */
export function referenceVersions(events: readonly InvocationEvent[], s: Selection, catalog: CatalogEvent | null, now: number) {
  const sel = select(events, s);
  const total = sel.reduce((a, e) => a + e.sampleWeight, 0);
  const calls = new Map<string, number>();
  for (const e of sel) calls.set(e.connectorVersion, (calls.get(e.connectorVersion) ?? 0) + e.sampleWeight);
  const candidates = catalog !== null ? catalog.versions.filter((v) => v.releasedAt === null || v.releasedAt <= now).map((v) => v.version) : [...new Set(events.filter((e) => e.tenant === s.tenant && e.connector === s.connector).map((e) => e.connectorVersion))];
  const latest = candidates.map((v) => coerceSemver(v)!).sort(compareSemver).pop()!;
  const deprecated = new Set(catalog?.versions.filter((v) => v.deprecatedAt !== null).map((v) => v.version) ?? []);
  let onLatestMinor = 0;
  let onDeprecated = 0;
  for (const [v, c] of calls) {
    const sv = coerceSemver(v)!;
    if (sv.major === latest.major && sv.minor === latest.minor) onLatestMinor += c;
    if (deprecated.has(v)) onDeprecated += c;
  }
  return {
    latest: latest.raw,
    versions: Object.fromEntries([...calls].map(([v, c]) => [v, { calls: c, share: c / total, deprecated: deprecated.has(v) }])),
    latestMinorShare: total > 0 ? onLatestMinor / total : null,
    deprecatedShare: total > 0 ? onDeprecated / total : null,
  };
}
