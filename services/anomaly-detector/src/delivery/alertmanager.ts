import type { OutboxItem, WebhookAlert } from '../store/types';

/** Alertmanager webhook payload, version 4 (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config). */
export interface WebhookPayload {
  version: '4';
  groupKey: string;
  truncatedAlerts: number;
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: WebhookAlert[];
}

/** Alertmanager's "zero time" used as endsAt of a firing alert. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

/** RFC 3339 text of an epoch-ms time, or the zero time for null. */
export function rfc3339(ms: number | null): string {
  return ms === null ? ZERO_TIME : new Date(ms).toISOString();
}

/**
 * Group of an alert: the labels named in `groupBy` ('...' = all labels, i.e. one alert per group)
 * and the group key in Alertmanager's `{}:{name="value", …}` form.
 */
export function groupOf(labels: Readonly<Record<string, string>>, groupBy: readonly string[]): { groupKey: string; groupLabels: Record<string, string> } {
  const names = groupBy.includes('...') ? Object.keys(labels) : groupBy.filter((n) => labels[n] !== undefined);
  const groupLabels: Record<string, string> = {};
  for (const n of [...names].sort()) groupLabels[n] = labels[n]!;
  const inner = Object.entries(groupLabels)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(', ');
  return { groupKey: `{}:{${inner}}`, groupLabels };
}

function common(maps: Array<Record<string, string>>): Record<string, string> {
  const first = maps[0];
  if (first === undefined) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(first)) if (maps.every((m) => m[k] === v)) out[k] = v;
  return out;
}

/** One webhook body for items of one receiver, group and status. */
export function buildPayload(items: readonly OutboxItem[], externalURL: string): WebhookPayload {
  const first = items[0]!;
  const alerts = items.map((i) => i.alert);
  return {
    version: '4',
    groupKey: first.groupKey,
    truncatedAlerts: 0,
    status: first.status,
    receiver: first.receiver,
    groupLabels: first.groupLabels,
    commonLabels: common(alerts.map((a) => a.labels)),
    commonAnnotations: common(alerts.map((a) => a.annotations)),
    externalURL,
    alerts,
  };
}
