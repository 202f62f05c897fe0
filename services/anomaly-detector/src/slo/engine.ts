import { LATENCY_BOUNDS_MS, type SeriesSnapshot, type WindowMetrics } from '@pulsegate/events';
import { formatDuration } from '../rules/duration';
import type { Verdict } from '../verdict';
import { attainment, budgetRemaining, burnRate, errorBudget, timeToExhaustion, type SliCounts } from './budget';
import { actionKey, type ActionRef, type BlockCounts, type SloLedgerStore } from './ledger-store';
import { BLOCK_MS, EXHAUSTION_MIN_BAD_EVENTS, type BurnAlertSet, type SloBook, type SloObjective } from './objectives';

/** What the SLO engine needs. */
export interface SloEngineOptions {
  store: SloLedgerStore;
  book: SloBook;
  burnAlerts: readonly BurnAlertSet[];
  clock: () => number;
  /** Base URL of the aggregator for generatorURL links. */
  aggregatorUrl: string;
  /** Raise SLO alerts (default true); false = record and report only. */
  alerts?: boolean;
  /** Most actions whose blocks are cached in memory (default 10 000); evicted ones reload from the store. */
  maxCachedActions?: number;
}

/** Summed counts of an action over a window; latency counts only over blocks that carried them. */
export interface WindowCounts {
  calls: number;
  successes: number;
  throttled: number;
  latencyCalls: number;
  le: number[];
}

/** One SLO of one action, as GET /v1/slos and the gauges report it. */
export interface SloStatus {
  connector: string;
  action: string;
  kind: 'read' | 'write';
  slo: SloObjective['slo'];
  objective: number;
  window: string;
  /** Latency SLO: good at or under this many ms; null for the others. */
  thresholdMs: number | null;
  /** SLI events over the SLO window (calls) and the bad ones among them. */
  events: number;
  badEvents: number;
  /** Good share over the window, 0–1; null without events. */
  attainment: number | null;
  /** Allowed bad share, 1 − objective. */
  errorBudget: number;
  /** Share of the budget left over the window (negative once overspent). */
  budgetRemaining: number;
  /** Burn rate per alert window name ("5m", "1h", …); null without events in that window. */
  burnRates: Record<string, number | null>;
  /** Time until the budget is spent at the 1-hour burn rate, seconds; null when nothing burns. */
  timeToExhaustionSeconds: number | null;
}

const MINUTE = 60_000;
const MAX_BLOCKS = (90 * 86_400_000) / BLOCK_MS;

function zero(): WindowCounts {
  return { calls: 0, successes: 0, throttled: 0, latencyCalls: 0, le: LATENCY_BOUNDS_MS.map(() => 0) };
}

function addBlock(into: WindowCounts, b: BlockCounts): void {
  into.calls += b.calls;
  into.successes += b.successes;
  into.throttled += b.throttled;
  if (b.le !== null) {
    into.latencyCalls += b.calls;
    b.le.forEach((v, i) => (into.le[i]! += v));
  }
}

function addCounts(a: WindowCounts, b: WindowCounts): WindowCounts {
  return { calls: a.calls + b.calls, successes: a.successes + b.successes, throttled: a.throttled + b.throttled, latencyCalls: a.latencyCalls + b.latencyCalls, le: a.le.map((v, i) => v + b.le[i]!) };
}

/** A snapshot window as block counts (latency buckets only when the producer sent every bound). */
export function blockOf(w: WindowMetrics): BlockCounts {
  const le = w.latencyLe;
  const complete = le !== undefined && LATENCY_BOUNDS_MS.every((b) => le[String(b)] !== undefined);
  return { calls: w.calls, successes: w.successes, throttled: w.throttled, le: complete ? LATENCY_BOUNDS_MS.map((b) => le[String(b)]!) : null };
}

/**
 * Good / bad events of an SLO from window counts: availability counts unsuccessful calls as bad,
 * throttling counts 429s, latency counts calls slower than the kind's threshold.
 */
export function sliOf(slo: SloObjective, kind: 'read' | 'write', c: WindowCounts): SliCounts {
  if (slo.slo === 'availability') return { total: c.calls, bad: Math.max(0, c.calls - c.successes) };
  if (slo.slo === 'throttling') return { total: c.calls, bad: c.throttled };
  const i = LATENCY_BOUNDS_MS.indexOf(slo.thresholdMs![kind]);
  return { total: c.latencyCalls, bad: Math.max(0, c.latencyCalls - c.le[i]!) };
}

