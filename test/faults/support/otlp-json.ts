/** A minimal OTLP/HTTP JSON body with `count` connector action spans (for raw-request probes). */
export function otlpJson(connector: string, count: number, endMs = Date.now() - 5_000): string {
  const hex = (n: number, len: number): string => n.toString(16).padStart(len, '0').slice(-len);
  const salt = Math.floor(Math.random() * 0xffffff);
  const spans = Array.from({ length: count }, (_, i) => ({
    traceId: hex(salt, 8) + hex(i, 24),
    spanId: hex(salt, 6) + hex(i, 10),
    name: 'GET ListThings',
    kind: 3,
    startTimeUnixNano: String(BigInt(endMs - 100) * 1_000_000n),
    endTimeUnixNano: String(BigInt(endMs) * 1_000_000n),
    attributes: [
      { key: 'connector.operation_id', value: { stringValue: 'ListThings' } },
      { key: 'http.request.method', value: { stringValue: 'GET' } },
      { key: 'http.response.status_code', value: { intValue: '200' } },
    ],
  }));
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'connector.name', value: { stringValue: connector } }, { key: 'connector.version', value: { stringValue: '1.0.0' } }] },
        scopeSpans: [{ scope: { name: 'faults' }, spans }],
      },
    ],
  });
}

/** POSTs an OTLP JSON body to ingest; resolves with the status and Retry-After. */
export async function postTraces(ingestUrl: string, body: string, timeoutMs = 60_000): Promise<{ status: number; retryAfter: string | null; body: unknown }> {
  const r = await fetch(`${ingestUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(timeoutMs) });
  const text = await r.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // kept as text
  }
  return { status: r.status, retryAfter: r.headers.get('retry-after'), body: parsed };
}
