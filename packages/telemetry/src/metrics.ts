import type { RequestHandler } from 'express';
import { collectDefaultMetrics, Registry } from 'prom-client';

/** One sample of a read-out metric: label values (bounded by the caller) and the value. */
export interface Sample {
  labels?: Record<string, string>;
  value: number;
}

/** A metric whose samples are read at scrape time from totals the service already keeps. */
export interface ReadoutOptions {
  /** Metric name, e.g. "pulsegate_ingest_spans_received_total". */
  name: string;
  help: string;
  /** "counter" for running totals since start, "gauge" for current values. */
  type: 'counter' | 'gauge';
  /** Label names every sample carries (documentation and a check). */
  labelNames?: readonly string[];
  /** Reads the samples; called once per scrape. */
  read(): Sample[] | Promise<Sample[]>;
}

let processRegistry: Registry | undefined;

/**
 * The registry holding Node.js process metrics (CPU, memory, event-loop lag, GC), created once per
 * process: embedded mode runs four services in one process and each /metrics shows them once.
 */
export function processMetricsRegistry(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, prefix: 'pulsegate_' });
    // prom-client names three gauges `_total`, which Prometheus reserves for counters (promtool
    // rejects them); the same numbers by type remain as pulsegate_nodejs_active_{handles,requests,resources}.
    for (const kind of ['handles', 'requests', 'resources']) processRegistry.removeSingleMetric(`pulsegate_nodejs_active_${kind}_total`);
  }
  return processRegistry;
}

/** A fresh registry for one service instance (never prom-client's global one). */
export function createMetricsRegistry(): Registry {
  return new Registry();
}

/**
 * Registers a metric read from existing totals at scrape time, so nothing is counted twice.
 * Label values are escaped by prom-client; keep their number bounded.
 */
export function registerReadout(registry: Registry, options: ReadoutOptions): void {
  const { name, help, type } = options;
  const labelNames = new Set(options.labelNames ?? []);
  registry.registerMetric({
    name,
    help,
    type,
    get: async () => {
      const samples = await options.read();
      for (const s of samples) {
        for (const l of Object.keys(s.labels ?? {})) if (!labelNames.has(l)) throw new Error(`${name}: undeclared label ${l}`);
      }
      return { name, help, type, aggregator: 'sum', values: samples.map((s) => ({ labels: s.labels ?? {}, value: s.value })) };
    },
    reset: () => {},
  } as unknown as Parameters<Registry['registerMetric']>[0]);
}

/** Samples of a `Record<label value, count>` map, one per key. */
export function samplesOf(counts: Readonly<Record<string, number>>, label: string): Sample[] {
  return Object.entries(counts).map(([k, v]) => ({ labels: { [label]: k }, value: v }));
}

/** Renders the process metrics followed by the service's own, in Prometheus text format 0.0.4. */
export async function renderMetrics(registry: Registry): Promise<string> {
  const [proc, own] = await Promise.all([processMetricsRegistry().metrics(), registry.metrics()]);
  return `${proc.trimEnd()}\n\n${own}`;
}

/** Express handler for GET /metrics (Prometheus text format, version 0.0.4). */
export function metricsHandler(registry: Registry): RequestHandler {
  return async (_req, res, next) => {
    try {
      const body = await renderMetrics(registry);
      res.set('Content-Type', Registry.PROMETHEUS_CONTENT_TYPE).send(body);
    } catch (err) {
      next(err);
    }
  };
}

/** One parsed sample line of the text format. */
export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/y;

/**
 * Parses Prometheus text format (as prom-client writes it: `name{labels} value` per sample line,
 * `#` comment lines). Throws on a line that is neither; used by tests and the metrics checks.
 */
export function parsePrometheusText(text: string): ParsedSample[] {
  const out: ParsedSample[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const m = SAMPLE_LINE.exec(line);
    if (m === null) throw new Error(`line ${i + 1} is not a sample: ${line}`);
    const labels: Record<string, string> = {};
    const raw = m[2] ?? '';
    LABEL.lastIndex = 0;
    while (LABEL.lastIndex < raw.length) {
      const l = LABEL.exec(raw);
      if (l === null) throw new Error(`line ${i + 1}: bad labels {${raw}}`);
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
    }
    const v = m[3]!;
    const value = v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : Number(v);
    // prom-client writes NaN as "Nan".
    if (Number.isNaN(value) && v !== 'NaN' && v !== 'Nan') throw new Error(`line ${i + 1}: bad value ${v}`);
    out.push({ name: m[1]!, labels, value });
  }
  return out;
}

/** The value of the one sample named `name` whose labels include `labels`; undefined if none. */
export function sampleValue(samples: ParsedSample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const hits = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (hits.length > 1) throw new Error(`${name}${JSON.stringify(labels)} matches ${hits.length} samples`);
  return hits[0]?.value;
}
