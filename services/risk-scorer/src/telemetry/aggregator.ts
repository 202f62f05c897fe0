import { z } from 'zod';
import { SKETCH_RELATIVE_ACCURACY, ZERO_BUCKET } from '@pulsegate/windows';
import type { ActionTelemetry } from '../canary/verdict';

/** Named windows the aggregator accepts. */
export const CANARY_WINDOWS = ['1m', '5m', '15m', '1h', '6h', '24h', '7d', '30d'] as const;
/** Window judged when the caller names none. */
export const DEFAULT_CANARY_WINDOW = '1h';
/** Longest from/to range, ms (30 days, the aggregator's limit for sketches). */
export const MAX_CANARY_RANGE_MS = 30 * 86_400_000;
/** Largest aggregator answer read, bytes (500 actions × 2 versions of full sketches fit well inside). */
export const MAX_ANSWER_BYTES = 32 * 1024 * 1024;
/** Time allowed for one aggregator request, ms. */
export const AGGREGATOR_TIMEOUT_MS = 15_000;

/** The window a canary is judged over: a named window ending now, or an explicit [from, to). */
export type CanaryWindow = { window: string } | { from: number; to: number };

/** Both versions' per-action telemetry over the window the aggregator actually covered. */
export interface VersionPairTelemetry {
  window: string;
  from: number;
  to: number;
  baseline: Record<string, ActionTelemetry>;
  candidate: Record<string, ActionTelemetry>;
}

/** The aggregator could not give the evidence (unreachable, refused, malformed); the gate holds. */
export class TelemetryUnavailable extends Error {}

const Action = z.object({
  action: z.string(),
  calls: z.number().min(0),
  throttled: z.number().min(0),
  errors: z.number().min(0),
  latency: z.record(z.string().regex(/^(z|-?\d{1,5})$/), z.number().min(0)),
});
const Answer = z.object({
  window: z.string(),
  from: z.number(),
  to: z.number(),
  sketch: z.object({ relativeAccuracy: z.number(), zeroBucket: z.string() }),
  versions: z.array(z.object({ version: z.string(), actions: z.array(Action).max(500) })).max(4),
});

/** The body, at most `max` bytes; longer is an error rather than memory spent. */
async function boundedText(res: Response, max: number): Promise<string> {
  const reader = res.body?.getReader();
  if (reader === undefined) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      throw new TelemetryUnavailable(`the aggregator's answer is larger than ${max} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export interface AggregatorClientOptions {
  /** Base URL of the aggregator, e.g. http://aggregator:8081. */
  baseUrl: string;
  /** Request time limit (answer read included), ms. Default AGGREGATOR_TIMEOUT_MS. */
  timeoutMs?: number;
  /** Largest answer read, bytes. Default MAX_ANSWER_BYTES. */
  maxBytes?: number;
}

/**
 * Reads both versions' counts and latency sketches per action from the aggregator's
 * `GET /v1/connectors/{connector}/version-sketches`, with the caller's API key (so the answer is
 * the caller's tenant and needs the caller's `metrics.read` scope). Null when the aggregator has no
 * data for the connector; TelemetryUnavailable on any other failure.
 */
export async function fetchVersionPair(o: AggregatorClientOptions, apiKey: string | undefined, connector: string, baseline: string, candidate: string, window: CanaryWindow): Promise<VersionPairTelemetry | null> {
  const url = new URL(`/v1/connectors/${encodeURIComponent(connector)}/version-sketches`, o.baseUrl);
  url.searchParams.set('versions', `${baseline},${candidate}`);
  if ('window' in window) url.searchParams.set('window', window.window);
  else {
    url.searchParams.set('from', String(window.from));
    url.searchParams.set('to', String(window.to));
  }
  let res: Response;
  try {
    res = await fetch(url, { headers: apiKey === undefined ? {} : { 'x-api-key': apiKey }, signal: AbortSignal.timeout(o.timeoutMs ?? AGGREGATOR_TIMEOUT_MS) });
  } catch (err) {
    throw new TelemetryUnavailable(`the aggregator at ${o.baseUrl} is unreachable (${(err as Error).message})`);
  }
  let text: string;
  try {
    text = await boundedText(res, o.maxBytes ?? MAX_ANSWER_BYTES);
  } catch (err) {
    throw err instanceof TelemetryUnavailable ? err : new TelemetryUnavailable(`reading the aggregator's answer failed (${(err as Error).message})`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new TelemetryUnavailable(`the aggregator answered ${res.status} with a non-JSON body`);
  }
  if (res.status === 404) return null;
  if (!res.ok) {
    const e = (body as { error?: { code?: string; message?: string } } | null)?.error;
    const hint = res.status === 401 || res.status === 403 ? ' (the caller\'s key needs the metrics.read scope there)' : '';
    throw new TelemetryUnavailable(`the aggregator answered ${res.status} ${e?.code ?? ''}: ${e?.message ?? ''}${hint}`);
  }
  const parsed = Answer.safeParse(body);
  if (!parsed.success) throw new TelemetryUnavailable(`the aggregator's answer is malformed (${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message})`);
  const a = parsed.data;
  // The judge ranks bucket keys and turns them into ms with this service's own mapping.
  if (a.sketch.relativeAccuracy !== SKETCH_RELATIVE_ACCURACY || a.sketch.zeroBucket !== ZERO_BUCKET) {
    throw new TelemetryUnavailable(`the aggregator's sketch mapping (α ${a.sketch.relativeAccuracy}) differs from the judge's (α ${SKETCH_RELATIVE_ACCURACY})`);
  }
  const side = (version: string): Record<string, ActionTelemetry> => {
    const out: Record<string, ActionTelemetry> = {};
    for (const x of a.versions.find((v) => v.version === version)?.actions ?? []) out[x.action] = { calls: x.calls, errors: x.errors, throttled: x.throttled, latency: x.latency };
    return out;
  };
  return { window: a.window, from: a.from, to: a.to, baseline: side(baseline), candidate: side(candidate) };
}