interface ActionState {
  tenant: string;
  ref: ActionRef;
  blocks: Map<number, BlockCounts>;
  /** Per-version counts of the block being written (its 5-minute window ends this minute). */
  pending: Map<number, Map<string, BlockCounts>>;
  /** Latest live 5-minute window per version. */
  live: Map<string, { to: number; counts: BlockCounts }>;
  /** Block sums per window length (see blockSum); entries covering a rewritten block are dropped. */
  sums: Map<number, { first: number; stop: number; sum: WindowCounts }>;
}

const SLO_SUMMARY: Record<SloObjective['slo'], string> = {
  availability: 'availability SLO',
  latency: 'latency SLO',
  throttling: 'throttling SLO',
};

const SLO_METRIC: Record<SloObjective['slo'], string> = { availability: 'successRate', latency: 'p95', throttling: 'throttleRate' };

function fmt(v: number | null): string {
  return v === null ? 'n/a' : String(Number(v.toPrecision(4)));
}

/**
 * The SLO ledger and burn-rate evaluation. Every 5-minute block of an action (all versions summed)
 * is written once its 5-minute snapshot window is block-aligned (the snapshots of the block's last
 * minute; the latest one wins). A window of length W ending at the live snapshot is the live
 * 5-minute window plus the recorded blocks before it, so windows are accurate to one block.
 */
export class SloEngine {
  private readonly states = new Map<string, ActionState>();
  private readonly loading = new Map<string, Promise<ActionState>>();
  private readonly maxCached: number;
  private readonly keepBlocks: number;

  constructor(private readonly o: SloEngineOptions) {
    this.maxCached = o.maxCachedActions ?? 10_000;
    this.keepBlocks = MAX_BLOCKS;
  }

  private async state(tenant: string, ref: ActionRef): Promise<ActionState> {
    const key = `${tenant}\u001f${actionKey(ref)}`;
    const hit = this.states.get(key);
    if (hit !== undefined) return hit;
    let p = this.loading.get(key);
    if (p === undefined) {
      p = this.o.store.load(tenant, ref).then((blocks) => {
        const s: ActionState = { tenant, ref, blocks, pending: new Map(), live: new Map(), sums: new Map() };
        // Bounded: evict the oldest cached action (it reloads from the store when seen again).
        if (this.states.size >= this.maxCached) this.states.delete(this.states.keys().next().value!);
        this.states.set(key, s);
        return s;
      });
      this.loading.set(key, p);
      void p.finally(() => this.loading.delete(key)).catch(() => undefined);
    }
    return p;
  }

  /** Records a series snapshot into its action's ledger and returns the SLO alert verdicts. */
  async observe(s: SeriesSnapshot): Promise<Verdict[]> {
    const ref: ActionRef = { connector: s.connector, action: s.action, kind: s.kind };
    const st = await this.state(s.tenant, ref);
    const w = s.windows['5m'];
    if (w === undefined) return [];
    const counts = blockOf(w);
    st.live.set(s.version, { to: w.to, counts });
    if (w.to - w.from === BLOCK_MS && w.from % BLOCK_MS === 0) {
      const block = w.from / BLOCK_MS;
      let versions = st.pending.get(block);
      if (versions === undefined) st.pending.set(block, (versions = new Map()));
      versions.set(s.version, counts);
      for (const b of st.pending.keys()) if (b < block - 1) st.pending.delete(b);
      const sum = zero();
      for (const c of versions.values()) addBlock(sum, c);
      const total: BlockCounts = { calls: sum.calls, successes: sum.successes, throttled: sum.throttled, le: [...versions.values()].every((c) => c.le !== null) ? sum.le : null };
      await this.o.store.put(s.tenant, ref, block, total, this.keepBlocks);
      // Trimmed once per block (on its first write), not on every rewrite.
      if (!st.blocks.has(block)) for (const b of st.blocks.keys()) if (b <= block - this.keepBlocks) st.blocks.delete(b);
      st.blocks.set(block, total);
      for (const [k, c] of st.sums) if (block < c.stop) st.sums.delete(k);
    }
    return this.o.alerts === false ? [] : this.verdicts(st, w.to);
  }

  /** The live 5-minute window of an action at `end`: versions whose latest window ends within a minute of it. */
  private live(st: ActionState, end: number): WindowCounts | null {
    let out: WindowCounts | null = null;
    for (const l of st.live.values()) {
      if (l.to < end - MINUTE || l.to > end) continue;
      out ??= zero();
      addBlock(out, l.counts);
    }
    return out;
  }

