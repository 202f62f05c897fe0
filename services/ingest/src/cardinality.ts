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

/** Which labels of an event were replaced by `__overflow__`. */
export interface Folded {
  connector: boolean;
  action: boolean;
  version: boolean;
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
  apply(e: InvocationEvent): Folded {
    const f = this.check(e.tenant, e.connector, e.action, e.connectorVersion);
    if (f.connector) e.connector = OVERFLOW;
    if (f.action) e.action = OVERFLOW;
    if (f.version) e.connectorVersion = OVERFLOW;
    return f;
  }

  /**
   * Which labels of a tenant/connector/action/version would be folded, remembering the values it
   * keeps. Asking again for the same labels gives the same answer (sets only grow), so checking
   * each distinct triple of a request in order of first appearance equals applying every event.
   */
  check(tenant: string, connectorName: string, actionName: string, versionName: string): Folded {
    let connectors = this.tenants.get(tenant);
    if (connectors === undefined) {
      connectors = new Map();
      this.tenants.set(tenant, connectors);
    }
    let connector = false;
    let seen = connectors.get(connectorName);
    if (seen === undefined) {
      let name = connectorName;
      if (connectors.size >= this.limits.maxConnectors) {
        connector = true;
        name = OVERFLOW;
        seen = connectors.get(OVERFLOW);
      }
      if (seen === undefined) {
        seen = { actions: new Set(), versions: new Set() };
        connectors.set(name, seen);
      }
    }
    const action = fold(seen.actions, actionName, this.limits.maxActions);
    const version = fold(seen.versions, versionName, this.limits.maxVersions);
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
