import { LATENCY_BOUNDS_MS, type SeriesSnapshot } from '@pulsegate/events';
import { binomial, seededRandom } from '@pulsegate/random';
import { SloEngine } from './engine';
import { MemorySloLedgerStore } from './ledger-store';
import { BLOCK_MS, DEFAULT_BURN_ALERTS, SloBook, type BurnAlertSet } from './objectives';

/** One generated series: calls per 5-minute block and the failure probability per block. */
export interface BurnSeries {
  name: string;
  calls: number[];
  failureP: number[];
}

/** How the burn-rate evaluation data set is shaped; defaults in BURN_EVAL_DEFAULTS. */
export interface BurnEvalOptions {
  seed: number;
  /** Days of history per series (default 30: one series-month). */
  days: number;
  /** Mean calls per 5-minute block of each normal series (low-traffic ones included). */
  levels: number[];
  /** Incidents of each type per series level of at least 50 calls per block (default 5). */
  repeats: number;
  /** Clean days before each incident (default 7). */
  cleanDays: number;
}

/** Defaults: 30 days; series from 2 to 2 000 calls per 5 minutes (0.4 to 400 calls a minute). */
export const BURN_EVAL_DEFAULTS: Omit<BurnEvalOptions, 'seed'> = { days: 30, levels: [2, 10, 50, 200, 500, 2000], repeats: 5, cleanDays: 7 };

const DAY_BLOCKS = 86_400_000 / BLOCK_MS;

/**
 * Normal traffic: a diurnal call volume (±50 % around the level, a Poisson-like draw per block),
 * a healthy base failure probability of 0.05–0.5 % (within a 1 % budget), and about one blip a
 * day of 5–15 minutes at 2–5 % failures (deploys, a flaky dependency) that must not page.
 */
export function normalSeries(random: () => number, name: string, level: number, blocks: number): BurnSeries {
  const base = 0.0005 + random() * 0.0045;
  const calls: number[] = [];
  const failureP: number[] = [];
  for (let b = 0; b < blocks; b++) {
    const diurnal = 1 + 0.5 * Math.sin((2 * Math.PI * (b % DAY_BLOCKS)) / DAY_BLOCKS);
    calls.push(Math.max(0, Math.round(level * diurnal + Math.sqrt(level * diurnal) * (random() * 2 - 1) * 1.7)));
    failureP.push(base);
  }
  for (let b = 0; b < blocks; b++) {
    if (random() < 1 / DAY_BLOCKS) {
      const len = 1 + Math.floor(random() * 3);
      const p = 0.02 + random() * 0.03;
      for (let i = b; i < Math.min(blocks, b + len); i++) failureP[i] = p;
    }
  }
  return { name, calls, failureP };
}

/** Result of replaying one series through the SLO engine's page alert. */
export interface PageReplay {
  /** Blocks (index) at which a new page episode started. */
  pages: number[];
}

/**
 * Replays a series through a fresh SloEngine (availability SLO 99 %, default or given burn sets),
 * one block-aligned snapshot per 5-minute block, and returns the blocks where the burn set named
 * `set` started firing (no `for`, no keep-firing: verdict edges are the episodes).
 */
