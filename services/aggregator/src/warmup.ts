import type { Logger } from '@pulsegate/logging';
import { SettledDayCache, type WindowStore } from '@pulsegate/windows';
import type { MetricsQueries } from './query';

export interface CacheWarmerOptions {
  queries: MetricsQueries;
  store: WindowStore;
  logger: Logger;
  clock: () => number;
  /** How often a pass checks the connectors, ms (QUERY_CACHE_WARMUP_INTERVAL_SECONDS). */
  intervalMs: number;
  /** Most connectors warmed, most recently seen first (QUERY_CACHE_WARMUP_MAX_CONNECTORS). */
  maxConnectors: number;
}

/** What a connector's cache was last warmed for: its generation and the settled-hour boundary then. */
interface Warmed {
  generation: number;
  before: number;
}

/**
 * Keeps the query cache warm in the background: a pass right after start and then every
 * `intervalMs` lists the tenants' connectors (most recently seen first, at most `maxConnectors`)
 * and, one connector at a time, warms those whose cache is out of date — never warmed, a new hour
 * settled since, or the connector's generation moved (a late write into a settled hour) — through
 * MetricsQueries.warm: the reads of a 30-day metrics query, chunked with event-loop turns, joined
 * by queries of that connector meanwhile. stop() aborts the read in flight between two steps.
 */
export class CacheWarmer {
  private readonly warmed = new Map<string, Warmed>();
  private timer: NodeJS.Timeout | null = null;
  private pass: Promise<void> | null = null;
  private readonly abort = new AbortController();
  /** Connectors of the latest pass (up to maxConnectors). */
  private selected = 0;
  private passes = 0;

  constructor(private readonly o: CacheWarmerOptions) {}

  start(): void {
    if (this.timer !== null || this.abort.signal.aborted) return;
    this.timer = setInterval(() => void this.runPass(), this.o.intervalMs);
    this.timer.unref();
    void this.runPass();
  }

  /** Starts a pass unless one is running; resolves when it ends. */
  runPass(): Promise<void> {
    if (this.abort.signal.aborted) return Promise.resolve();
    this.pass ??= this.passOnce()
      .catch((err: unknown) => {
        if (!this.abort.signal.aborted) this.o.logger.warn({ err: String(err) }, 'query cache warm-up pass failed');
      })
      .finally(() => {
        this.pass = null;
      });
    return this.pass;
  }

  /** Progress: connectors warmed (for the generation and settled hour seen then), connectors selected by the latest pass, passes finished, connectors being read now. */
  progress(): { warm: number; selected: number; passes: number; warming: number } {
    return { warm: this.warmed.size, selected: this.selected, passes: this.passes, warming: this.o.queries.warmingNow };
  }

  /** Stops the timer and the read in flight; resolves when the pass has ended. Idempotent. */
  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.abort.abort(new Error('query cache warm-up stopped'));
    await this.pass;
  }

  private async passOnce(): Promise<void> {
    const { store, queries } = this.o;
    const signal = this.abort.signal;
    const all: Array<{ tenant: string; connector: string; lastSeen: number }> = [];
    for (const tenant of await store.listTenants()) for (const c of await store.listConnectors(tenant)) all.push({ tenant, ...c });
    const chosen = all.sort((a, b) => b.lastSeen - a.lastSeen).slice(0, this.o.maxConnectors);
    this.selected = chosen.length;
    const keep = new Set<string>();
    for (const { tenant, connector } of chosen) {
      signal.throwIfAborted();
      const key = `${tenant}\u0000${connector}`;
      keep.add(key);
      const before = SettledDayCache.cacheableBefore(this.o.clock());
      const generation = await store.generation(tenant, connector);
      const last = this.warmed.get(key);
      if (last === undefined || last.generation !== generation || last.before !== before) {
        // Within the query limits or not, it is not tried again until something changes.
        await queries.warm(tenant, connector, signal);
        this.warmed.set(key, { generation, before });
      }
    }
    for (const key of this.warmed.keys()) if (!keep.has(key)) this.warmed.delete(key);
    this.passes++;
  }
}
