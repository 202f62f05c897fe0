/** Running totals of the ingest service, for /metrics later and for tests. Counts since start. */
export interface IngestCounters {
  /** Answers by HTTP status. */
  responses: Record<string, number>;
  /** Spans decoded from accepted bodies (all kinds). */
  spansReceived: number;
  /** Spans that are not invocations (accepted, no event). */
  spansIgnored: number;
  /** Rejected spans by reason (reported to the sender as partialSuccess). */
  spansRejected: Record<string, number>;
  /** Invocation events acknowledged by the bus. */
  eventsProduced: number;
  /** Bus messages (batches) acknowledged. */
  messagesPublished: number;
  /** Events whose label was folded into `__overflow__` by the cardinality guard, by label. */
  overflowed: { connector: number; action: number; version: number; series: number };
  /** Request body bytes as received. */
  bytesReceived: number;
  /** Request body bytes after gunzip (equal to bytesReceived for identity bodies). */
  bytesDecompressed: number;
}

export function createCounters(): IngestCounters {
  return {
    responses: {},
    spansReceived: 0,
    spansIgnored: 0,
    spansRejected: {},
    eventsProduced: 0,
    messagesPublished: 0,
    overflowed: { connector: 0, action: 0, version: 0, series: 0 },
    bytesReceived: 0,
    bytesDecompressed: 0,
  };
}
