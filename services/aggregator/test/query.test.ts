import { describe, expect, it } from 'vitest';
import { DEFAULT_WINDOW_CONFIG, MemoryWindowStore } from '@pulsegate/windows';
import { MetricsQueries, namedRange, QUERY_SERIES_CHUNK } from '../src/query';
import { invocation } from './builders';
import { referenceMetrics } from './reference';

const HOUR = 3_600_000;
const NOW = Math.floor(Date.now() / HOUR) * HOUR + 30 * 60_000;

describe('MetricsQueries.metrics over more series than one chunk', () => {
  it('merges every chunk exactly like the reference', async () => {
    const store = new MemoryWindowStore({ clock: () => NOW });
    const n = QUERY_SERIES_CHUNK * 2 + 37;
    const events = Array.from({ length: n * 3 }, (_, i) =>
      invocation({ tenant: 'acme', connector: 'crm', action: `a${i % n}`, connectorVersion: `${i % 7}.0.0`, httpStatus: i % 11 === 0 ? 500 : 200, latencyMs: 1 + (i % 97), eventTime: NOW - 60_000 * (1 + (i % 50)) }),
    );
    await store.apply({ source: 's', partition: 0, firstOffset: '0', lastOffset: '0', records: [{ offset: '0', events }] });
    const queries = new MetricsQueries(store, DEFAULT_WINDOW_CONFIG, () => NOW, 0);
    expect((await queries.series('acme', 'crm'))!.length).toBeGreaterThan(2 * QUERY_SERIES_CHUNK);
    const range = namedRange('1h', NOW);
    const got = await queries.metrics('acme', 'crm', {}, range);
    const want = referenceMetrics(events, { tenant: 'acme', connector: 'crm', from: range.from, to: range.to });
    expect(got!.calls).toBe(want.calls);
    expect(got!.successes).toBe(want.successes);
    expect(got!.errorCodes).toEqual(want.errorCodes);
  });
});
