import { createMetricsRegistry, registerReadout, samplesOf, type Registry } from '@pulsegate/telemetry';
import type { IngestCounters } from './counters';
import type { InFlight } from './in-flight';

/**
 * The ingest service's Prometheus metrics, read at scrape time from the totals the service
 * already keeps (`counters`, `inFlight`), so nothing is counted twice. Names are listed in the
 * service README.
 */
export function createIngestMetrics(counters: IngestCounters, inFlight: InFlight, isReady: () => boolean): Registry {
  const r = createMetricsRegistry();
  const counter = (name: string, help: string, read: () => number) => registerReadout(r, { name, help, type: 'counter', read: () => [{ value: read() }] });
  counter('pulsegate_ingest_spans_received_total', 'Spans decoded from accepted OTLP requests (all kinds).', () => counters.spansReceived);
  counter('pulsegate_ingest_spans_ignored_total', 'Spans accepted that are not connector invocations (no event).', () => counters.spansIgnored);
  registerReadout(r, {
    name: 'pulsegate_ingest_spans_rejected_total',
    help: 'Invocation spans rejected (reported to the sender as partialSuccess), by reason.',
    type: 'counter',
    labelNames: ['reason'],
    read: () => samplesOf(counters.spansRejected, 'reason'),
  });
  counter('pulsegate_ingest_events_produced_total', 'Invocation events acknowledged by the bus.', () => counters.eventsProduced);
  counter('pulsegate_ingest_messages_published_total', 'Bus messages (event batches) acknowledged.', () => counters.messagesPublished);
  counter('pulsegate_ingest_received_bytes_total', 'Request body bytes as received.', () => counters.bytesReceived);
  counter('pulsegate_ingest_decompressed_bytes_total', 'Request body bytes after gunzip.', () => counters.bytesDecompressed);
  registerReadout(r, {
    name: 'pulsegate_ingest_responses_total',
    help: 'HTTP answers of the ingest service, by status code.',
    type: 'counter',
    labelNames: ['status'],
    read: () => samplesOf(counters.responses, 'status'),
  });
  registerReadout(r, {
    name: 'pulsegate_ingest_overflowed_events_total',
    help: 'Events whose label was folded into __overflow__ by the cardinality guard, by label.',
    type: 'counter',
    labelNames: ['label'],
    read: () => samplesOf(counters.overflowed, 'label'),
  });
  registerReadout(r, { name: 'pulsegate_ingest_in_flight_requests', help: 'Requests decoding or waiting for the bus now.', type: 'gauge', read: () => [{ value: inFlight.requests }] });
  registerReadout(r, { name: 'pulsegate_ingest_in_flight_bytes', help: 'Decompressed body bytes held by in-flight requests now.', type: 'gauge', read: () => [{ value: inFlight.bytes }] });
  registerReadout(r, { name: 'pulsegate_ingest_ready', help: '1 when ingest accepts traffic (the bus is connected), else 0.', type: 'gauge', read: () => [{ value: isReady() ? 1 : 0 }] });
  return r;
}
