import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function sources(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const p = join(dir, name);
    if (name === 'node_modules' || name === 'dist') return [];
    if (statSync(p).isDirectory()) return sources(p);
    return /\.(ts|mts|mjs)$/.test(name) ? [p] : [];
  });
}

/** Import specifiers of a module (static, dynamic and export-from). */
function imports(text: string): string[] {
  return [...text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"]([^'"]+)['"]/g)].map((m) => m[1]!);
}

describe('layering: services and packages never import upward (from apps or tests)', () => {
  it('code and benchmarks under services/ and packages/ import nothing from apps/, test/ or bench/ at the root', () => {
    const problems: string[] = [];
    for (const top of ['services', 'packages']) {
      for (const workspace of readdirSync(join(root, top))) {
        const base = join(root, top, workspace);
        for (const dir of ['src', 'bench']) {
          for (const file of sources(join(base, dir))) {
            for (const spec of imports(readFileSync(file, 'utf8'))) {
              const where = relative(root, file);
              if (spec === '@pulsegate/pulsegate' || spec.startsWith('@pulsegate/pulsegate/')) problems.push(`${where} imports the app (${spec})`);
              if (!spec.startsWith('.')) continue;
              const target = relative(root, resolve(dirname(file), spec));
              if (/^(apps|test|bench)\//.test(target)) problems.push(`${where} imports ${spec} (${target.split('/')[0]}/ is above the services and packages)`);
            }
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });
});
