/**
 * The data of the query benches (query-cost.ts, query-pauses.ts): `series` series on one connector
 * ("wide" of tenant "default": actions × 4 versions), each with `historyEvents` calls spread over
 * the last 30 days and `recentEvents` in the last 50 minutes (every series active now: the worst
 * case for the reader), written through the window store's apply. Seeded: every run writes the same calls.
 */
import { errorCodeForStatus, outcomeFor, type InvocationEvent } from '@pulsegate/events';
import { RedisWindowStore } from '@pulsegate/windows';
import { seededRandom } from '@pulsegate/random';

export const WIDE_VERSIONS = ['1.0.0', '1.1.0', '2.0.0', '2.1.0'];
const DAY = 86_400_000;

export interface WideConnectorOptions {
  series: number;
  historyEvents: number;
  recentEvents: number;
}

/** Writes the calls into the Redis at `url`; throws unless exactly `series` series were written. */
export async function fillWideConnector(url: string, now: number, o: WideConnectorOptions): Promise<void> {
  const rand = seededRandom(7);
  let spanId = 0;
  const call = (series: number, eventTime: number): InvocationEvent => {
    const action = `action-${Math.floor(series / WIDE_VERSIONS.length)}`;
    const write = Math.floor(series / WIDE_VERSIONS.length) % 2 === 1;
    const status = rand() < 0.95 ? 200 : rand() < 0.5 ? 429 : 500;
    const outcome = outcomeFor(status, false);
    spanId++;
    return {
      schemaVersion: 1,
      tenant: 'default',
      connector: 'wide',
      connectorVersion: WIDE_VERSIONS[series % WIDE_VERSIONS.length]!,
      action,
      httpMethod: write ? 'POST' : 'GET',
      kind: write ? 'write' : 'read',
      httpStatus: status,
      outcome,
      errorCode: outcome === 'success' ? null : errorCodeForStatus(status),
      latencyMs: Math.round(Math.exp(Math.log(150) + 0.7 * (rand() + rand() + rand() - 1.5) * 2) * 1000) / 1000,
      eventTime,
      correlationId: null,
      traceId: spanId.toString(16).padStart(32, '0'),
      spanId: spanId.toString(16).padStart(16, '0'),
      sampleWeight: 1,
    };
  };
  const store = new RedisWindowStore({ target: { url } });
  const batch: InvocationEvent[] = [];
  let offset = 0;
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const off = String(offset++);
    await store.apply({ source: 'bench|cost', partition: 0, firstOffset: off, lastOffset: off, records: [{ offset: off, events: batch.splice(0) }] });
  };
  for (let s = 0; s < o.series; s++) {
    for (let i = 0; i < o.historyEvents; i++) batch.push(call(s, now - 30 * DAY + Math.floor(rand() * (30 * DAY - 2 * 3_600_000))));
    for (let i = 0; i < o.recentEvents; i++) batch.push(call(s, now - Math.floor(rand() * 50 * 60_000)));
    if (batch.length >= 5_000) await flush();
  }
  await flush();
  const written = (await store.listSeries('default', 'wide')).length;
  await store.close();
  if (written !== o.series) throw new Error(`wrote ${written} series, wanted ${o.series}`);
}
