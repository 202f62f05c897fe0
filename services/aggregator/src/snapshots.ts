import { LATENCY_BOUNDS_MS, Topics, type AdoptionSnapshot, type SeriesSnapshot } from '@pulsegate/events';
import type { Bus } from '@pulsegate/bus';
import type { Logger } from '@pulsegate/logging';
import { HOUR_MS, metricsOf, seriesField, weightAtOrBelow, type BucketData } from '@pulsegate/windows';
import { namedRange, unlessTooLarge, type MetricsQueries } from './query';

/** Windows of each series snapshot, and of the adoption snapshot. */
export const SNAPSHOT_WINDOWS = ['5m', '1h'] as const;
export const ADOPTION_WINDOW = '30d';
/** Window of the adoption snapshot's per-version `recentCalls` (sunset alerts judge it). */
export const RECENT_WINDOW = SNAPSHOT_WINDOWS[0];

/** Calls at or under each of LATENCY_BOUNDS_MS (latency SLOs count good calls from these). */
function latencyLe(b: BucketData): Record<string, number> {
  const out: Record<string, number> = {};
  for (const bound of LATENCY_BOUNDS_MS) out[String(bound)] = weightAtOrBelow(b.l, bound);
  return out;
}

/**
 * Publishes, for every connector this instance consumed events of in the last hour, one
 * SeriesSnapshot per active series (a call in the last hour) and one AdoptionSnapshot.
 * Several instances split the connectors by partition ownership, so each is published once;
 * after a restart a connector is published again from its next batch on.
 */
export class SnapshotPublisher {
  private readonly owned = new Map<string, { tenant: string; connector: string; at: number }>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  published = 0;

  constructor(
    private readonly deps: { bus: Bus; queries: MetricsQueries; logger: Logger; intervalMs: number; clock: () => number },
  ) {}

  /** Marks connectors as consumed by this instance now. */
  track(connectors: Array<{ tenant: string; connector: string }>): void {
    const at = this.deps.clock();
    for (const c of connectors) this.owned.set(`${c.tenant}\u0000${c.connector}`, { ...c, at });
  }

  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => {
      if (this.running !== null) return; // the previous round is still publishing
      this.running = this.publishOnce()
        .then(() => undefined)
        .catch((err: unknown) => this.deps.logger.error({ err }, 'snapshot publish failed'))
        .finally(() => {
          this.running = null;
        });
    }, this.deps.intervalMs);
    this.timer.unref();
  }

  /** Stops the timer and waits for a round in flight. Idempotent. */
  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** Publishes one round now; resolves with the number of snapshots published. */
  async publishOnce(): Promise<number> {
    const { queries, bus } = this.deps;
    const now = this.deps.clock();
    let count = 0;
    for (const [id, c] of this.owned) {
      if (c.at < now - HOUR_MS) {
        this.owned.delete(id);
        continue;
      }
      const series = await queries.series(c.tenant, c.connector);
      if (series === null) continue;
      const active = series.filter((s) => s.lastSeen >= now - HOUR_MS);
      const ranges = SNAPSHOT_WINDOWS.map((w) => namedRange(w, now));
      const read = await queries.seriesRanges(c.tenant, c.connector, active, ranges);
      const records = active.map((s, si) => {
        const windows: SeriesSnapshot['windows'] = {};
        read.forEach((r, wi) => {
          const b = r.buckets[si]!;
          windows[SNAPSHOT_WINDOWS[wi]!] = { ...metricsOf(b, SNAPSHOT_WINDOWS[wi]!, r.plan.from, r.plan.to), latencyLe: latencyLe(b) };
        });
        const snap: SeriesSnapshot = { type: 'series', schemaVersion: 1, tenant: c.tenant, connector: c.connector, action: s.action, version: s.version, kind: s.kind, at: now, windows };
        return { key: `${c.tenant}\u001f${c.connector}`, value: JSON.stringify(snap), headers: { 'x-series': seriesField(s) } };
      });
      // A connector over the query limits gets no adoption snapshot (its series snapshots still go out).
      const adoption = await unlessTooLarge(queries.versions(c.tenant, c.connector, namedRange(ADOPTION_WINDOW, now)));
      if (adoption !== null) {
        // Calls per version over the recent window, from the series snapshots' own counts (series
        // without a call in the last hour have none in it either).
        const recent = new Map<string, number>();
        active.forEach((s, si) => recent.set(s.version, (recent.get(s.version) ?? 0) + read[0]!.buckets[si]!.c));
        const snap: AdoptionSnapshot = {
          type: 'adoption',
          schemaVersion: 1,
          tenant: c.tenant,
          connector: c.connector,
          at: now,
          window: ADOPTION_WINDOW,
          latest: adoption.latest,
          latestMinorReleasedAt: adoption.latestMinorReleasedAt,
          latestMinorShare: adoption.latestMinorShare,
          deprecatedShare: adoption.deprecatedShare,
          recentWindow: RECENT_WINDOW,
          versions: adoption.versions.map((v) => ({ ...v, recentCalls: recent.get(v.version) ?? 0 })),
        };
        records.push({ key: `${c.tenant}\u001f${c.connector}`, value: JSON.stringify(snap), headers: { 'x-series': '' } });
      }
      if (records.length > 0) await bus.publish(Topics.metrics, records);
      count += records.length;
    }
    this.published += count;
    return count;
  }
}