export async function replay(series: BurnSeries, random: () => number, o: { set?: string; burnAlerts?: readonly BurnAlertSet[]; t0?: number } = {}): Promise<PageReplay> {
  const burnAlerts = o.burnAlerts ?? DEFAULT_BURN_ALERTS;
  const setName = o.set ?? 'page';
  const t0 = o.t0 ?? Date.UTC(2025, 0, 1);
  let now = t0;
  // Latency and throttling SLOs are switched off: this evaluation is about availability burns.
  const book = new SloBook([
    { slo: 'latency', match: {}, set: { disabled: true }, line: 0 },
    { slo: 'throttling', match: {}, set: { disabled: true }, line: 0 },
  ]);
  const engine = new SloEngine({ store: new MemorySloLedgerStore(), book, burnAlerts, clock: () => now, aggregatorUrl: 'http://aggregator' });
  const pages: number[] = [];
  let firing = false;
  for (let b = 0; b < series.calls.length; b++) {
    const calls = series.calls[b]!;
    const failed = binomial(random, calls, series.failureP[b]!);
    const from = t0 + b * BLOCK_MS;
    now = from + BLOCK_MS - 1000;
    const le = Object.fromEntries(LATENCY_BOUNDS_MS.map((x) => [String(x), calls]));
    const w = { window: '5m', from, to: from + BLOCK_MS, calls, successes: calls - failed, successRate: calls > 0 ? (calls - failed) / calls : null, throttled: 0, throttleRate: calls > 0 ? 0 : null, latencyMs: { p50: null, p95: null, p99: null }, errorCodes: {}, errorMappingCoverage: null, latencyLe: le };
    const snap: SeriesSnapshot = { type: 'series', schemaVersion: 1, tenant: 'eval', connector: series.name, action: 'op', version: '1.0.0', kind: 'read', at: now, windows: { '5m': w } };
    const verdicts = await engine.observe(snap);
    const v = verdicts.find((x) => x.labels.alertname === 'SloBurnRateHigh' && x.labels.burn === setName);
    const fire = v?.breachFire ?? false;
    if (fire && !firing) pages.push(b);
    firing = fire;
  }
  return { pages };
}

/** Time-to-page and false-page figures of the burn-rate alerts on generated data. */
export interface BurnEvalReport {
  seriesMonths: number;
  falsePages: number;
  falsePagesPerSeriesMonth: number;
  /** Per incident type: incidents, paged ones, and minutes from start to page of each paged one. */
  incidents: Record<string, { total: number; paged: number; minutes: number[] }>;
}

/**
 * The evaluation: every normal series for `days` (false pages), then for each series with at least
 * 50 calls per block, `repeats` times, two incidents after `cleanDays` clean days: a 2 % budget burn in 1 h (14.4× for 1 h)
 * and a 5 % burn in 6 h (6× for 6 h), each followed by a day of recovery.
 */
export async function evaluateBurnAlerts(options: Partial<BurnEvalOptions> & { seed: number }): Promise<BurnEvalReport> {
  const o = { ...BURN_EVAL_DEFAULTS, ...options };
  const random = seededRandom(o.seed);
  const blocks = o.days * DAY_BLOCKS;
  let falsePages = 0;
  for (const [i, level] of o.levels.entries()) falsePages += (await replay(normalSeries(random, `normal-${i}-${level}`, level, blocks), random)).pages.length;
  const incidents: BurnEvalReport['incidents'] = {};
  const kinds = [
    { name: '2% budget in 1h (14.4x)', p: 0.144, blocks: 12 },
    { name: '5% budget in 6h (6x)', p: 0.06, blocks: 72 },
  ];
  for (const k of kinds) {
    const r = (incidents[k.name] = { total: 0, paged: 0, minutes: [] as number[] });
    for (const [i, level] of o.levels.flatMap((l) => Array.from({ length: o.repeats }, () => l)).entries()) {
      if (level < 50) continue;
      const start = o.cleanDays * DAY_BLOCKS + Math.floor(random() * DAY_BLOCKS);
      const s = normalSeries(random, `incident-${i}`, level, start + k.blocks + DAY_BLOCKS);
      for (let b = start; b < start + k.blocks; b++) s.failureP[b] = k.p;
      const { pages } = await replay(s, random);
      r.total += 1;
      const first = pages.find((b) => b >= start && b < start + k.blocks + 12);
      if (first !== undefined) {
        r.paged += 1;
        // The page is raised by the snapshot in the block's last minute: block index + 1 blocks in.
        r.minutes.push(((first - start + 1) * BLOCK_MS) / 60_000);
      }
    }
  }
  const seriesMonths = (o.levels.length * o.days) / 30;
  return { seriesMonths, falsePages, falsePagesPerSeriesMonth: falsePages / seriesMonths, incidents };
}
