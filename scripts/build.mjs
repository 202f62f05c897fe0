#!/usr/bin/env node
// Bundles one workspace's entry points into dist/ with esbuild: `node ../../scripts/build.mjs src/main.ts
// [name=src/other.ts …]` run from the workspace (src/main.ts → dist/main.js; name=… → dist/name.js). Workspace packages (@pulsegate/*) export their TypeScript sources, so they
// are compiled into the bundle; every other package stays an import resolved from node_modules at run
// time (the OpenTelemetry instrumentations patch kafkajs and http by module name, which a bundled copy
// would escape). Types are checked by `npm run typecheck`, not here.
import { build } from 'esbuild';
import { rm } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';

const entries = process.argv.slice(2);
if (entries.length === 0) {
  process.stderr.write('usage: build.mjs <entry.ts | name=entry.ts>...\n');
  process.exit(2);
}

/** `name=path` → [name, path]; a bare path is named after its file. */
function outAndIn(entry) {
  const eq = entry.indexOf('=');
  return eq > 0 ? [entry.slice(0, eq), entry.slice(eq + 1)] : [basename(entry, extname(entry)), entry];
}

/** Leaves bare imports of third-party packages external; bundles relative and @pulsegate/* imports. */
const thirdPartyExternal = {
  name: 'third-party-external',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('@pulsegate/')) return undefined;
      return { path: args.path, external: true };
    });
  },
};

await rm('dist', { recursive: true, force: true });
await build({
  entryPoints: Object.fromEntries(entries.map(outAndIn)),
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  format: 'esm',
  // Dynamic imports become chunks of their own (dist/chunks/), loaded when first needed: the
  // pulsegate command loads only the command it runs.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  plugins: [thirdPartyExternal],
});
process.stdout.write(`built ${entries.map((e) => join('dist', outAndIn(e)[0] + '.js')).join(', ')}\n`);
