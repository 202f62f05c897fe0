import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { freePort } from '@pulsegate/testkit';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

describe('npm start (the pulsegate start command)', () => {
  it('prints where each API listens and the tenant key, serves them (reads and the dashboard with that key only), and stops cleanly on SIGTERM', async () => {
    const ports = { INGEST: await freePort(), AGGREGATOR: await freePort(), ANOMALY_DETECTOR: await freePort(), RISK_SCORER: await freePort(), DASHBOARD: await freePort() };
    const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'info' };
    for (const [k, v] of Object.entries(ports)) env[`PULSEGATE_${k}_PORT`] = String(v);
    const child = spawn(process.execPath, [join(root, 'apps/pulsegate/dist/main.js'), 'start'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      for (let i = 0; i < 300 && !out.includes('Press Ctrl+C'); i++) {
        if (child.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(out, err).toContain('Pulsegate is running (in-memory bus, in-memory stores)');
      // stdout is the banner alone; the JSON log lines go to stderr, each with one `service` key.
      expect(out.split('\n').filter((l) => l.startsWith('{'))).toEqual([]);
      const logLines = err.split('\n').filter((l) => l.startsWith('{'));
      expect(logLines.length).toBeGreaterThan(0);
      for (const line of logLines) expect(line.match(/"service":/g)?.length ?? 0, line).toBeLessThanOrEqual(1);
      expect(logLines.some((l) => (JSON.parse(l) as { service?: string }).service === 'risk-scorer')).toBe(true);
      for (const [name, port] of [['ingest', ports.INGEST], ['aggregator', ports.AGGREGATOR], ['anomaly-detector', ports.ANOMALY_DETECTOR], ['risk-scorer', ports.RISK_SCORER], ['dashboard', ports.DASHBOARD]] as const) {
        expect(out).toMatch(new RegExp(`${name}\\s+http://127\\.0\\.0\\.1:${port}`));
        const res = await fetch(`http://127.0.0.1:${port}/readyz`);
        expect(res.status, name).toBe(200);
      }
      // The reading APIs and the dashboard need the tenant key the banner prints; ingest does not.
      const key = /API key \(tenant default\): (pg_[A-Za-z0-9_-]{32})\n/.exec(out)?.[1];
      expect(key, out).toBeDefined();
      expect(out).toContain(`PULSEGATE_API_KEY=${key} npm run demo`);
      const auth = { authorization: `Bearer ${key}` };
      for (const [port, path] of [[ports.AGGREGATOR, '/v1/connectors'], [ports.ANOMALY_DETECTOR, '/v1/alerts'], [ports.RISK_SCORER, '/v1/catalog/connectors']] as const) {
        expect((await fetch(`http://127.0.0.1:${port}${path}`)).status, path).toBe(401);
        expect((await fetch(`http://127.0.0.1:${port}${path}`, { headers: auth })).status, path).toBe(200);
      }
      const spans = await fetch(`http://127.0.0.1:${ports.INGEST}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ resourceSpans: [] }) });
      expect(spans.status).toBe(200);
      const dashboard = `http://127.0.0.1:${ports.DASHBOARD}`;
      expect((await fetch(`${dashboard}/api/aggregator/v1/connectors`)).status).toBe(401);
      const signIn = await fetch(`${dashboard}/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apiKey: key }) });
      expect(signIn.status).toBe(204);
      const cookie = signIn.headers.get('set-cookie')!.split(';')[0]!;
      expect((await fetch(`${dashboard}/api/aggregator/v1/connectors`, { headers: { cookie } })).status).toBe(200);
      expect((await fetch(`${dashboard}/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apiKey: 'pg_wrong' }) })).status).toBe(401);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  }, 120_000);
});
