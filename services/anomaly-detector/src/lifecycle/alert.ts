/** Lifecycle states (Prometheus terms): inactive → pending → firing → resolved. */
export type AlertState = 'inactive' | 'pending' | 'firing' | 'resolved';

/** The stored state of one alert (one rule on one series). Times are epoch ms. */
export interface AlertRecord {
  /** Optimistic-concurrency version: bumped on every write, checked by the store. */
  version: number;
  fingerprint: string;
  tenant: string;
  rule: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: AlertState;
  /** When the current breach began (pending since). */
  activeAt: number | null;
  /** When it started firing (Alertmanager startsAt; Prometheus uses the breach start). */
  startsAt: number | null;
  /** When it resolved. */
  endsAt: number | null;
  lastBreachAt: number | null;
  /** Event time of the latest evaluation; older evaluations (replays) are ignored. */
  lastEvaluatedAt: number;
  value: number | null;
  threshold: number | null;
  window: string;
  generatorURL: string;
  /** Last time a firing notification was queued for this episode; null = not yet notified. */
  notifiedAt: number | null;
  /** Firing notifications queued in this episode (repeats included). */
  notifications: number;
}

/** One evaluation of a rule on a series. */
export interface Evaluation {
  at: number;
  breach: boolean;
  fingerprint: string;
  tenant: string;
  rule: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  value: number | null;
  threshold: number | null;
  window: string;
  generatorURL: string;
}

/** `for` and `keep_firing_for` of the rule, ms. */
export interface Timing {
  forMs: number;
  keepFiringForMs: number;
}

/** What an evaluation changed: the state entered, or null when the state stayed. */
export type Change = 'pending' | 'firing' | 'resolved' | 'inactive' | null;

/**
 * Pure lifecycle step. A breach starts pending (or firing at once when `for` is 0); pending fires
 * once in breach for `forMs`, and drops to inactive on the first good evaluation; firing resolves
 * only after `keepFiringForMs` without a breach. Evaluations older than the last one are ignored.
 */
export function step(prev: AlertRecord | null, ev: Evaluation, timing: Timing): { next: AlertRecord | null; change: Change } {
  if (prev !== null && ev.at < prev.lastEvaluatedAt) return { next: prev, change: null };
  const refreshed = (r: AlertRecord): AlertRecord => ({
    ...r,
    lastEvaluatedAt: ev.at,
    labels: ev.labels,
    annotations: ev.annotations,
    value: ev.value,
    threshold: ev.threshold,
    window: ev.window,
    generatorURL: ev.generatorURL,
  });
  const state = prev?.state ?? 'inactive';
  if (state === 'inactive' || state === 'resolved') {
    // Nothing to record: quiet series cost no writes.
    if (!ev.breach) return { next: prev, change: null };
    const base: AlertRecord = {
      version: prev?.version ?? 0,
      fingerprint: ev.fingerprint,
      tenant: ev.tenant,
      rule: ev.rule,
      labels: ev.labels,
      annotations: ev.annotations,
      state: 'pending',
      activeAt: ev.at,
      startsAt: null,
      endsAt: null,
      lastBreachAt: ev.at,
      lastEvaluatedAt: ev.at,
      value: ev.value,
      threshold: ev.threshold,
      window: ev.window,
      generatorURL: ev.generatorURL,
      notifiedAt: null,
      notifications: 0,
    };
    if (timing.forMs <= 0) return { next: { ...base, state: 'firing', startsAt: ev.at }, change: 'firing' };
    return { next: base, change: 'pending' };
  }
  if (state === 'pending') {
    const r = prev!;
    if (!ev.breach) return { next: { ...refreshed(r), state: 'inactive', activeAt: null, lastBreachAt: r.lastBreachAt }, change: 'inactive' };
    const next = { ...refreshed(r), lastBreachAt: ev.at };
    if (ev.at - (r.activeAt ?? ev.at) >= timing.forMs) return { next: { ...next, state: 'firing', startsAt: r.activeAt ?? ev.at }, change: 'firing' };
    return { next, change: null };
  }
  // firing
  const r = prev!;
  if (ev.breach) return { next: { ...refreshed(r), lastBreachAt: ev.at }, change: null };
  if (ev.at - (r.lastBreachAt ?? ev.at) >= timing.keepFiringForMs) {
    return { next: { ...refreshed(r), state: 'resolved', endsAt: ev.at }, change: 'resolved' };
  }
  return { next: refreshed(r), change: null };
}
