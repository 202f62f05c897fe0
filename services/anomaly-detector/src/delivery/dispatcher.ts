import { createHash } from 'node:crypto';
import { backoffDelay, type BackoffOptions } from '@pulsegate/bus';
import type { Logger } from '@pulsegate/logging';
import { Periodic } from './periodic';
import type { AlertHistoryStore, NotificationEntry } from '../history/store';
import type { DetectorStore, OutboxItem } from '../store/types';
import { buildPayload } from './alertmanager';

/** Delivery settings; defaults in DELIVERY_DEFAULTS. */
export interface DispatcherOptions {
  store: DetectorStore;
  logger: Logger;
  clock: () => number;
  /** Identifies this instance in delivery claims. */
  owner: string;
  externalURL: string;
  /** Per-request timeout, ms. */
  timeoutMs?: number;
  /** Attempts before the dead-letter record. */
  maxAttempts?: number;
  backoff?: BackoffOptions;
  /** Outbox poll period, ms. */
  pollMs?: number;
  /** How long a claim holds off other instances, ms; longer than timeoutMs. */
  leaseMs?: number;
  /** How long a delivered key is remembered (dedup horizon), ms. */
  rememberMs?: number;
  fetchImpl?: typeof fetch;
  /** Records every delivery attempt; omitted = no history. */
  history?: AlertHistoryStore;
}

/** Delivery defaults: 5 s timeout, 8 attempts, backoff 500 ms doubling to 60 s (±20 %), 7 days dedup. */
export const DELIVERY_DEFAULTS = { timeoutMs: 5_000, maxAttempts: 8, backoff: { initialMs: 500, maxMs: 60_000 }, pollMs: 250, leaseMs: 30_000, rememberMs: 7 * 86_400_000 } as const;

class DeliveryFailure extends Error {
  constructor(
    message: string,
    readonly retriable: boolean,
  ) {
    super(message);
  }
}

/** Notification totals since start, each by receiver name (counts alerts, not webhook requests). */
export interface DeliveryCounts {
  /** Notifications a receiver accepted (2xx). */
  sent: Record<string, number>;
  /** Failed delivery attempts (each alert of a failed request counts once per attempt). */
  failed: Record<string, number>;
  /** Notifications given up on (attempts exhausted or a non-retriable 4xx). */
  deadLettered: Record<string, number>;
}

function bump(counts: Record<string, number>, key: string, n: number): void {
  counts[key] = (counts[key] ?? 0) + n;
}

/**
 * Sends queued notifications. Each item is claimed in the store first (SET NX with a lease), so two
 * instances never send one notification twice; failures are retried with jittered exponential
 * backoff; after the last attempt (or a non-retriable 4xx) a dead-letter record is kept.
 */
export class Dispatcher {
  private readonly o: Required<Omit<DispatcherOptions, 'fetchImpl' | 'backoff' | 'history'>> & { backoff: BackoffOptions; fetchImpl: typeof fetch; history?: AlertHistoryStore };
  private readonly loop: Periodic;
  /** Running totals since start, by receiver name (read by /metrics). */
  readonly counts: DeliveryCounts = { sent: {}, failed: {}, deadLettered: {} };

  constructor(options: DispatcherOptions) {
    this.o = {
      timeoutMs: DELIVERY_DEFAULTS.timeoutMs,
      maxAttempts: DELIVERY_DEFAULTS.maxAttempts,
      pollMs: DELIVERY_DEFAULTS.pollMs,
      leaseMs: DELIVERY_DEFAULTS.leaseMs,
      rememberMs: DELIVERY_DEFAULTS.rememberMs,
      fetchImpl: fetch,
      ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
      backoff: { ...DELIVERY_DEFAULTS.backoff, ...(options.backoff ?? {}) },
    } as Dispatcher['o'];
    this.loop = new Periodic(() => this.runOnce(), this.o.pollMs, (err: unknown) => this.o.logger.warn({ err }, 'delivery pass failed; retrying'));
  }

  start(): void {
    this.loop.start();
  }

  /** Stops the loop and waits for the pass in flight. Idempotent. */
  async stop(): Promise<void> {
    await this.loop.stop();
  }

