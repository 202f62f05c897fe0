import { DEFAULT_DEDUP_HORIZON_MS } from './dedup';

/** Window retention and event-time acceptance. */
export interface WindowConfig {
  /** How long minute buckets are kept, ms. Default 48 h. */
  minuteRetentionMs: number;
  /** How long hour buckets are kept, ms. Default 35 days. */
  hourRetentionMs: number;
  /** Events further in the future than this (event time − now), ms, are dropped. Default 5 min. */
  maxFutureSkewMs: number;
  /**
   * How long span identities are remembered to recognise retried exports, ms; 0 = dedup off.
   * Default 10 min. A duplicate arriving later than this after the first delivery is counted again.
   */
  dedupHorizonMs: number;
}

export const DEFAULT_WINDOW_CONFIG: Readonly<WindowConfig> = {
  minuteRetentionMs: 48 * 3_600_000,
  hourRetentionMs: 35 * 86_400_000,
  maxFutureSkewMs: 5 * 60_000,
  dedupHorizonMs: DEFAULT_DEDUP_HORIZON_MS,
};
