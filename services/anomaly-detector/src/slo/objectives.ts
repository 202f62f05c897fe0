import type { KindValue } from '../rules/defaults';

/** The three SLIs of the connector programme. */
export const SLO_NAMES = ['availability', 'latency', 'throttling'] as const;
export type SloName = (typeof SLO_NAMES)[number];

/** Labels an SLO override may be scoped by (an SLO covers one connector action, all versions). */
export const SLO_MATCH_KEYS = ['tenant', 'connector', 'action', 'kind'] as const;
export type SloMatchKey = (typeof SLO_MATCH_KEYS)[number];
export type SloScope = Partial<Record<SloMatchKey, string>>;

/** One SLO with every setting resolved. */
export interface SloObjective {
  slo: SloName;
  /** Share of good events to reach over the window, 0–1 (0.99 = 99 %). */
  objective: number;
  /** Rolling SLO window, ms (default 30 days). */
  windowMs: number;
  /** Latency SLO only: a call is good at or under this many ms, per action kind. */
  thresholdMs: KindValue | null;
  disabled: boolean;
}

/** Length of one SLO ledger block, ms: the aggregator's 5-minute window. */
export const BLOCK_MS = 300_000;
const DAY = 86_400_000;

/**
 * Defaults from the practice guide: availability 99 % of calls successful, latency 95 % of reads
 * under 750 ms and writes under 1500 ms, throttling under 1 % of calls; 30-day rolling windows.
 */
export const SLO_DEFAULTS: Readonly<Record<SloName, SloObjective>> = {
  availability: { slo: 'availability', objective: 0.99, windowMs: 30 * DAY, thresholdMs: null, disabled: false },
  latency: { slo: 'latency', objective: 0.95, windowMs: 30 * DAY, thresholdMs: { read: 750, write: 1500 }, disabled: false },
  throttling: { slo: 'throttling', objective: 0.99, windowMs: 30 * DAY, thresholdMs: null, disabled: false },
};

/** One condition of a burn-rate alert: both windows burn faster than `factor`. */
export interface BurnWindow {
  longMs: number;
  shortMs: number;
  factor: number;
}

/** A multi-window, multi-burn-rate alert: fires when any of its windows' conditions holds. */
export interface BurnAlertSet {
  /** Alert set name, e.g. "page" (becomes the `burn` label). */
  name: string;
  severity: 'info' | 'warning' | 'critical';
  windows: BurnWindow[];
  /** Low-traffic guard: fewer calls than this in the short window = no verdict (default 50). */
  minCalls: number;
  /** Low-traffic guard: fewer bad events than this in the long window = no verdict (default 3). */
  minBadEvents: number;
}

const H = 3_600_000;
const M = 60_000;

/**
 * The SRE workbook's multi-window, multi-burn-rate defaults for a 30-day window: page at 14.4×
 * over 1 h (with 5 m) or 6× over 6 h (with 30 m), ticket at 1× over 3 d (with 6 h).
 */
export const DEFAULT_BURN_ALERTS: readonly BurnAlertSet[] = [
  {
    name: 'page',
    severity: 'critical',
    windows: [
      { longMs: H, shortMs: 5 * M, factor: 14.4 },
      { longMs: 6 * H, shortMs: 30 * M, factor: 6 },
    ],
    minCalls: 50,
    minBadEvents: 3,
  },
  { name: 'ticket', severity: 'warning', windows: [{ longMs: 3 * DAY, shortMs: 6 * H, factor: 1 }], minCalls: 50, minBadEvents: 3 },
];

/** Fallback for low traffic: the whole window's budget is spent (needs this many bad events). */
export const EXHAUSTION_MIN_BAD_EVENTS = 3;

/** One `slos:` entry of the rules file. */
export interface SloOverride {
  slo: SloName;
  match: SloScope;
  set: Partial<Omit<SloObjective, 'slo'>>;
  /** 1-based line in the rules file (0 when built in code). */
  line: number;
}

function specificity(o: SloOverride): number {
  return SLO_MATCH_KEYS.filter((k) => o.match[k] !== undefined).length;
}

/** Resolves SLOs for a scope: defaults, then matching overrides from least to most specific. */
export class SloBook {
  private readonly sorted: SloOverride[];

  constructor(readonly overrides: readonly SloOverride[] = []) {
    this.sorted = overrides.map((o, i) => ({ o, i })).sort((a, b) => specificity(a.o) - specificity(b.o) || a.i - b.i).map((x) => x.o);
  }

  /** Every SLO resolved for `scope`, disabled ones included. */
  resolveAll(scope: SloScope): SloObjective[] {
    return SLO_NAMES.map((name) => {
      let r: SloObjective = { ...SLO_DEFAULTS[name] };
      for (const o of this.sorted) {
        if (o.slo === name && SLO_MATCH_KEYS.every((k) => o.match[k] === undefined || o.match[k] === scope[k])) r = { ...r, ...o.set };
      }
      return r;
    });
  }
}
