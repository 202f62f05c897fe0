import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { freePort } from '@pulsegate/testkit';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

describe('npm start (the pulsegate start command)', () => {
  it('prints where each API listens, serves them, and stops cleanly on SIGTERM', async () => {
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
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  }, 120_000);
});
