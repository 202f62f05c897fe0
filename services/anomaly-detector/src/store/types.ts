import type { AlertRecord } from '../lifecycle/alert';
import type { Silence } from '../silences/matchers';

/** One alert as Alertmanager's webhook v4 payload carries it. Times are RFC 3339. */
export interface WebhookAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
}

/** A notification waiting in the outbox for one receiver. `key` is its idempotency key. */
export interface OutboxItem {
  key: string;
  receiver: string;
  url: string;
  tenant: string;
  groupKey: string;
  groupLabels: Record<string, string>;
  status: 'firing' | 'resolved';
  alert: WebhookAlert;
  /** Key of a notification that must be settled first (a resolved waits for its firing). */
  after: string | null;
  attempts: number;
  /** Earliest delivery time, epoch ms. */
  dueAt: number;
  createdAt: number;
}

/** A notification given up after the last retry. */
export interface DeadLetterRecord {
  item: OutboxItem;
  reason: string;
  at: number;
}

/**
 * Everything the detector keeps: alert states (optimistic concurrency by `version`), statistical
 * history, silences and the notification outbox with delivery claims. One interface, a memory and
 * a Redis implementation passing one contract test.
 */
export interface DetectorStore {
  readonly kind: 'memory' | 'redis';
  getAlert(tenant: string, fingerprint: string): Promise<AlertRecord | null>;
  listAlerts(tenant: string): Promise<AlertRecord[]>;
  /** Tenants that have (or had) alerts. */
  tenants(): Promise<string[]>;
  /** Writes `next` only when the stored version is `next.version − 1` (absent counts as 0). */
  saveAlert(next: AlertRecord): Promise<boolean>;
  /** Deletes the alert only when the stored version is `version`. */
  deleteAlert(tenant: string, fingerprint: string, version: number): Promise<boolean>;

  /** Stores the value of one 5-minute bucket (overwriting it) and drops buckets older than `bucket − keep`. */
  recordPoint(tenant: string, seriesId: string, bucket: number, value: number, keep: number): Promise<void>;
  history(tenant: string, seriesId: string): Promise<Map<number, number>>;

  /** When the one-time notice `id` of a tenant went out (epoch ms), or null when it has not. */
  noticeSentAt(tenant: string, id: string): Promise<number | null>;
  /** Remembers that notice `id` went out at `at` (kept until the store is emptied); false when it already had. */
  markNoticeSent(tenant: string, id: string, at: number): Promise<boolean>;

  putSilence(silence: Silence): Promise<void>;
  getSilence(tenant: string, id: string): Promise<Silence | null>;
  listSilences(tenant: string): Promise<Silence[]>;

  /** Adds items unless already queued or settled (idempotent by key). */
  enqueue(items: OutboxItem[]): Promise<void>;
  /** Items due at `now`, earliest first. */
  due(now: number, limit: number): Promise<OutboxItem[]>;
  /** True while `key` is queued (not yet delivered or dead-lettered). */
  queued(key: string): Promise<boolean>;
  /** Claims a delivery for `leaseMs` (SET NX with TTL); false when another worker holds it or it is settled. */
  claim(key: string, owner: string, leaseMs: number): Promise<boolean>;
  /** Stores new attempts / dueAt and releases the claim. */
  reschedule(item: OutboxItem): Promise<void>;
  /** Marks delivered (remembered `rememberMs`) and removes from the outbox. */
  complete(key: string, rememberMs: number): Promise<void>;
  deadLetter(record: DeadLetterRecord, rememberMs: number): Promise<void>;
  deadLetters(limit: number): Promise<DeadLetterRecord[]>;

  ping(): Promise<boolean>;
  close(): Promise<void>;
}