  /** One pass over the due items; returns how many were delivered. */
  async runOnce(): Promise<number> {
    const { store } = this.o;
    const now = this.o.clock();
    const due = await store.due(now, 200);
    const claimed: OutboxItem[] = [];
    for (const item of due) {
      // A resolved notification never overtakes its firing one.
      if (item.after !== null && (await store.queued(item.after))) continue;
      if (await store.claim(item.key, this.o.owner, this.o.leaseMs)) claimed.push(item);
    }
    const groups = new Map<string, OutboxItem[]>();
    let delivered = 0;
    for (const item of claimed) {
      const g = `${item.receiver}\u0000${item.url}\u0000${item.groupKey}\u0000${item.status}`;
      const members = groups.get(g) ?? [];
      // Two notifications of one alert due together (a repeat queued behind a retried one): the
      // newer one supersedes the older, which is settled without being sent.
      const older = members.findIndex((m) => m.alert.fingerprint === item.alert.fingerprint);
      if (older >= 0) {
        await store.complete(members[older]!.key, this.o.rememberMs);
        await this.record([members[older]!], 'superseded', null);
        members.splice(older, 1);
      }
      groups.set(g, [...members, item]);
    }
    for (const items of groups.values()) {
      try {
        await this.send(items);
        for (const item of items) await store.complete(item.key, this.o.rememberMs);
        delivered += items.length;
        bump(this.counts.sent, items[0]!.receiver, items.length);
        await this.record(items, 'delivered', null);
      } catch (err) {
        const failure = err instanceof DeliveryFailure ? err : new DeliveryFailure((err as Error).message, true);
        await this.failed(items, failure);
      }
    }
    return delivered;
  }

  private async send(items: OutboxItem[]): Promise<void> {
    const first = items[0]!;
    const body = JSON.stringify(buildPayload(items, this.o.externalURL));
    const idempotencyKey = createHash('sha256').update(items.map((i) => i.key).join('\n')).digest('hex').slice(0, 32);
    let res: Response;
    try {
      res = await this.o.fetchImpl(first.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey, 'user-agent': 'pulsegate-anomaly-detector' },
        body,
        signal: AbortSignal.timeout(this.o.timeoutMs),
        redirect: 'error',
      });
    } catch (err) {
      throw new DeliveryFailure(`request failed: ${(err as Error).message}`, true);
    }
    await res.arrayBuffer().catch(() => undefined);
    if (res.ok) return;
    // 408 / 429 / 5xx are worth another try; any other 4xx means the receiver rejects the payload.
    const retriable = res.status === 408 || res.status === 429 || res.status >= 500;
    throw new DeliveryFailure(`receiver answered HTTP ${res.status}`, retriable);
  }

  /** History is best effort: delivery state is already settled, so a failed write is logged only. */
  private async record(items: OutboxItem[], outcome: NotificationEntry['outcome'], reason: string | null): Promise<void> {
    if (this.o.history === undefined || items.length === 0) return;
    const at = this.o.clock();
    try {
      await this.o.history.append(
        items.map((i) => ({ kind: 'notification', at, tenant: i.tenant, fingerprint: i.alert.fingerprint, labels: i.alert.labels, status: i.status, receiver: i.receiver, outcome, idempotencyKey: i.key, reason })),
      );
    } catch (err) {
      this.o.logger.warn({ err }, 'alert history write failed; delivery attempt not recorded');
    }
  }

  private async failed(items: OutboxItem[], failure: DeliveryFailure): Promise<void> {
    const now = this.o.clock();
    bump(this.counts.failed, items[0]!.receiver, items.length);
    for (const item of items) {
      const attempts = item.attempts + 1;
      if (!failure.retriable || attempts >= this.o.maxAttempts) {
        this.o.logger.error({ key: item.key, receiver: item.receiver, attempts, reason: failure.message }, 'notification dead-lettered');
        await this.o.store.deadLetter({ item: { ...item, attempts }, reason: failure.message, at: now }, this.o.rememberMs);
        bump(this.counts.deadLettered, item.receiver, 1);
        await this.record([item], 'dead-lettered', failure.message);
      } else {
        const delay = backoffDelay(attempts - 1, this.o.backoff);
        this.o.logger.warn({ key: item.key, receiver: item.receiver, attempts, delay, reason: failure.message }, 'notification failed; retrying');
        await this.o.store.reschedule({ ...item, attempts, dueAt: now + delay });
        await this.record([item], 'failed', failure.message);
      }
    }
  }
}
