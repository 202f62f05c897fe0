import { describe, expect, it } from 'vitest';
import type { CatalogEvent } from '@pulsegate/events';
import { adoption } from '../src/query';

const DAY = 86_400_000;
const NOW = Date.UTC(2025, 5, 1, 12);

describe('versions API: sunset from the catalog', () => {
  it('reports sunsetAt and whole days to sunset (rounded up; ≤ 0 past sunset), matching "1.2" to "1.2.0"', () => {
    const catalog: CatalogEvent = {
      schemaVersion: 1,
      tenant: 'acme',
      connector: 'crm',
      at: NOW - DAY,
      versions: [
        { version: '1.2.0', releasedAt: NOW - 90 * DAY, deprecatedAt: NOW - 30 * DAY, sunsetAt: NOW - 2 * DAY },
        { version: '1.3.0', releasedAt: NOW - 60 * DAY, deprecatedAt: NOW - 10 * DAY, sunsetAt: NOW + 10 * DAY + 1 },
        { version: '2.0.0', releasedAt: NOW - 5 * DAY, deprecatedAt: null, sunsetAt: null },
      ],
    };
    const calls = new Map([['1.2', 10], ['1.3.0', 30], ['2.0.0', 60]]);
    const a = adoption('crm', '30d', { from: NOW - 30 * DAY, to: NOW }, calls, [...calls.keys()], catalog, NOW);
    expect(a.versions.map((v) => [v.version, v.share, v.deprecated, v.sunsetAt, v.daysToSunset])).toEqual([
      ['2.0.0', 0.6, false, null, null],
      ['1.3.0', 0.3, true, NOW + 10 * DAY + 1, 11],
      ['1.2', 0.1, true, NOW - 2 * DAY, -2],
    ]);
    expect(a.deprecatedShare).toBeCloseTo(0.4, 12);
    // Without a catalog nothing is known about sunsets.
    expect(adoption('crm', '30d', { from: NOW - 30 * DAY, to: NOW }, calls, [...calls.keys()], null, NOW).versions.every((v) => v.sunsetAt === null && v.daysToSunset === null)).toBe(true);
  });
});