  /** Counts over [end − windowMs, end): the live window (when given) plus recorded blocks before it. */
  windowCounts(st: ActionState, windowMs: number, end: number, live: WindowCounts | null): WindowCounts {
    const liveFrom = live === null ? end : end - BLOCK_MS;
    if (live !== null && windowMs <= BLOCK_MS) return live;
    const first = Math.floor((end - windowMs) / BLOCK_MS);
    // Blocks that end at or before the live window's start; without a live window, every block started before `end`.
    const stop = live === null ? Math.ceil(end / BLOCK_MS) : Math.floor(liveFrom / BLOCK_MS);
    const sum = this.blockSum(st, windowMs, first, stop);
    return live === null ? sum : addCounts(sum, live);
  }

  /**
   * Sum of blocks [first, stop), kept per window length and slid forward incrementally (add the
   * new blocks, subtract the ones that left), so a 30-day window costs a few blocks per snapshot.
   */
  private blockSum(st: ActionState, windowMs: number, first: number, stop: number): WindowCounts {
    const c = st.sums.get(windowMs);
    if (c !== undefined && c.first === first && c.stop === stop) return c.sum;
    const add = (sum: WindowCounts, from: number, to: number, sign: 1 | -1): void => {
      for (let b = from; b < to; b++) {
        const x = st.blocks.get(b);
        if (x === undefined) continue;
        sum.calls += sign * x.calls;
        sum.successes += sign * x.successes;
        sum.throttled += sign * x.throttled;
        if (x.le !== null) {
          sum.latencyCalls += sign * x.calls;
          x.le.forEach((v, i) => (sum.le[i]! += sign * v));
        }
      }
    };
    let sum: WindowCounts;
    if (c !== undefined && first >= c.first && stop >= c.stop && first <= c.stop && stop - c.stop + (first - c.first) < stop - first) {
      sum = { ...c.sum, le: [...c.sum.le] };
      add(sum, c.stop, stop, 1);
      add(sum, c.first, first, -1);
    } else {
      sum = zero();
      if (stop - first < st.blocks.size) add(sum, first, stop, 1);
      else for (const [b, x] of st.blocks) if (b >= first && b < stop) addBlock(sum, x);
    }
    st.sums.set(windowMs, { first, stop, sum });
    return sum;
  }

  private generatorURL(ref: ActionRef, slo: SloObjective): string {
    const base = this.o.aggregatorUrl.replace(/\/+$/, '');
    const q = new URLSearchParams({ metric: SLO_METRIC[slo.slo], window: '6h', step: '5m', action: ref.action, kind: ref.kind });
    return `${base}/v1/connectors/${encodeURIComponent(ref.connector)}/timeseries?${q.toString()}`;
  }

  private verdicts(st: ActionState, end: number): Verdict[] {
    const { tenant, ref } = st;
    const live = this.live(st, end);
    const out: Verdict[] = [];
    for (const slo of this.o.book.resolveAll({ tenant, ...ref })) {
      if (slo.disabled) continue;
      const base = { tenant, connector: ref.connector, action: ref.action, kind: ref.kind, slo: slo.slo };
      const generatorURL = this.generatorURL(ref, slo);
      for (const set of this.o.burnAlerts) {
        let fire = false;
        let value: number | null = null;
        let threshold: number | null = null;
        let window = formatDuration(set.windows[0]!.longMs);
        const extra: Record<string, string> = { objective: String(slo.objective) };
        for (const bw of set.windows) {
          const long = sliOf(slo, ref.kind, this.windowCounts(st, bw.longMs, end, live));
          const short = sliOf(slo, ref.kind, this.windowCounts(st, bw.shortMs, end, live));
          const rl = burnRate(long, slo.objective);
          const rs = burnRate(short, slo.objective);
          const ln = formatDuration(bw.longMs);
          const sn = formatDuration(bw.shortMs);
          extra[`burnRate_${ln}`] = fmt(rl);
          extra[`burnRate_${sn}`] = fmt(rs);
          // Low-traffic guard: too few calls in the short window or too few bad events overall
          // say too little; the condition waits (the budget-exhaustion alert covers slow burns).
          if (short.total < set.minCalls || long.bad < set.minBadEvents) continue;
          const hit = rl !== null && rs !== null && rl >= bw.factor && rs >= bw.factor;
          if (hit && !fire) {
            fire = true;
            value = rl;
            threshold = bw.factor;
            window = ln;
          } else if (!fire && rl !== null && (value === null || rl / bw.factor > value / threshold!)) {
            value = rl;
            threshold = bw.factor;
            window = ln;
          }
        }
        extra.description = `${slo.slo} error budget burn rate ${fmt(value)}× over ${window} (alert at ${fmt(threshold)}×; objective ${slo.objective})`;
        out.push({
          rule: { name: 'SloBurnRateHigh', summary: `${SLO_SUMMARY[slo.slo]}: error budget burning fast (${set.name})`, metric: `${slo.slo} burn rate`, op: '>', forMs: 0, keepFiringForMs: 0 },
          labels: { alertname: 'SloBurnRateHigh', ...base, burn: set.name, severity: set.severity },
          breachFire: fire,
          breachClear: fire,
          value,
          threshold,
          window,
          generatorURL,
          extra,
        });
      }
      // Fallback that needs no short-window traffic: the whole window's budget is spent.
      const whole = sliOf(slo, ref.kind, this.windowCounts(st, slo.windowMs, end, live));
      const remaining = budgetRemaining(whole, slo.objective);
      const exhausted = remaining <= 0 && whole.bad >= EXHAUSTION_MIN_BAD_EVENTS;
      out.push({
        rule: { name: 'SloBudgetExhausted', summary: `${SLO_SUMMARY[slo.slo]}: error budget spent`, metric: `${slo.slo} budget remaining`, op: '<', forMs: 0, keepFiringForMs: 0 },
        labels: { alertname: 'SloBudgetExhausted', ...base, severity: 'warning' },
        breachFire: exhausted,
        breachClear: exhausted,
        value: remaining,
        threshold: 0,
        window: formatDuration(slo.windowMs),
        generatorURL,
        extra: { objective: String(slo.objective), events: fmt(whole.total), badEvents: fmt(whole.bad) },
      });
    }
    return out;
  }

