import type { Logger } from '@pulsegate/logging';
import { Periodic } from './periodic';
import { silencedBy } from '../silences/matchers';
import type { DetectorStore } from '../store/types';
import type { AlertHistoryStore, NotificationEntry } from '../history/store';

/** One alert in Alertmanager's v2 API (POST /api/v2/alerts, https://github.com/prometheus/alertmanager/blob/main/api/v2/openapi.yaml). */
export interface AlertmanagerAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
}

/** Settings of the push; defaults in ALERTMANAGER_PUSH_DEFAULTS. */
export interface AlertmanagerPushOptions {
  store: DetectorStore;
  logger: Logger;
  clock: () => number;
  /** Alertmanager base URLs (the v2 API is under /api/v2). */
  urls: readonly string[];
  /** Push period, ms (Prometheus re-sends every minute). */
  intervalMs?: number;
  /** Resolved alerts are re-sent for this long after they resolve, ms (Prometheus: 15 min). */
  resolvedResendMs?: number;
  /** Per-request timeout, ms. */
  timeoutMs?: number;
  fetchImpl?: typeof fetch;
  /** Records push outcomes (receiver `alertmanager:<url>`); omitted = no history. */
  history?: AlertHistoryStore;
}

/** Defaults: push every 60 s, resolved alerts re-sent for 15 min, 10 s request timeout. */
export const ALERTMANAGER_PUSH_DEFAULTS = { intervalMs: 60_000, resolvedResendMs: 15 * 60_000, timeoutMs: 10_000 } as const;

/** One pushed alert with what the history needs about it. */
interface Pushed {
  tenant: string;
  fingerprint: string;
  labels: Record<string, string>;
  status: 'firing' | 'resolved';
  alert: AlertmanagerAlert;
}

/** Most alerts per request (a large backlog goes out in several requests). */
const BATCH = 500;

/**
 * Pushes alert state to Alertmanagers the way Prometheus does: every interval, every firing alert
 * (not silenced here) with endsAt four intervals ahead, so Alertmanager resolves it by itself if
 * the pushes stop; resolved alerts with their real endsAt for 15 minutes. Alertmanager merges
 * repeats by label set, so several detector instances may push the same alerts safely.
 */
export class AlertmanagerPusher {
  private readonly o: Required<Omit<AlertmanagerPushOptions, 'fetchImpl' | 'history'>> & { fetchImpl: typeof fetch; history?: AlertHistoryStore };
  private readonly loop: Periodic;
  /** Alerts accepted / requests failed per Alertmanager URL since start (read by /metrics and tests). */
  private readonly lastOutcome = new Map<string, NotificationEntry['outcome']>();
  readonly counts = { sent: {} as Record<string, number>, failed: {} as Record<string, number> };

  constructor(options: AlertmanagerPushOptions) {
    this.o = {
      intervalMs: options.intervalMs ?? ALERTMANAGER_PUSH_DEFAULTS.intervalMs,
      resolvedResendMs: options.resolvedResendMs ?? ALERTMANAGER_PUSH_DEFAULTS.resolvedResendMs,
      timeoutMs: options.timeoutMs ?? ALERTMANAGER_PUSH_DEFAULTS.timeoutMs,
      fetchImpl: options.fetchImpl ?? fetch,
      store: options.store,
      logger: options.logger,
      clock: options.clock,
      urls: options.urls,
      history: options.history,
    };
    this.loop = new Periodic(() => this.pushOnce(), this.o.intervalMs, (err: unknown) => this.o.logger.warn({ err }, 'Alertmanager push pass failed'));
  }

  /** The alerts one push sends, at clock time. */
  async alerts(): Promise<AlertmanagerAlert[]> {
    return (await this.collect()).map((p) => p.alert);
  }

