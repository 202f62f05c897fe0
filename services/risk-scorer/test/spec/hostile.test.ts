import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { diffSpecs } from '../../src/spec/diff';
import { oas } from '@stoplight/spectral-rulesets';
import { LINT_RULES, lintSpec } from '../../src/spec/lint';
import { MAX_SPEC_CHARS, MAX_SPEC_DEPTH, SpecError } from '../../src/spec/load';
import { Budget } from '../../src/spec/resolve';

const doc = (schemas: Record<string, unknown>, root = 'S0') => ({
  openapi: '3.1.0',
  info: { title: 'hostile', version: '1.0.0' },
  paths: {
    '/x': {
      get: { operationId: 'X', requestBody: { content: { 'application/json': { schema: { $ref: `#/components/schemas/${root}` } } } }, responses: { '200': { description: 'ok', content: { 'application/json': { schema: { $ref: `#/components/schemas/${root}` } } } } } },
    },
  },
  components: { schemas },
});

/** n schemas, each naming the next `fan` times: inlining would visit fan^n nodes. */
function fanOut(n: number, fan: number, cyclic: boolean): Record<string, unknown> {
  const schemas: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    const next = i + 1 < n ? i + 1 : cyclic ? 0 : -1;
    const properties: Record<string, unknown> = { id: { type: 'string' } };
    if (next >= 0) for (let k = 0; k < fan; k++) properties[`p${k}`] = { $ref: `#/components/schemas/S${next}` };
    schemas[`S${i}`] = { type: 'object', properties };
  }
  return schemas;
}

const tooComplex = (fn: () => unknown): SpecError => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SpecError);
    expect((err as SpecError).tooComplex).toBe(true);
    return err as SpecError;
  }
  throw new Error('expected a SpecError');
};

describe('hostile specs are analysed within budget', () => {
  it("the issue's 24 schemas each naming the next twice: every reference resolved once, linear work", () => {
    const before = doc(fanOut(24, 2, false));
    const afterSchemas = fanOut(24, 2, false);
    (afterSchemas.S23 as { properties: Record<string, unknown> }).properties.extra = { type: 'string' };
    const budget = new Budget('newSpec');
    const d = diffSpecs(before, doc(afterSchemas), { budget });
    // The new field is reported once (first path to it), on each side of the exchange.
    expect(d.findings.filter((f) => f.rule === 'response-property-added')).toHaveLength(1);
    expect(d.findings.filter((f) => f.rule === 'request-optional-property-added')).toHaveLength(1);
    // 2^24 paths exist; the work is a few nodes per schema pair.
    expect(budget.used).toBeLessThan(2_000);
  });

  it('wide fan-out (200 schemas, 50 references each) and reference cycles finish with bounded work', () => {
    const budget = new Budget('newSpec');
    const d = diffSpecs(doc(fanOut(200, 50, true)), doc(fanOut(200, 50, true)), { budget });
    expect(d.findings).toEqual([]);
    expect(budget.used).toBeLessThan(200 * 50 * 10);
    // A reference to itself and a chain that loops resolve to nothing instead of looping.
    const selfRef = doc({ S0: { $ref: '#/components/schemas/S1' }, S1: { $ref: '#/components/schemas/S0' } });
    expect(diffSpecs(selfRef, selfRef).findings).toEqual([]);
  });

  it('a node budget stops an analysis that would visit too much, with a clear message', () => {
    const err = tooComplex(() => diffSpecs(doc(fanOut(200, 50, true)), doc(fanOut(200, 50, true)), { budget: new Budget('newSpec', 1_000) }));
    expect(err.message).toBe('newSpec: analysis visited more than 1000 nodes; the document is too complex');
  });

  it('a document over 5 MiB of text (10 MB) is refused before parsing', () => {
    const big = JSON.stringify(doc({ S0: { type: 'object', description: 'x'.repeat(10 * 1024 * 1024) } }));
    const err = tooComplex(() => diffSpecs(big, big));
    expect(err.message).toBe(`oldSpec: document longer than ${MAX_SPEC_CHARS} characters`);
  });

  it('deep nesting is refused in JSON text, YAML and objects without overflowing the stack', () => {
    const deepJson = '{"openapi":"3.1.0","x":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}';
    expect(tooComplex(() => diffSpecs(deepJson, deepJson)).message).toBe(`oldSpec: document nests deeper than ${MAX_SPEC_DEPTH} levels`);
    // Brackets inside strings are text, not nesting.
    const inString = JSON.stringify({ ...doc({}), 'x-note': '['.repeat(1000) });
    expect(diffSpecs(inString, inString).findings).toEqual([]);
    let deepObject: unknown = {};
    for (let i = 0; i < 10_000; i++) deepObject = { a: deepObject };
    expect(tooComplex(() => diffSpecs(doc({}), { ...doc({}), x: deepObject })).message).toMatch(/^newSpec: document nests deeper than/);
    const deepYaml = 'openapi: 3.1.0\nx:\n' + Array.from({ length: 200 }, (_, i) => ' '.repeat(i + 1) + `k${i}:`).join('\n') + ' 1\n';
    expect(tooComplex(() => diffSpecs(deepYaml, deepYaml)).message).toMatch(/^oldSpec: document nests deeper than/);
  });

  it('YAML alias bombs are refused', () => {
    const lines = ['openapi: 3.0.0', 'a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 0; i < 12; i++) lines.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill('*' + String.fromCharCode(97 + i)).join(', ')}]`);
    expect(() => diffSpecs(doc({}), lines.join('\n'))).toThrow(/^newSpec: not valid JSON or YAML/);
  });

  it('YAML and JSON, OpenAPI 3.0 and 3.1, read the same', () => {
    const yaml = 'openapi: 3.0.3\ninfo: { title: t, version: 1.0.0 }\npaths:\n  /x:\n    get:\n      operationId: X\n      responses: { "200": { description: ok } }\n';
    const json = JSON.stringify({ openapi: '3.1.0', info: { title: 't', version: '1.0.0' }, paths: { '/x': { get: { operationId: 'X', responses: { '200': { description: 'ok' } } } } } });
    expect(diffSpecs(yaml, json).findings).toEqual([]);
    expect(() => diffSpecs(yaml, { ...JSON.parse(json), openapi: '3.2.0' })).toThrow(/^newSpec: "openapi" must be a 3.0 or 3.1/);
  });
});

const lintTooComplex = async (p: Promise<unknown>): Promise<SpecError> => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SpecError);
  expect((err as SpecError).tooComplex).toBe(true);
  return err as SpecError;
};

