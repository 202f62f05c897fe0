import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen as listenOn, type Listening } from '@pulsegate/http-kit';
import { computeSpecFeatures, generateHistory } from '@pulsegate/risk-scorer';
import { runRiskCli } from '../../src/commands/risk';
import { CONNECTOR, makeRiskApp } from '../support/risk';

const fixtures = join(__dirname, '..', '..', '..', '..', 'services', 'risk-scorer', 'test', 'fixtures');
const v100 = join(fixtures, 'contoso-sales-1.0.0.json');
const v110 = join(fixtures, 'contoso-sales-1.1.0.yaml');
const v200 = join(fixtures, 'contoso-sales-2.0.0.json');

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runRiskCli(args, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } });
  return { code, out, err };
}

describe('risk CLI against a running risk scorer', () => {
  let ctx: ReturnType<typeof makeRiskApp>;
  let server: Listening;
  let dir: string;
  const base = ['--connector', 'ContosoSales', '--version', '2.0.0', '--previous-version', '1.0.0'];
  // A healthy prior version and a struggling one (the generating model makes the latter risky).
  const healthy = { priorSuccessRate: 1, priorP95Ms: 200, priorThrottleRate: 0, priorAlertsPer1000Calls: 0, priorIncidentRate: 0, lintWarnings: 0 };
  const struggling = { priorSuccessRate: 0.98, priorP95Ms: 1500, priorThrottleRate: 0.03, priorAlertsPer1000Calls: 2, priorIncidentRate: 1, lintWarnings: 6 };

  beforeAll(async () => {
    ctx = makeRiskApp({ keys: true });
    server = await listenOn(ctx.app, '127.0.0.1', 0);
    dir = mkdtempSync(join(tmpdir(), 'risk-cli-'));
    writeFileSync(join(dir, 'healthy.json'), JSON.stringify(healthy));
    writeFileSync(join(dir, 'struggling.json'), JSON.stringify(struggling));
    writeFileSync(join(dir, 'broken.json'), '{');
  });
  afterAll(async () => {
    await server?.close();
    ctx?.cleanup();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('exits 1 when no model is trained (unknown never passes) and 2 on errors', async () => {
    const key = ['--api-key', 'key-a'];
    let r = await cli(['gate', '--url', server.url, ...base, ...key]);
    expect(r.code).toBe(2); // connector not in the catalog -> 404 is an error
    expect(r.err).toMatch(/risk scorer answered 404 NOT_FOUND: connector ContosoSales is not in the catalog/);
    await fetch(`${server.url}/v1/catalog/connectors/ContosoSales`, { method: 'PUT', headers: { 'content-type': 'application/json', 'x-api-key': 'key-a' }, body: JSON.stringify(CONNECTOR) });
    r = await cli(['gate', '--url', server.url, ...base, ...key, '--old', v100, '--new', v200]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^decision: require-approval \(level unknown, probability n\/a, model none\)/);
    expect(r.out).toMatch(/no trained risk model/);
    expect(r.out).toMatch(/promotion blocked/);

    expect((await cli(['gate', '--url', server.url, ...base])).code).toBe(2); // no key: 401
    expect((await cli(['gate', '--url', server.url, ...base, '--api-key', 'key-a-read'])).code).toBe(2); // 403
    expect((await cli(['gate', '--url', 'http://127.0.0.1:1', ...base, ...key, '--timeout-ms', '2000'])).err).toMatch(/cannot reach/);
    expect((await cli(['gate', '--url', server.url, ...base, ...key, '--old', v100])).code).toBe(2); // --new missing
    expect((await cli(['gate', '--url', server.url, ...base, ...key, '--old', v100, '--new', join(dir, 'missing.json')])).err).toMatch(/ENOENT/);
    expect((await cli(['gate', '--url', server.url, ...base, ...key, '--features', join(dir, 'broken.json')])).err).toMatch(/--features: not valid JSON/);
    expect((await cli(['gate', '--url', server.url, ...base, ...key, '--max-level', 'high'])).code).toBe(2);
    expect((await cli(['gate', '--url', server.url, '--connector', 'ContosoSales', '--version', 'v2', ...key])).err).toMatch(/400 INVALID_ARGUMENT: version: must be a strict semantic version/);
    expect((await cli(['gate', '--url', server.url, ...base, ...key, '--lint-warnings', 'many'])).code).toBe(2);
    expect((await cli(['gate', '--bogus'])).code).toBe(2);
    expect((await cli(['deploy'])).code).toBe(2);
    expect((await cli([])).code).toBe(2);
    expect((await cli(['--help'])).code).toBe(0);
  });

  it('exits 0 or 1 by the level against --max-level, printing the decision and top reasons', async () => {
    await fetch(`${server.url}/v1/risk/model:train`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer key-a' },
      body: JSON.stringify({ records: generateHistory({ records: 2000, seed: 12 }).records }),
    });
    const key = ['--api-key', 'key-a'];
    // A patch release (no spec change) after a healthy version vs the MAJOR release with four
    // breaking changes after a struggling one.
    const patchArgs = [...key, '--features', join(dir, 'healthy.json'), '--old', v100, '--new', v100];
    const majorArgs = [...key, '--features', join(dir, 'struggling.json'), '--old', v100, '--new', v200];
    const patch = await cli(['gate', '--url', server.url, ...base, ...patchArgs, '--json']);
    const major = await cli(['gate', '--url', server.url, ...base, ...majorArgs, '--json']);
    const answer = (out: string) => JSON.parse(out.slice(0, out.indexOf('\ndecision:'))) as { level: string; probability: number; features: Record<string, number> };
    const a = answer(patch.out);
    const b = answer(major.out);
    expect(b.features).toMatchObject({ ...struggling, ...computeSpecFeatures(readFileSync(v100, 'utf8'), readFileSync(v200, 'utf8')).features });
    expect([a.level, b.level]).toEqual(['low', 'high']);
    expect(patch.code).toBe(0);
    expect(patch.out).toMatch(/^decision: auto-promote \(level low, probability 0\.\d{3}, model m-/m);
    expect(patch.out).toMatch(/promotion may proceed \(level low <= max-level low\)/);
    expect(major.code).toBe(1);
    expect(major.out).toMatch(/^decision: require-security-architect-approval \(level high, probability \d\.\d{3}, model m-/m);
    expect(major.out).toMatch(/top reasons:\n {2}\w+ = [\d.]+ \([+-]\d+\.\d{3} log-odds\)/);
    // --max-level medium lets medium through but never high.
    expect((await cli(['gate', '--url', server.url, ...base, ...majorArgs, '--max-level', 'medium'])).code).toBe(1);
    expect((await cli(['gate', '--url', server.url, ...base, ...patchArgs, '--max-level', 'medium'])).code).toBe(0);
    const mediumFeatures = { ...healthy, priorSuccessRate: 0.995, lintWarnings: 3 };
    writeFileSync(join(dir, 'medium.json'), JSON.stringify(mediumFeatures));
    const mid = await cli(['gate', '--url', server.url, ...base, ...key, '--features', join(dir, 'medium.json'), '--old', v100, '--new', v110, '--json']);
    const m = answer(mid.out);
    expect(m.level).toBe('medium');
    expect(mid.code).toBe(1);
    expect((await cli(['gate', '--url', server.url, ...base, ...key, '--features', join(dir, 'medium.json'), '--old', v100, '--new', v110, '--max-level', 'medium'])).code).toBe(0);
  });

  it('the pulsegate bin exits with the same codes', async () => {
    const bin = join(__dirname, '..', '..', 'bin', 'pulsegate.mjs');
    const run = promisify(execFile);
    const ok = await run(process.execPath, [bin, 'risk', 'features', '--old', v100, '--new', v200]);
    expect(JSON.parse(ok.stdout).features.breakingChanges).toBe(6);
    const failed = await run(process.execPath, [bin, 'risk', 'gate', '--url', server.url, ...base, '--api-key', 'nope']).then(
      () => 0,
      (e: { code: number }) => e.code,
    );
    expect(failed).toBe(2);
  });
});

describe('risk features', () => {
  it('prints the features JSON of two specs', async () => {
    const r = await cli(['features', '--old', v100, '--new', v110]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).newScopes).toEqual(['invoices.write']);
    expect((await cli(['features', '--old', v100])).code).toBe(2);
    const broken = await cli(['features', '--old', v100, '--new', join(__dirname, 'risk.test.ts')]);
    expect(broken.code).toBe(2);
    expect(broken.err).toMatch(/--new .*risk\.test\.ts/);
  });
});
