import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports';
import { startHttpBinary } from './http-binary';

/** A running Prometheus started by the harness. */
export interface PrometheusHandle {
  /** Base URL (the HTTP API is under /api/v1). */
  url: string;
  pid: number;
  /** Stops the process by PID and removes its data directory. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts Debian's `prometheus` on a free loopback port with a temporary TSDB, scraping each target
 * (`host:port`, path /metrics) every second as job `pulsegate`; waits for /-/ready (default 30 s).
 */
export async function startPrometheus(targets: string[], options: { readyTimeoutMs?: number } = {}): Promise<PrometheusHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'pulsegate-prometheus-'));
  const config = `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: pulsegate\n    static_configs:\n      - targets: [${targets.map((t) => JSON.stringify(t)).join(', ')}]\n`;
  writeFileSync(join(dir, 'prometheus.yml'), config);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  return startHttpBinary('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], url, dir, options.readyTimeoutMs);
}