  private async collect(): Promise<Pushed[]> {
    const now = this.o.clock();
    const out: Pushed[] = [];
    for (const tenant of await this.o.store.tenants()) {
      const silences = await this.o.store.listSilences(tenant);
      for (const a of await this.o.store.listAlerts(tenant)) {
        const base = { labels: { ...a.labels, tenant: a.tenant }, annotations: a.annotations, startsAt: new Date(a.startsAt ?? a.lastEvaluatedAt).toISOString(), generatorURL: a.generatorURL };
        const meta = { tenant: a.tenant, fingerprint: a.fingerprint, labels: a.labels };
        if (a.state === 'firing' && silencedBy(silences, a.labels, now).length === 0) {
          out.push({ ...meta, status: 'firing', alert: { ...base, endsAt: new Date(now + 4 * this.o.intervalMs).toISOString() } });
        } else if (a.state === 'resolved' && a.endsAt !== null && now - a.endsAt <= this.o.resolvedResendMs) {
          out.push({ ...meta, status: 'resolved', alert: { ...base, endsAt: new Date(a.endsAt).toISOString() } });
        }
      }
    }
    return out;
  }

  /** One push to every Alertmanager; failures are logged and retried at the next interval. */
  async pushOnce(): Promise<void> {
    const pushed = await this.collect();
    this.forgetGone(pushed);
    if (pushed.length === 0) return;
    await Promise.all(
      this.o.urls.map(async (base) => {
        const url = `${base.replace(/\/+$/, '')}/api/v2/alerts`;
        for (let i = 0; i < pushed.length; i += BATCH) {
          const batch = pushed.slice(i, i + BATCH);
          try {
            const res = await this.o.fetchImpl(url, { method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': 'pulsegate-anomaly-detector' }, body: JSON.stringify(batch.map((p) => p.alert)), signal: AbortSignal.timeout(this.o.timeoutMs), redirect: 'error' });
            await res.arrayBuffer().catch(() => undefined);
            if (!res.ok) throw new Error(`Alertmanager answered HTTP ${res.status}`);
            this.counts.sent[base] = (this.counts.sent[base] ?? 0) + batch.length;
            await this.record(base, batch, 'delivered', null);
          } catch (err) {
            this.counts.failed[base] = (this.counts.failed[base] ?? 0) + 1;
            this.o.logger.warn({ alertmanager: base, err: (err as Error).message }, 'Alertmanager push failed; retrying next interval');
            await this.record(base, pushed.slice(i), 'failed', (err as Error).message);
            return;
          }
        }
      }),
    );
  }

  /**
   * Alerts are re-sent every interval; history gets an entry only when the outcome for one
   * Alertmanager, alert and status changes (first send, failure, recovery), not for every repeat.
   */
  private async record(base: string, batch: Pushed[], outcome: NotificationEntry['outcome'], reason: string | null): Promise<void> {
    if (this.o.history === undefined) return;
    const at = this.o.clock();
    const entries: NotificationEntry[] = [];
    for (const p of batch) {
      const k = `${base}\u0000${p.tenant}\u0000${p.fingerprint}\u0000${p.status}`;
      if (this.lastOutcome.get(k) === outcome) continue;
      this.lastOutcome.set(k, outcome);
      entries.push({ kind: 'notification', at, tenant: p.tenant, fingerprint: p.fingerprint, labels: p.labels, status: p.status, receiver: `alertmanager:${base}`, outcome, idempotencyKey: null, reason });
    }
    try {
      if (entries.length > 0) await this.o.history.append(entries);
    } catch (err) {
      // Forget the outcomes so the next pass tries to record them again.
      for (const e of entries) this.lastOutcome.delete(`${base}\u0000${e.tenant}\u0000${e.fingerprint}\u0000${e.status}`);
      this.o.logger.warn({ err }, 'alert history write failed; push outcome not recorded');
    }
  }

  /** Drops remembered outcomes of alerts no longer pushed, so the map stays as large as the pushed set. */
  private forgetGone(pushed: Pushed[]): void {
    const live = new Set(pushed.map((p) => `${p.tenant}\u0000${p.fingerprint}\u0000${p.status}`));
    for (const k of this.lastOutcome.keys()) if (!live.has(k.slice(k.indexOf('\u0000') + 1))) this.lastOutcome.delete(k);
  }

  start(): void {
    if (this.o.urls.length > 0) this.loop.start();
  }

  /** Stops the loop and waits for the pass in flight. Idempotent. */
  async stop(): Promise<void> {
    await this.loop.stop();
  }
}
