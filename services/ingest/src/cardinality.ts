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
  /** Distinct action × version combinations (series) per tenant/connector. Default: no cap beyond maxActions × maxVersions. */
  maxSeriesPerConnector?: number;
  /** Distinct action × version combinations over all connectors of a tenant. Default: no cap beyond the others. */
  maxSeriesPerTenant?: number;
}

/** Which labels of an event were replaced by `__overflow__`. */
export interface Folded {
  connector: boolean;
  action: boolean;
  version: boolean;
  /** The action × version combination was over a series cap: both were folded. */
  series: boolean;
}

interface ConnectorSeen {
  actions: Set<string>;
  versions: Set<string>;
  /** action NUL version, after folding. */
  series: Set<string>;
}

interface TenantSeen {
  connectors: Map<string, ConnectorSeen>;
  /** Series over all connectors. */
  series: number;
}

/**
 * Keeps the number of series per tenant bounded: the first N distinct values of a label are kept,
 * later new ones are replaced by `__overflow__` (and counted), so their calls still count in the
 * connector's totals. Combinations are capped too: a new action × version pair past
 * maxSeriesPerConnector (or past maxSeriesPerTenant over the tenant's connectors) is recorded as
 * action and version `__overflow__` (one more series per connector). Memory is bounded by tenants
 * × maxConnectors × (maxActions + maxVersions + min(maxSeriesPerConnector, maxActions × maxVersions)).
 */
export class CardinalityGuard {
  private readonly tenants = new Map<string, TenantSeen>();
  private readonly maxSeriesPerConnector: number;
  private readonly maxSeriesPerTenant: number;
  constructor(private readonly limits: CardinalityLimits) {
    this.maxSeriesPerConnector = limits.maxSeriesPerConnector ?? Infinity;
    this.maxSeriesPerTenant = limits.maxSeriesPerTenant ?? Infinity;
  }

  /** Folds the event's labels in place; returns which labels were folded. */
  apply(e: InvocationEvent): Folded {
    const f = this.check(e.tenant, e.connector, e.action, e.connectorVersion);
    if (f.connector) e.connector = OVERFLOW;
    if (f.action) e.action = OVERFLOW;
    if (f.version || f.series) e.connectorVersion = OVERFLOW;
    if (f.series) e.action = OVERFLOW;
    return f;
  }

  /**
   * Which labels of a tenant/connector/action/version would be folded, remembering the values it
   * keeps. Asking again for the same labels gives the same answer (sets only grow), so checking
   * each distinct triple of a request in order of first appearance equals applying every event.
   */
  check(tenant: string, connectorName: string, actionName: string, versionName: string): Folded {
    let t = this.tenants.get(tenant);
    if (t === undefined) {
      t = { connectors: new Map(), series: 0 };
      this.tenants.set(tenant, t);
    }
    const connectors = t.connectors;
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
        seen = { actions: new Set(), versions: new Set(), series: new Set() };
        connectors.set(name, seen);
      }
    }
    const action = fold(seen.actions, actionName, this.limits.maxActions);
    const version = fold(seen.versions, versionName, this.limits.maxVersions);
    const pair = `${action ? OVERFLOW : actionName}\u0000${version ? OVERFLOW : versionName}`;
    let series = false;
    if (!seen.series.has(pair)) {
      if (seen.series.size >= this.maxSeriesPerConnector || t.series >= this.maxSeriesPerTenant) {
        series = true;
        // The overflow series itself is always kept: one per connector beyond the caps.
        const overflow = `${OVERFLOW}\u0000${OVERFLOW}`;
        if (!seen.series.has(overflow)) seen.series.add(overflow);
      } else {
        seen.series.add(pair);
        t.series++;
      }
    }
    return { connector, action, version, series };
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
