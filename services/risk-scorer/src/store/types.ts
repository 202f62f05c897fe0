import type { WindowMetrics } from '@pulsegate/events';
import type { ConnectorEntry, VersionInput } from '../catalog/types';
import type { FeatureValues } from '../model/features';

/** Latest metrics of one action of a connector version, from a SeriesSnapshot. */
export interface SeriesRecord {
  action: string;
  kind: 'read' | 'write';
  /** Snapshot time, epoch ms. */
  at: number;
  window: WindowMetrics;
}

/** One alert that fired on a connector version (deduplicated by fingerprint + start). */
export interface AlertRecord {
  fingerprint: string;
  rule: string;
  /** When the alert started firing, epoch ms. */
  startsAt: number;
}

/** A labelled release from the releases topic, kept as training history. */
export interface ReleaseRecord {
  connector: string;
  version: string;
  features: FeatureValues;
  incident: boolean;
  at: number;
}

/** Why a risk level was reached: a feature and its log-odds contribution (null for fail-closed notes). */
export interface Reason {
  feature: string;
  value: number | null;
  contribution: number | null;
  note?: string;
}

export type RiskLevel = 'low' | 'medium' | 'high' | 'unknown';
export type Decision = 'auto-promote' | 'require-approval' | 'require-security-architect-approval';

/** The answer to "may this version be promoted?". */
export interface Assessment {
  connector: string;
  version: string;
  previousVersion: string | null;
  /** P(incident) 0–1; null when the level is unknown. */
  probability: number | null;
  level: RiskLevel;
  decision: Decision;
  modelVersion: string | null;
  /** Largest absolute contributions first. */
  reasons: Reason[];
  /** Features the model needs that were not available. */
  missing: string[];
  /** The feature values used, as supplied or looked up. */
  features: FeatureValues;
  assessedAt: number;
  assessedBy: { tenant: string; keyName: string };
}

/** One check of a gate decision. */
export interface GateCheck {
  check: 'semver' | 'lint' | 'canary' | 'model';
  /** pass; hold = a person must look (or more data is needed); fail = promotion refused. */
  status: 'pass' | 'hold' | 'fail';
  message: string;
}

/** A release gate decision: every check and reason, who asked, the inputs and the answer. */
export interface GateDecision {
  connector: string;
  version: string;
  previousVersion: string | null;
  /** promote only when every check passes; reject when any fails; otherwise hold (fail closed). */
  outcome: 'promote' | 'hold' | 'reject';
  checks: GateCheck[];
  /** Every reason, one line each (failed and held checks first). */
  reasons: string[];
  /** What was asked: spec versions, overrides, canary source, supplied features. */
  inputs: Record<string, unknown>;
  /** The detail of each check (semver, lint counts, canary verdict, model assessment). */
  details: Record<string, unknown>;
  decidedAt: number;
  decidedBy: { tenant: string; keyName: string; via: string };
}

/** Most gate decisions kept per connector (oldest dropped first). */
export const MAX_DECISIONS_KEPT = 1000;

/** Most releases kept per tenant for training (oldest dropped first). */
export const MAX_RELEASES_KEPT = 200_000;
/** Most distinct alerts kept per connector version. */
export const MAX_ALERTS_KEPT = 10_000;

/**
 * State of the risk scorer: catalog, last assessments, prior-version telemetry and release
 * history, all per tenant. Memory (embedded) and Redis (distributed) pass one contract suite.
 */
export interface RiskStore {
  putConnector(tenant: string, entry: ConnectorEntry): Promise<void>;
  /** Adds or replaces one version; false when the connector does not exist. */
  putVersion(tenant: string, connector: string, version: VersionInput, updatedAt: number): Promise<ConnectorEntry | null>;
  getConnector(tenant: string, connector: string): Promise<ConnectorEntry | null>;
  listConnectors(tenant: string): Promise<ConnectorEntry[]>;
  putAssessment(tenant: string, assessment: Assessment): Promise<void>;
  getAssessment(tenant: string, connector: string, version: string): Promise<Assessment | null>;
  putSeries(tenant: string, connector: string, version: string, series: SeriesRecord): Promise<void>;
  seriesOf(tenant: string, connector: string, version: string): Promise<SeriesRecord[]>;
  addAlert(tenant: string, connector: string, version: string, alert: AlertRecord): Promise<void>;
  alertsOf(tenant: string, connector: string, version: string): Promise<AlertRecord[]>;
  appendReleases(tenant: string, records: ReleaseRecord[]): Promise<void>;
  /** Adds a gate decision to the connector's history (at most MAX_DECISIONS_KEPT kept). */
  appendDecision(tenant: string, decision: GateDecision): Promise<void>;
  /** The connector's gate decisions, newest first, at most `limit`. */
  decisions(tenant: string, connector: string, limit: number): Promise<GateDecision[]>;
  /** Newest first. */
  releases(tenant: string): Promise<ReleaseRecord[]>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
