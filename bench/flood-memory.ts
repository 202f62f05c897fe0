// `npx tsx bench/flood-memory.ts [--flood 30] [--mode embedded|distributed|both] [--concurrency 32]`:
// does memory come back after an overload? Floods ingest with OTLP/JSON bodies (512 spans each,
// 64 connectors x 8 actions, from 32 keep-alive clients) for --flood seconds, then stops and prints
// the RSS of the ingest process (the whole pipeline in embedded mode) before the flood, at its
// peak, and 30 / 90 / 120 s after it. Embedded: `pulsegate start` as one process (in-memory bus and
// stores). Distributed: the ingest service as a process on the harness's Kafka-protocol broker.
// Both run the compiled JavaScript (`npm run build` first), as users run them. A second flood of the
// same series follows the first (--floods 2): if the process only keeps what it counted, the second
// flood adds little; a leak would add as much again. Besides RSS it prints V8's used heap and
// external memory, read from the process's own /metrics.
// Loopback only, bounded; figures only, nothing asserted. Results: bench/RESULTS.md.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startKafka } from '@pulsegate/testkit';
import { launch, waitFor } from '../test/faults/support/pipeline';
import { otlpJson } from '../test/faults/support/otlp-json';

const root = join(fileURLToPath(import.meta.url), '..', '..');
function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? def : (process.argv[i + 1] ?? def);
}
const floodSeconds = Number(arg('flood', '30'));
const mode = arg('mode', 'both');
const concurrency = Number(arg('concurrency', '32'));
const floods = Math.max(1, Math.min(3, Number(arg('floods', '2'))));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function rssMiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? NaN : Number(m[1]) / 1024;
}

/** Bodies with many label combinations (series), as a flooding tenant would send. */
function bodiesFor(): Buffer[] {
  const out: Buffer[] = [];
  for (let c = 0; c < 64; c++) {
    const json = JSON.parse(otlpJson(`Flood${c}`, 512)) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<{ attributes: Array<{ key: string; value: { stringValue?: string } }> }> }> }> };
    json.resourceSpans[0]!.scopeSpans[0]!.spans.forEach((s, i) => (s.attributes[0]!.value.stringValue = `Action${i % 8}`));
    out.push(Buffer.from(JSON.stringify(json)));
  }
  return out;
}

/** Sends bodies from `clients` keep-alive clients until `until`; returns status counts. */
async function flood(port: number, until: number, clients: number): Promise<Record<string, number>> {
  const bodies = bodiesFor();
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const status: Record<string, number> = {};
  let n = 0;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const body = bodies[n++ % bodies.length]!;
      const req = http.request({ host: '127.0.0.1', port, path: '/v1/traces', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
        status[res.statusCode ?? 0] = (status[res.statusCode ?? 0] ?? 0) + 1;
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', () => {
        status.error = (status.error ?? 0) + 1;
        resolve();
      });
      req.end(body);
    });
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (Date.now() < until) await one();
    }),
  );
  agent.destroy();
  return status;
}

/** Process tuning under test, passed through: BENCH_NODE_OPTIONS as NODE_OPTIONS, and glibc's MALLOC_ARENA_MAX. */
function tuning(): Record<string, string> {
  const out: Record<string, string> = {};
  if (process.env.BENCH_NODE_OPTIONS) out.NODE_OPTIONS = process.env.BENCH_NODE_OPTIONS;
  if (process.env.MALLOC_ARENA_MAX) out.MALLOC_ARENA_MAX = process.env.MALLOC_ARENA_MAX;
  return out;
}

/** V8's used heap and external memory (MiB), from the process's own /metrics. */
async function heapMiB(metricsUrl: string): Promise<string> {
  try {
    const text = await (await fetch(metricsUrl)).text();
    const read = (name: string): number => {
      const m = new RegExp(`^${name} ([0-9.e+]+)$`, 'm').exec(text);
      return m === null ? NaN : Number(m[1]) / 2 ** 20;
    };
    return `heap used ${read('pulsegate_nodejs_heap_size_used_bytes').toFixed(0)} of ${read('pulsegate_nodejs_heap_size_total_bytes').toFixed(0)} MiB, external ${read('pulsegate_nodejs_external_memory_bytes').toFixed(0)} MiB`;
  } catch {
    return 'heap n/a';
  }
}

async function measure(name: string, pid: number, port: number): Promise<void> {
  const metricsUrl = `http://127.0.0.1:${port}/metrics`;
  // Warm up (JIT, pools, first series) at a trickle, then let it settle.
  await flood(port, Date.now() + 10_000, 1);
  await sleep(10_000);
  const before = rssMiB(pid);
  const f = (x: number): string => x.toFixed(0);
  const pct = (x: number): string => `${x >= before ? '+' : ''}${(((x - before) / before) * 100).toFixed(0)} %`;
  process.stdout.write(`${name}: before: RSS ${f(before)} MiB, ${await heapMiB(metricsUrl)}\n`);
  for (let round = 1; round <= floods; round++) {
    let peak = rssMiB(pid);
    const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), 200);
    const status = await flood(port, Date.now() + floodSeconds * 1000, concurrency);
    clearInterval(sampler);
    peak = Math.max(peak, rssMiB(pid));
    const stopped = Date.now();
    const after: string[] = [];
    for (const s of [30, 90, 120]) {
      await sleep(stopped + s * 1000 - Date.now());
      const rss = rssMiB(pid);
      after.push(`+${s} s ${f(rss)} MiB (${pct(rss)})`);
    }
    process.stdout.write(
      `${name}: flood ${round}: RSS peak ${f(peak)} MiB, ${after.join(', ')}, at +120 s ${await heapMiB(metricsUrl)}; flood ${floodSeconds} s x ${concurrency} clients, answers ${JSON.stringify(status)}\n`,
    );
  }
}

if (mode === 'embedded' || mode === 'both') {
  const names = ['INGEST', 'AGGREGATOR', 'ANOMALY_DETECTOR', 'RISK_SCORER', 'DASHBOARD'];
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'warn' };
  for (const n of names) env[`PULSEGATE_${n}_PORT`] = String(await freePort());
  const child = spawn(process.execPath, [join(root, 'apps/pulsegate/dist/main.js'), 'start'], { cwd: root, env: { ...env, ...tuning() }, stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    const port = Number(env.PULSEGATE_INGEST_PORT);
    await waitFor(`http://127.0.0.1:${port}/readyz`, 200, 120_000);
    await measure('embedded (pulsegate start, one process)', child.pid!, port);
  } finally {
    child.kill('SIGKILL');
  }
}

if (mode === 'distributed' || mode === 'both') {
  const kafka = await startKafka();
  try {
    const ingest = await launch('ingest', await freePort(), { KAFKA_BROKERS: kafka.brokers.join(','), ...tuning() });
    try {
      await measure('distributed ingest (Kafka-protocol broker)', ingest.pid, ingest.port);
    } finally {
      await ingest.kill();
    }
  } finally {
    await kafka.stop();
  }
}
