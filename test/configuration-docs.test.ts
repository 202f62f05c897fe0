import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

/** Environment variables the shipped code reads: `env.NAME`, `env['NAME']` and zod schema keys in config files. */
function variablesRead(): Set<string> {
  const found = new Set<string>();
  // The test harness (packages/testkit) is not shipped; its variables are in its own README.
  const dirs = ['packages', 'services', 'apps'].flatMap((top) => readdirSync(join(root, top)).filter((d) => d !== 'testkit').map((d) => join(root, top, d, 'src')));
  for (const dir of dirs) {
    let files: string[];
    try {
      files = sources(dir);
    } catch {
      continue;
    }
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\benv(?:\?)?\.([A-Z][A-Z0-9_]{2,})\b/g)) found.add(m[1]!);
      for (const m of text.matchAll(/\benv\[['"]([A-Z][A-Z0-9_]{2,})['"]\]/g)) found.add(m[1]!);
      if (/config\.ts$/.test(file)) for (const m of text.matchAll(/^\s+([A-Z][A-Z0-9_]{2,}):/gm)) found.add(m[1]!);
      // zod schema keys outside config.ts (packages/service-runner's shared settings, …).
      for (const m of text.matchAll(/^\s+([A-Z][A-Z0-9_]{2,}):\s*z\b/gm)) found.add(m[1]!);
      // Schema helpers name their variable wherever they are used (packages/service-runner, …).
      for (const m of text.matchAll(/\b(?:intVar|redisUrlVar|hostPortListVar)\(\s*'([A-Z][A-Z0-9_]{2,})'/g)) found.add(m[1]!);
      // The embedded start builds its port variables from the service names.
      if (text.includes('`PULSEGATE_${name.toUpperCase()')) {
        for (const name of ['INGEST', 'AGGREGATOR', 'ANOMALY_DETECTOR', 'RISK_SCORER', 'DASHBOARD']) found.add(`PULSEGATE_${name}_PORT`);
      }
    }
  }
  // Read by Node, the OpenTelemetry SDK or the test harness rather than by a service's settings.
  for (const name of ['NODE_ENV', 'VITEST', 'CI', 'PATH', 'HOME']) found.delete(name);
  return found;
}

describe('docs/configuration.md', () => {
  it('documents every environment variable the services read', () => {
    const doc = readFileSync(join(root, 'docs', 'configuration.md'), 'utf8');
    const missing = [...variablesRead()].filter((name) => !doc.includes('`' + name + '`')).sort();
    expect(missing).toEqual([]);
  });
});
