import type { InvocationEvent } from '@pulsegate/events';

/** Label value that stands for every value beyond a cardinality cap. */
export const OVERFLOW = '__overflow__';

export interface CardinalityLimits {
  /** Distinct connectors per tenant. */
  maxConnectors: number;
  /** Distinct actions per tenant/connector. */
  maxActions: number;
  /** Distinct versions per tenant/connector. */
  maxVersions: number;
}

interface ConnectorSeen {
  actions: Set<string>;
  versions: Set<string>;
}

/**
 * Keeps the number of series per tenant bounded: the first N distinct values of a label are kept,
 * later new ones are replaced by `__overflow__` (and counted), so their calls still count in the
 * connector's totals. Memory is bounded by tenants × maxConnectors × (maxActions + maxVersions).
 */
export class CardinalityGuard {
  private readonly tenants = new Map<string, Map<string, ConnectorSeen>>();
  constructor(private readonly limits: CardinalityLimits) {}

  /** Folds the event's labels in place; returns which labels were folded. */
  apply(e: InvocationEvent): { connector: boolean; action: boolean; version: boolean } {
    let connectors = this.tenants.get(e.tenant);
    if (connectors === undefined) {
      connectors = new Map();
      this.tenants.set(e.tenant, connectors);
    }
    let connector = false;
    let seen = connectors.get(e.connector);
    if (seen === undefined) {
      if (connectors.size >= this.limits.maxConnectors) {
        connector = true;
        e.connector = OVERFLOW;
        seen = connectors.get(OVERFLOW);
      }
      if (seen === undefined) {
        seen = { actions: new Set(), versions: new Set() };
        connectors.set(e.connector, seen);
      }
    }
    const action = fold(seen.actions, e.action, this.limits.maxActions);
    if (action) e.action = OVERFLOW;
    const version = fold(seen.versions, e.connectorVersion, this.limits.maxVersions);
    if (version) e.connectorVersion = OVERFLOW;
    return { connector, action, version };
  }
}

function fold(seen: Set<string>, value: string, max: number): boolean {
  if (seen.has(value)) return false;
  if (seen.size < max) {
    seen.add(value);
    return false;
  }
  return true;
}