describe('hostile specs through the lint path (Spectral) stay within budget', () => {
  it('remote and file $refs are never fetched: Spectral resolves nothing', async () => {
    const hits: string[] = [];
    const server = createServer((req, res) => {
      hits.push(req.url ?? '');
      res.end('{"type":"object"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const remote = `http://127.0.0.1:${port}/schema.json`;
      const spec = doc({ S0: { $ref: remote }, S1: { $ref: 'file:///etc/hostname' }, S2: { $ref: 'other.yaml#/S' } });
      const r = await lintSpec(spec, 'newSpec');
      expect(hits).toEqual([]);
      // Findings are the two rulesets' own (no resolver errors such as invalid-ref), external refs read as absent.
      const known = new Set([...LINT_RULES.map((x) => x.id), ...Object.keys((oas as { rules: Record<string, unknown> }).rules)]);
      expect(r.findings.filter((f) => !known.has(f.rule))).toEqual([]);
      expect(r.findings.map((f) => f.rule)).toContain('pg-429-retry-after');
      expect(r.findings.map((f) => f.rule)).toContain('operation-description');
      expect(r.actions).toBe(1);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('the node budget spent inside a Spectral rule surfaces as the SpecError, not a Spectral exception', async () => {
    const wide = doc(fanOut(200, 50, true)) as { paths: Record<string, unknown> };
    for (let i = 0; i < 100; i++) wide.paths[`/x${i}`] = wide.paths['/x'];
    const err = await lintTooComplex(lintSpec(wide, 'newSpec', new Budget('newSpec', 50)));
    expect(err.message).toBe('newSpec: analysis visited more than 50 nodes; the document is too complex');
    // The same document within the default budget: every reference resolved once.
    const budget = new Budget('newSpec');
    await lintSpec(doc(fanOut(200, 50, true)), 'newSpec', budget);
    expect(budget.used).toBeLessThan(200 * 50);
  });

  it('size, depth and alias budgets refuse the document before Spectral sees it', async () => {
    const big = JSON.stringify(doc({ S0: { type: 'object', description: 'x'.repeat(MAX_SPEC_CHARS) } }));
    expect((await lintTooComplex(lintSpec(big, 'spec'))).message).toBe(`spec: document longer than ${MAX_SPEC_CHARS} characters`);
    const deepJson = '{"openapi":"3.1.0","x":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}';
    expect((await lintTooComplex(lintSpec(deepJson, 'spec'))).message).toBe(`spec: document nests deeper than ${MAX_SPEC_DEPTH} levels`);
    const lines = ['openapi: 3.0.0', 'a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 0; i < 12; i++) lines.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill('*' + String.fromCharCode(97 + i)).join(', ')}]`);
    await expect(lintSpec(lines.join('\n'), 'spec')).rejects.toThrow(/^spec: not valid JSON or YAML/);
  });
});

describe('lint runs on one input object concurrently', () => {
  it('gives each run its own findings', async () => {
    const shared = doc({});
    const [a, b] = await Promise.all([lintSpec(shared, 'a'), lintSpec(shared, 'b')]);
    expect(a).toEqual(b);
    expect(a.findings.map((f) => f.rule)).toContain('pg-429-retry-after');
  });
});
