import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { OpenApiChecker } from '@pulsegate/testkit';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SERVICES = ['ingest', 'aggregator', 'anomaly-detector', 'risk-scorer'];

describe('README API reference', () => {
  it('lists exactly the operations the OpenAPI documents describe', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## API reference'), readme.indexOf('\n## ', readme.indexOf('## API reference') + 5));
    const listed = new Set<string>();
    let service = '';
    for (const line of section.split('\n')) {
      const m = /^\| ([a-z-]+)[^|]*\| `([A-Z]+ [^`]+)` \|/.exec(line);
      if (m === null) continue;
      service = m[1]!;
      listed.add(`${service} ${m[2]}`);
    }
    const documented = new Set(SERVICES.flatMap((s) => new OpenApiChecker(join(root, 'services', s, 'openapi.yaml')).operations().map((op) => `${s} ${op}`)));
    expect([...listed].sort()).toEqual([...documented].sort());
  });
});
