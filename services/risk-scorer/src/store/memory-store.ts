import type { ConnectorEntry, VersionInput } from '../catalog/types';
import { sortVersions } from './sort';
import { MAX_ALERTS_KEPT, MAX_DECISIONS_KEPT, MAX_RELEASES_KEPT } from './types';
import type { AlertRecord, Assessment, GateDecision, ReleaseRecord, RiskStore, SeriesRecord } from './types';

const SEP = '\u001f';

/** In-process RiskStore for the embedded mode; values are copied in and out like Redis would. */
export class MemoryRiskStore implements RiskStore {
  private readonly connectors = new Map<string, ConnectorEntry>();
  private readonly assessments = new Map<string, Assessment>();
  private readonly series = new Map<string, Map<string, SeriesRecord>>();
  private readonly alerts = new Map<string, Map<string, AlertRecord>>();
  private readonly releaseLog = new Map<string, ReleaseRecord[]>();
  private readonly decisionLog = new Map<string, GateDecision[]>();

  private static copy<T>(v: T): T {
    return structuredClone(v);
  }

  async putConnector(tenant: string, entry: ConnectorEntry): Promise<void> {
    this.connectors.set(tenant + SEP + entry.connector, MemoryRiskStore.copy({ ...entry, versions: sortVersions(entry.versions) }));
  }

  async putVersion(tenant: string, connector: string, version: VersionInput, updatedAt: number): Promise<ConnectorEntry | null> {
    const entry = this.connectors.get(tenant + SEP + connector);
    if (entry === undefined) return null;
    entry.versions = sortVersions([...entry.versions.filter((v) => v.version !== version.version), MemoryRiskStore.copy(version)]);
    entry.updatedAt = updatedAt;
    return MemoryRiskStore.copy(entry);
  }

  async getConnector(tenant: string, connector: string): Promise<ConnectorEntry | null> {
    const e = this.connectors.get(tenant + SEP + connector);
    return e === undefined ? null : MemoryRiskStore.copy(e);
  }

  async listConnectors(tenant: string): Promise<ConnectorEntry[]> {
    return [...this.connectors.entries()]
      .filter(([k]) => k.startsWith(tenant + SEP))
      .map(([, v]) => MemoryRiskStore.copy(v))
      .sort((a, b) => (a.connector < b.connector ? -1 : 1));
  }

  async putAssessment(tenant: string, a: Assessment): Promise<void> {
    this.assessments.set([tenant, a.connector, a.version].join(SEP), MemoryRiskStore.copy(a));
  }

  async getAssessment(tenant: string, connector: string, version: string): Promise<Assessment | null> {
    const a = this.assessments.get([tenant, connector, version].join(SEP));
    return a === undefined ? null : MemoryRiskStore.copy(a);
  }

  async putSeries(tenant: string, connector: string, version: string, s: SeriesRecord): Promise<void> {
    const key = [tenant, connector, version].join(SEP);
    let m = this.series.get(key);
    if (m === undefined) this.series.set(key, (m = new Map()));
    const id = s.kind + SEP + s.action;
    const prev = m.get(id);
    if (prev === undefined || prev.at <= s.at) m.set(id, MemoryRiskStore.copy(s));
  }

  async seriesOf(tenant: string, connector: string, version: string): Promise<SeriesRecord[]> {
    return [...(this.series.get([tenant, connector, version].join(SEP))?.values() ?? [])].map((s) => MemoryRiskStore.copy(s));
  }

  async addAlert(tenant: string, connector: string, version: string, alert: AlertRecord): Promise<void> {
    const key = [tenant, connector, version].join(SEP);
    let m = this.alerts.get(key);
    if (m === undefined) this.alerts.set(key, (m = new Map()));
    if (m.size >= MAX_ALERTS_KEPT) return;
    m.set(alert.fingerprint + SEP + alert.startsAt, { ...alert });
  }

  async alertsOf(tenant: string, connector: string, version: string): Promise<AlertRecord[]> {
    return [...(this.alerts.get([tenant, connector, version].join(SEP))?.values() ?? [])].map((a) => ({ ...a }));
  }

  async appendReleases(tenant: string, records: ReleaseRecord[]): Promise<void> {
    const log = this.releaseLog.get(tenant) ?? [];
    const next = [...records.map((r) => MemoryRiskStore.copy(r)).reverse(), ...log];
    if (next.length > MAX_RELEASES_KEPT) next.length = MAX_RELEASES_KEPT;
    this.releaseLog.set(tenant, next);
  }

  async releases(tenant: string): Promise<ReleaseRecord[]> {
    return (this.releaseLog.get(tenant) ?? []).map((r) => MemoryRiskStore.copy(r));
  }

  async appendDecision(tenant: string, decision: GateDecision): Promise<void> {
    const key = [tenant, decision.connector].join(SEP);
    const next = [MemoryRiskStore.copy(decision), ...(this.decisionLog.get(key) ?? [])];
    if (next.length > MAX_DECISIONS_KEPT) next.length = MAX_DECISIONS_KEPT;
    this.decisionLog.set(key, next);
  }

  async decisions(tenant: string, connector: string, limit: number): Promise<GateDecision[]> {
    return (this.decisionLog.get([tenant, connector].join(SEP)) ?? []).slice(0, limit).map((d) => MemoryRiskStore.copy(d));
  }

  async ping(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {}
}
