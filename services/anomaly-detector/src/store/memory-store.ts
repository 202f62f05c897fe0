import type { AlertRecord } from '../lifecycle/alert';
import type { Silence } from '../silences/matchers';
import type { DeadLetterRecord, DetectorStore, OutboxItem } from './types';

/** Most dead letters kept (oldest dropped first). */
export const MAX_DEAD_LETTERS = 1_000;

/** Embedded-mode store: the DetectorStore contract in process memory. `clock` drives lease expiry. */
export class MemoryStore implements DetectorStore {
  readonly kind = 'memory' as const;
  private readonly alerts = new Map<string, Map<string, AlertRecord>>();
  private readonly histories = new Map<string, Map<number, number>>();
  private readonly silences = new Map<string, Map<string, Silence>>();
  private readonly outbox = new Map<string, OutboxItem>();
  private readonly leases = new Map<string, number>();
  private readonly settled = new Map<string, number>();
  private readonly dead: DeadLetterRecord[] = [];
  private readonly notices = new Map<string, Map<string, number>>();

  constructor(private readonly clock: () => number = Date.now) {}

  private tenantAlerts(tenant: string): Map<string, AlertRecord> {
    let m = this.alerts.get(tenant);
    if (m === undefined) {
      m = new Map();
      this.alerts.set(tenant, m);
    }
    return m;
  }

  async getAlert(tenant: string, fingerprint: string): Promise<AlertRecord | null> {
    const r = this.alerts.get(tenant)?.get(fingerprint);
    return r === undefined ? null : structuredClone(r);
  }

  async listAlerts(tenant: string): Promise<AlertRecord[]> {
    return [...(this.alerts.get(tenant)?.values() ?? [])].map((r) => structuredClone(r));
  }

  async tenants(): Promise<string[]> {
    return [...this.alerts.keys()];
  }

  async saveAlert(next: AlertRecord): Promise<boolean> {
    const m = this.tenantAlerts(next.tenant);
    const current = m.get(next.fingerprint)?.version ?? 0;
    if (current !== next.version - 1) return false;
    m.set(next.fingerprint, structuredClone(next));
    return true;
  }

  async deleteAlert(tenant: string, fingerprint: string, version: number): Promise<boolean> {
    const m = this.alerts.get(tenant);
    if (m?.get(fingerprint)?.version !== version) return false;
    m.delete(fingerprint);
    return true;
  }

  async noticeSentAt(tenant: string, id: string): Promise<number | null> {
    return this.notices.get(tenant)?.get(id) ?? null;
  }

  async markNoticeSent(tenant: string, id: string, at: number): Promise<boolean> {
    let m = this.notices.get(tenant);
    if (m === undefined) this.notices.set(tenant, (m = new Map()));
    if (m.has(id)) return false;
    m.set(id, at);
    return true;
  }

  async recordPoint(tenant: string, seriesId: string, bucket: number, value: number, keep: number): Promise<void> {
    const key = `${tenant}\u001f${seriesId}`;
    let h = this.histories.get(key);
    if (h === undefined) {
      h = new Map();
      this.histories.set(key, h);
    }
    h.set(bucket, value);
    for (const b of h.keys()) if (b <= bucket - keep) h.delete(b);
  }

  async history(tenant: string, seriesId: string): Promise<Map<number, number>> {
    return new Map(this.histories.get(`${tenant}\u001f${seriesId}`) ?? []);
  }

  async putSilence(silence: Silence): Promise<void> {
    let m = this.silences.get(silence.tenant);
    if (m === undefined) {
      m = new Map();
      this.silences.set(silence.tenant, m);
    }
    m.set(silence.id, structuredClone(silence));
  }

  async getSilence(tenant: string, id: string): Promise<Silence | null> {
    const s = this.silences.get(tenant)?.get(id);
    return s === undefined ? null : structuredClone(s);
  }

  async listSilences(tenant: string): Promise<Silence[]> {
    return [...(this.silences.get(tenant)?.values() ?? [])].map((s) => structuredClone(s));
  }

  private isSettled(key: string): boolean {
    const until = this.settled.get(key);
    if (until === undefined) return false;
    if (until <= this.clock()) {
      this.settled.delete(key);
      return false;
    }
    return true;
  }

  async enqueue(items: OutboxItem[]): Promise<void> {
    for (const item of items) {
      if (this.outbox.has(item.key) || this.isSettled(item.key)) continue;
      this.outbox.set(item.key, structuredClone(item));
    }
  }

  async due(now: number, limit: number): Promise<OutboxItem[]> {
    return [...this.outbox.values()]
      .filter((i) => i.dueAt <= now)
      .sort((a, b) => a.dueAt - b.dueAt || a.createdAt - b.createdAt)
      .slice(0, limit)
      .map((i) => structuredClone(i));
  }

  async queued(key: string): Promise<boolean> {
    return this.outbox.has(key);
  }

  async claim(key: string, _owner: string, leaseMs: number): Promise<boolean> {
    if (this.isSettled(key)) return false;
    const now = this.clock();
    const until = this.leases.get(key);
    if (until !== undefined && until > now) return false;
    this.leases.set(key, now + leaseMs);
    return true;
  }

  async reschedule(item: OutboxItem): Promise<void> {
    if (this.outbox.has(item.key)) this.outbox.set(item.key, structuredClone(item));
    this.leases.delete(item.key);
  }

  async complete(key: string, rememberMs: number): Promise<void> {
    this.settled.set(key, this.clock() + rememberMs);
    this.outbox.delete(key);
    this.leases.delete(key);
  }

  async deadLetter(record: DeadLetterRecord, rememberMs: number): Promise<void> {
    this.dead.unshift(structuredClone(record));
    if (this.dead.length > MAX_DEAD_LETTERS) this.dead.length = MAX_DEAD_LETTERS;
    await this.complete(record.item.key, rememberMs);
  }

  async deadLetters(limit: number): Promise<DeadLetterRecord[]> {
    return this.dead.slice(0, limit).map((d) => structuredClone(d));
  }

  async ping(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {}
}