  /** Tenants with SLO data: recorded blocks, or live windows seen by this process. */
  async tenants(): Promise<string[]> {
    const out = new Set(await this.o.store.tenants());
    for (const st of this.states.values()) if (st.live.size > 0) out.add(st.tenant);
    return [...out];
  }

  /**
   * Actions of a tenant: those with recorded blocks plus those this process has live windows of,
   * so an action reports (and its alerts show in the status) before its first block is recorded.
   */
  private async actionRefs(tenant: string): Promise<ActionRef[]> {
    const out = new Map((await this.o.store.actions(tenant)).map((r) => [actionKey(r), r]));
    for (const st of this.states.values()) if (st.tenant === tenant && st.live.size > 0) out.set(actionKey(st.ref), st.ref);
    return [...out.values()];
  }

  /** SLO status of every action of a tenant (optionally one connector), at clock time. */
  async status(tenant: string, connector?: string): Promise<SloStatus[]> {
    const now = this.o.clock();
    const end = Math.floor(now / MINUTE) * MINUTE + MINUTE;
    const refs = (await this.actionRefs(tenant)).filter((r) => connector === undefined || r.connector === connector);
    const windows = new Set<number>();
    for (const set of this.o.burnAlerts) for (const w of set.windows) windows.add(w.shortMs).add(w.longMs);
    windows.add(3_600_000);
    const out: SloStatus[] = [];
    for (const ref of refs.sort((a, b) => actionKey(a).localeCompare(actionKey(b)))) {
      const st = await this.state(tenant, ref);
      const live = this.live(st, end);
      for (const slo of this.o.book.resolveAll({ tenant, ...ref })) {
        if (slo.disabled) continue;
        const whole = sliOf(slo, ref.kind, this.windowCounts(st, slo.windowMs, end, live));
        const burnRates: Record<string, number | null> = {};
        for (const ms of [...windows].sort((a, b) => a - b)) burnRates[formatDuration(ms)] = burnRate(sliOf(slo, ref.kind, this.windowCounts(st, ms, end, live)), slo.objective);
        const remaining = budgetRemaining(whole, slo.objective);
        const ttl = timeToExhaustion(remaining, burnRates['1h'] ?? null, slo.windowMs);
        out.push({
          connector: ref.connector,
          action: ref.action,
          kind: ref.kind,
          slo: slo.slo,
          objective: slo.objective,
          window: formatDuration(slo.windowMs),
          thresholdMs: slo.slo === 'latency' ? slo.thresholdMs![ref.kind] : null,
          events: whole.total,
          badEvents: whole.bad,
          attainment: attainment(whole),
          errorBudget: errorBudget(slo.objective),
          budgetRemaining: remaining,
          burnRates,
          timeToExhaustionSeconds: ttl === null ? null : ttl / 1000,
        });
      }
    }
    return out;
  }
}
