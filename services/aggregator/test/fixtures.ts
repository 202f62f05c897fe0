import type { CatalogEvent } from '@pulsegate/events';
import { traffic } from './builders';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The tenant every caller is when no API keys are configured. */
export const DEFAULT_TENANT = 'default';

/** A catalog for crm relative to `NOW`: 1.2.x deprecated, 2.1.0 latest released, 3.0.0 not yet released. */
export function catalogFor(NOW: number): CatalogEvent {
  return {
  schemaVersion: 1,
  tenant: DEFAULT_TENANT,
  connector: 'crm',
  at: NOW - DAY,
  versions: [
    { version: '1.2.0', releasedAt: NOW - 90 * DAY, deprecatedAt: NOW - 10 * DAY, sunsetAt: null },
    { version: '1.2.1', releasedAt: NOW - 60 * DAY, deprecatedAt: NOW - 10 * DAY, sunsetAt: null },
    { version: '1.3.0', releasedAt: NOW - 40 * DAY, deprecatedAt: null, sunsetAt: null },
    { version: '2.0.0', releasedAt: NOW - 20 * DAY, deprecatedAt: null, sunsetAt: null },
    { version: '2.1.0', releasedAt: NOW - 5 * DAY, deprecatedAt: null, sunsetAt: null },
    // Not released yet: never "latest".
    { version: '3.0.0', releasedAt: NOW + 5 * DAY, deprecatedAt: null, sunsetAt: null },
  ],
  };
}

/** Traffic for two tenants: dense over the last 3 hours, sparse over 40 days, some dropped. */
export function workload(now: number) {
  return [
    ...traffic(5_000, 1, now - 3 * HOUR, now, { tenants: [DEFAULT_TENANT], weights: true }),
    ...traffic(3_000, 2, now - 40 * DAY, now, { tenants: [DEFAULT_TENANT], weights: true }),
    ...traffic(1_500, 3, now - 2 * DAY, now, { tenants: ['globex'], weights: true }),
  ];
}

